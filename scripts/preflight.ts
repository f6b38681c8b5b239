// npm run preflight: check a cluster (and this machine's repository folder) before `cdktf deploy`,
// saying how to fix each problem; --wait S first waits for a GPU node the pod can use (the deploy's
// own first step runs it so). A table, or --json; exit 1 on any failed check, 2 on bad usage.
import { setTimeout as sleep } from "node:timers/promises";
import { command, numberFlag, runCli } from "../src/cli.ts";
import { buildTritonDeployment, DEFAULT_RESTRICTED_API, type DeploymentOptions } from "../src/plan/deployment.ts";
import { loadPlan } from "../src/plan/load.ts";
import { formatPreflight } from "../src/preflight/format.ts";
import { kubectl } from "../src/preflight/kubectl.ts";
import { specHashes } from "../src/repo/manifest.ts";
import { folderFacts, runPreflight, type PreflightInput } from "../src/preflight/run.ts";
import { readManifest } from "../src/repo/manifest.ts";

interface Flags {
  profile: string;
  specs: string;
  measured?: string;
  kubeconfig?: string;
  context?: string;
  namespace?: string;
  secret?: string;
  image?: string;
  repository: string | boolean;
  wait?: string;
  json: boolean;
}

const program = command("preflight", "Check the cluster and the repository folder before cdktf deploy (design.md §3): GPU node, GFD labels (memory, driver, product), RuntimeClass, Secrets, disk for the image, repository folder and manifest.")
  .requiredOption("--profile <name>", "GPU profile: model-specs/profiles/<name>.yaml")
  .option("--specs <dir>", "model spec directory", "model-specs")
  .option("--measured <file>", "JSON of measured VRAM per ONNX model (as plan --measured)")
  .option("--kubeconfig <file>", "kubeconfig (default: KUBECONFIG, else KUBE_CONFIG_PATH, else ~/.kube/config)")
  .option("--context <name>", "kubeconfig context (default: the current one)")
  .option("--namespace <ns>", "namespace of the Triton objects (default: the profile's)")
  .option("--secret <name>", `Secret with the restricted-API header value, key "key" (default ${DEFAULT_RESTRICTED_API.secret.name})`)
  .option("--image <ref>", "Triton image (default: the profile's, else nvcr.io/nvidia/tritonserver:24.08-py3)")
  .option("--repository <dir>", "repository folder on this machine (default: the profile's hostPath)")
  .option("--no-repository", "skip the repository folder, manifest and engine-cache checks (the deploy may run off the GPU node)")
  .option("--wait <seconds>", "first wait up to this long for a node with allocatable nvidia.com/gpu and the labels the pod's affinity needs")
  .option("--json", "print the report as JSON", false);

await runCli(async () => {
  program.parse();
  const f = program.opts<Flags>();
  const waitSeconds = f.wait !== undefined ? numberFlag("--wait", f.wait, 0) : 0;
  const planned = await loadPlan({ specsDir: f.specs, profile: f.profile, ...(f.measured ? { measuredFile: f.measured } : {}) });
  const profileRepo = planned.profile.spec.deployment.repository;
  const dir = typeof f.repository === "string" ? f.repository : profileRepo.kind === "hostPath" ? profileRepo.path : undefined;
  const kube = { ...(f.kubeconfig ? { configPath: f.kubeconfig } : {}), ...(f.context ? { context: f.context } : {}) };
  const opts: DeploymentOptions = {
    ...(f.namespace ? { namespace: f.namespace } : {}),
    ...(f.secret ? { restrictedApi: { ...DEFAULT_RESTRICTED_API, secret: { name: f.secret, key: "key" } } } : {}),
    ...(f.image ? { image: f.image } : {}),
    ...(dir && profileRepo.kind === "hostPath" ? { repository: { kind: "hostPath", path: dir } } : {}),
    kube,
    gpuWait: false,
  };
  const deployment = buildTritonDeployment(planned.plan, planned.profile, opts);
  const repository: PreflightInput["repository"] = f.repository === false
    ? { skip: "--no-repository" }
    : dir
      ? { dir }
      : { skip: "object-store repository: preflight does not read buckets; --repository DIR checks the local copy you publish" };
  const report = await runPreflight(
    { planned, deployment, repository, ...("dir" in repository ? { specs: await specHashes(f.specs) } : {}), waitSeconds },
    {
      kubectl: kubectl(kube),
      folder: folderFacts,
      readManifest: async (d) => (await readManifest(d))?.manifest,
      now: () => Date.now(),
      sleep: (ms) => sleep(ms),
      log: (line) => process.stderr.write(`${line}\n`),
    },
  );
  process.stdout.write(f.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatPreflight(report)}\n`);
  return report.ok ? 0 : 1;
});
