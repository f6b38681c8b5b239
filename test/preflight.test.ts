// npm run preflight: pure checks over hand-written `kubectl get -o json` documents (an RTX 2060 whose
// nvidia.com/gpu.memory reads 5926, the same box on driver 550, a node before GFD ran), the wait loop
// on a fake clock, and the command itself against a fake kubectl on PATH.
import { spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { buildTritonDeployment } from "../src/plan/deployment.ts";
import { gpuRequirements } from "../src/plan/gpu-requirements.ts";
import { loadPlan } from "../src/plan/load.ts";
import { checkEngineCache, checkGpuNodes, checkImageDisk, checkManifest, checkRepositoryFolder, checkRuntimeClass, checkSecret, gpuSettled, normalizeImage, type CheckResult, type FolderFacts } from "../src/preflight/checks.ts";
import { NodeListSchema, NodeSchema, RuntimeClassSchema, SecretSchema, StatsSummarySchema, type Node } from "../src/preflight/documents.ts";
import { kubectlGlobalFlags, type Kubectl, type KubectlAnswer } from "../src/preflight/kubectl.ts";
import { expectedRepository } from "../src/preflight/manifest.ts";
import { specHashes } from "../src/repo/manifest.ts";
import { runPreflight, type PreflightDeps } from "../src/preflight/run.ts";
import { nodeList, rtx2060, rtx2060Driver550, rtx2060Fresh, rtx2060Pulled, node, runtimeClass, secret, statsSummary } from "./support/kubectl-documents.ts";
import { writeManifest } from "./support/manifest.ts";
import { profileVariant } from "./support/profile-variant.ts";

const local = await loadPlan({ profile: "gpu-local" });
const prod = await loadPlan({ profile: "gpu-prod" });
const localModel = buildTritonDeployment(local.plan, local.profile, { gpuWait: false });
const prodModel = buildTritonDeployment(prod.plan, prod.profile, { gpuWait: false });
const parse = <T>(schema: z.ZodType<T>, doc: unknown): T => schema.parse(doc);
const nodes = (...docs: Record<string, unknown>[]): Node[] => docs.map((d) => parse(NodeSchema, d));
const byId = (rs: CheckResult[]) => Object.fromEntries(rs.map((r) => [r.id, r]));
const tmp: string[] = [];
afterAll(() => { for (const d of tmp) rmSync(d, { recursive: true, force: true }); });
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), "preflight-"));
  tmp.push(d);
  return d;
}

describe("the documents parse as kubectl prints them", () => {
  it("node list, runtime class, secret and stats summary", () => {
    expect(parse(NodeListSchema, nodeList(rtx2060())).items[0]!.metadata.labels["nvidia.com/gpu.memory"]).toBe("5926");
    expect(parse(RuntimeClassSchema, runtimeClass()).handler).toBe("nvidia");
    expect(Object.keys(parse(SecretSchema, secret("triton-repository-api", { key: "v" })).data)).toEqual(["key"]);
    expect(parse(StatsSummarySchema, statsSummary(120)).node.runtime!.imageFs!.availableBytes).toBe(120 * 1024 ** 3);
  });
});

describe("GPU node checks", () => {
  const req = localModel.gpu;

  it("an RTX 2060 whose gpu.memory reads 5926 (not 6144) carries the gpu-local plan: 4580 + 1024 = 5604 MiB", () => {
    const r = byId(checkGpuNodes(nodes(rtx2060()), req));
    expect(Object.values(r).map((c) => [c.id, c.status])).toEqual([["gpu", "pass"], ["gfd-labels", "pass"], ["gpu-memory", "pass"], ["driver", "pass"], ["product", "pass"], ["placement", "pass"]]);
    expect(r["gpu-memory"]!.title).toBe("nvidia.com/gpu.memory >= 5604 MiB (plan 4580 + reserve 1024 MiB)");
    expect(r["gpu-memory"]!.detail).toBe("rtx-box: 5926 MiB");
    expect(gpuSettled(nodes(rtx2060()), req)).toBe(true);
  });

  it("driver 550 fails with the fix, and the pod could not be placed", () => {
    const r = byId(checkGpuNodes(nodes(rtx2060Driver550()), req));
    expect(r.driver).toMatchObject({ status: "fail", detail: "rtx-box: 550: Triton 24.08 is built on CUDA 12.6" });
    expect(r.driver!.fix).toContain("install NVIDIA driver 560 or newer");
    expect(r.placement).toMatchObject({ status: "fail", detail: "0 usable: rtx-box: driver 550 < 560" });
    expect(gpuSettled(nodes(rtx2060Driver550()), req)).toBe(true); // labelled: waiting will not change the driver
  });

  it("before the device plugin and GFD ran, it says which step is missing and skips the label checks", () => {
    const r = byId(checkGpuNodes(nodes(rtx2060Fresh()), req));
    expect(r.gpu).toMatchObject({ status: "fail", detail: "NFD found an NVIDIA device on rtx-box, but no node advertises nvidia.com/gpu yet" });
    expect(r.gpu!.fix).toContain("--wait");
    expect([r["gfd-labels"]!.status, r["gpu-memory"]!.status, r.driver!.status]).toEqual(["skip", "skip", "skip"]);
    expect(r.placement!.status).toBe("fail");
  });

  it("a GPU the plugin advertises before GFD labelled it is not enough", () => {
    const unlabelled = node({ gpus: 1, labels: { "nvidia.com/gpu.memory": undefined, "nvidia.com/cuda.driver-version.major": undefined } });
    const r = byId(checkGpuNodes(nodes(unlabelled), req));
    expect(r.gpu!.status).toBe("pass");
    expect(r["gfd-labels"]!.status).toBe("fail");
    expect(gpuSettled(nodes(unlabelled), req)).toBe(false);
    expect(gpuSettled(nodes(rtx2060Fresh()), req)).toBe(false);
  });

  it("gpu-prod's 22000 MiB floor refuses the 6 GB card", () => {
    const r = byId(checkGpuNodes(nodes(rtx2060()), prodModel.gpu));
    expect(r["gpu-memory"]).toMatchObject({ status: "fail", detail: "rtx-box: 5926 MiB: below what the plan needs" });
    expect(r.placement!.status).toBe("fail");
  });

  it("another product is a warning under memory affinity, a failure under product affinity; -SHARED is the same card", async () => {
    const rtx3060 = node({ gpus: 1, labels: { "nvidia.com/gpu.product": "NVIDIA-GeForce-RTX-3060", "nvidia.com/gpu.memory": "12288" } });
    expect(byId(checkGpuNodes(nodes(rtx3060), req)).product!.status).toBe("warn");
    expect(byId(checkGpuNodes(nodes(rtx3060), req)).placement!.status).toBe("pass");
    const v = await profileVariant("gpu-local", [[["gpu", "affinity"], "product"]]);
    const byProduct = gpuRequirements(v.plan, v.profile, 1);
    expect(byId(checkGpuNodes(nodes(rtx3060), byProduct)).product!.status).toBe("fail");
    expect(byId(checkGpuNodes(nodes(rtx3060), byProduct)).placement!.status).toBe("fail");
    const shared = node({ gpus: 4, labels: { "nvidia.com/gpu.product": "NVIDIA-GeForce-RTX-2060-SHARED" } });
    expect(byId(checkGpuNodes(nodes(shared), byProduct)).product!.status).toBe("pass");
  });

  it("two replicas need two usable GPUs; a NotReady node does not count", () => {
    expect(byId(checkGpuNodes(nodes(rtx2060()), { ...req, gpus: 2 })).placement).toMatchObject({ status: "fail", detail: expect.stringMatching(/^1 usable/) });
    expect(byId(checkGpuNodes(nodes(rtx2060(), node({ name: "rtx-box-2", gpus: 1 })), { ...req, gpus: 2 })).placement!.status).toBe("pass");
    expect(byId(checkGpuNodes(nodes(node({ gpus: 1, ready: false })), req)).placement!.detail).toContain("not Ready or cordoned");
  });

  it("pods spread one per node (gpu-prod: each node writes its own engine cache) need a GPU node each: a 2-GPU node carries one", () => {
    const two = { ...req, gpus: 2 };
    const box = node({ gpus: 2 });
    expect(byId(checkGpuNodes(nodes(box), two)).placement!.status).toBe("pass");
    const spread = byId(checkGpuNodes(nodes(box), two, true)).placement!;
    expect(spread).toMatchObject({ status: "fail", title: "2 GPU node(s) the pods' affinity can use, one pod per node", detail: expect.stringMatching(/^1 usable/) });
    expect(spread.fix).toContain("every replica needs a GPU node of its own");
    expect(byId(checkGpuNodes(nodes(box, node({ name: "rtx-box-2", gpus: 2 })), two, true)).placement!.status).toBe("pass");
    // The wait ends on nodes, not GPUs, too.
    expect(gpuSettled(nodes(box), two, true)).toBe(false);
    expect(gpuSettled(nodes(box), two)).toBe(true);
    expect(prodModel.onePodPerNode).toBe(true);
  });
});

describe("RuntimeClass, Secrets, disk", () => {
  it("the nvidia RuntimeClass k3s ships passes; a missing one says how to create it idempotently", () => {
    expect(checkRuntimeClass("nvidia", parse(RuntimeClassSchema, runtimeClass())).status).toBe("pass");
    const missing = checkRuntimeClass("nvidia", undefined);
    expect(missing.status).toBe("fail");
    expect(missing.fix).toContain("kubectl get runtimeclass nvidia ||");
    expect(checkRuntimeClass("nvidia", parse(RuntimeClassSchema, runtimeClass("runc"))).status).toBe("warn");
    expect(checkRuntimeClass(undefined, undefined).status).toBe("skip");
  });

  it("a Secret must exist with every key non-empty, and its values are never shown", () => {
    const [api, store] = prodModel.requiredSecrets;
    const ok = checkSecret(api!, "triton", parse(SecretSchema, secret("triton-repository-api", { key: "hunter2-value" })));
    expect(ok.status).toBe("pass");
    expect(JSON.stringify(ok)).not.toContain("hunter2");
    expect(JSON.stringify(ok)).not.toContain(Buffer.from("hunter2-value").toString("base64"));
    expect(checkSecret(api!, "triton", undefined)).toMatchObject({ status: "fail", detail: "does not exist", fix: expect.stringContaining("kubectl -n triton create secret generic triton-repository-api") });
    expect(checkSecret(api!, "triton", parse(SecretSchema, secret("triton-repository-api", { key: "" }))).status).toBe("fail");
    const partial = checkSecret(store!, "triton", parse(SecretSchema, secret("triton-model-store", { AWS_ACCESS_KEY_ID: "a", AWS_SECRET_ACCESS_KEY: "b" })));
    expect(partial).toMatchObject({ status: "fail", detail: "has no (or an empty) key AWS_DEFAULT_REGION; it has: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY" });
  });

  it("room for the image, or the image already there", () => {
    const img = localModel.image;
    const need = localModel.rollout.imageDiskGiB;
    expect(need).toBe(30);
    const sums = (gib: number) => new Map([["rtx-box", parse(StatsSummarySchema, statsSummary(gib))]]);
    expect(checkImageDisk(img, need, nodes(rtx2060()), sums(120)).status).toBe("pass");
    const short = checkImageDisk(img, need, nodes(rtx2060()), sums(18));
    expect(short).toMatchObject({ status: "fail", detail: "rtx-box: 18.0 GiB free for images" });
    expect(short.fix).toContain("sudo k3s ctr images pull nvcr.io/nvidia/tritonserver:24.08-py3");
    expect(checkImageDisk(img, need, nodes(rtx2060Pulled()), sums(1))).toMatchObject({ status: "pass", detail: expect.stringContaining("already pulled on rtx-box") });
    expect(checkImageDisk(img, need, nodes(rtx2060()), new Map([["rtx-box", { error: "forbidden" }]])).status).toBe("warn");
  });

  it("image references compare as containerd lists them", () => {
    expect(normalizeImage("nvcr.io/nvidia/tritonserver:24.08-py3")).toBe("nvcr.io/nvidia/tritonserver:24.08-py3");
    expect(normalizeImage("busybox")).toBe("docker.io/library/busybox:latest");
    expect(normalizeImage("rancher/mirrored-pause:3.6")).toBe("docker.io/rancher/mirrored-pause:3.6");
    expect(normalizeImage("localhost:5000/triton")).toBe("localhost:5000/triton:latest");
  });
});

describe("the repository folder on this machine", () => {
  const facts = (path: string, o: Partial<FolderFacts> = {}): FolderFacts => ({ path, exists: true, isDirectory: true, writable: true, uid: 1001, gid: 1001, mode: 0o755, ...o });
  const repo = "/var/lib/triton-deploy/models";
  const parent = "/var/lib/triton-deploy";

  it("the parent must be the user's (synth-repo stages and swaps there), the tree readable by uid 1000", () => {
    expect(checkRepositoryFolder(facts(repo), facts(parent), 1000, "gpu-local").status).toBe("pass");
    expect(checkRepositoryFolder(facts(repo), facts(parent, { exists: false, isDirectory: false }), 1000, "gpu-local").fix).toMatch(/^sudo install -d -o "\$USER" \/var\/lib\/triton-deploy, then npm run synth-repo/);
    expect(checkRepositoryFolder(facts(repo), facts(parent, { writable: false, uid: 0 }), 1000, "gpu-local")).toMatchObject({ status: "fail", detail: expect.stringContaining("EACCES") });
    expect(checkRepositoryFolder(facts(repo, { exists: false }), facts(parent), 1000, "gpu-local").fix).toBe("npm run synth-repo -- --profile gpu-local --out /var/lib/triton-deploy/models --copy");
    expect(checkRepositoryFolder(facts(repo, { mode: 0o700 }), facts(parent), 1000, "gpu-local")).toMatchObject({ status: "fail", fix: expect.stringContaining("chmod -R a+rX") });
    expect(checkRepositoryFolder(facts(repo, { mode: 0o700, uid: 1000 }), facts(parent), 1000, "gpu-local").status).toBe("pass");
  });

  it("the engine cache must be writable by uid 1000 (fsGroup does not chown a hostPath)", () => {
    const dir = "/var/lib/triton-deploy/trt-engines";
    expect(checkEngineCache(facts(dir, { uid: 0, gid: 0, mode: 0o755 }), 1000)).toMatchObject({ status: "fail", fix: "sudo install -d -o 1000 -g 1000 /var/lib/triton-deploy/trt-engines" });
    expect(checkEngineCache(facts(dir, { uid: 1000, gid: 1000, mode: 0o755 }), 1000).status).toBe("pass");
    expect(checkEngineCache(facts(dir, { uid: 0, gid: 1000, mode: 0o775 }), 1000).status).toBe("pass");
    expect(checkEngineCache(facts(dir, { exists: false, isDirectory: false }), 1000).status).toBe("fail");
  });

  it("the manifest must match the profile, the plan's models and the current specs", async () => {
    const specs = await specHashes("model-specs");
    const want = expectedRepository(local, specs);
    const d = tempDir();
    const ok = writeManifest(d, { profile: "gpu-local", loadModels: local.plan.loadModels, specs }).manifest;
    expect(checkManifest(d, ok, want)).toMatchObject({ status: "pass", detail: "31 models, written for gpu-local, specs unchanged" });
    expect(checkManifest(d, undefined, want).status).toBe("fail");
    const wrong = writeManifest(d, { profile: "gpu-prod", loadModels: local.plan.loadModels.slice(0, 20), specs: { ...specs, "model-specs/midas.yaml": "0".repeat(64) } }).manifest;
    const r = checkManifest(d, wrong, want);
    expect(r.status).toBe("fail");
    expect(r.detail).toBe("written for profile gpu-prod, not gpu-local; lacks 11 model(s) the plan loads: yolo11x_320, yolo11x_640, places365_resnet50_336_onnx, preprocess_places365_336 and 7 more; spec files changed since: model-specs/midas.yaml");
  });
});

/** A kubectl that answers from documents in memory, counting the calls to `get nodes`. */
function fakeKubectl(answers: { nodes: () => Record<string, unknown> | Error; [key: string]: unknown }): Kubectl & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    async get<T>(args: string[], schema: z.ZodType<T>): Promise<KubectlAnswer<T>> {
      const key = args.join(" ");
      calls.push(key);
      const doc = key === "nodes" ? answers.nodes() : answers[key];
      if (doc instanceof Error) return { ok: false, notFound: false, message: doc.message };
      if (doc === undefined) return { ok: false, notFound: true, message: `Error from server (NotFound): ${key} not found` };
      return { ok: true, doc: schema.parse(doc) };
    },
  };
}

function deps(k: Kubectl, clock = { t: 0 }): PreflightDeps & { lines: string[] } {
  const lines: string[] = [];
  return {
    kubectl: k,
    folder: async (path) => ({ path, exists: false, isDirectory: false, writable: false }),
    readManifest: async () => undefined,
    now: () => clock.t,
    sleep: async (ms) => { clock.t += ms; },
    log: (l) => lines.push(l),
    lines,
  };
}

const CLUSTER = {
  "runtimeclass nvidia": runtimeClass(),
  "secret triton-repository-api --namespace triton": secret("triton-repository-api", { key: "v" }),
  "--raw /api/v1/nodes/rtx-box/proxy/stats/summary": statsSummary(120),
};

describe("runPreflight", () => {
  it("waits until GFD has labelled the node, then checks everything", async () => {
    let polls = 0;
    const k = fakeKubectl({ nodes: () => nodeList(++polls < 4 ? rtx2060Fresh() : rtx2060()), ...CLUSTER });
    const d = deps(k);
    const r = await runPreflight({ planned: local, deployment: localModel, repository: { skip: "--no-repository" }, waitSeconds: 600 }, d);
    expect(polls).toBe(4);
    expect(r.waitedSeconds).toBe(15);
    expect(r.ok).toBe(true);
    expect(r.checks.map((c) => c.status)).not.toContain("fail");
    expect(d.lines[0]).toMatch(/^preflight: waiting for a GPU node \(0 s of 10 min\): rtx-box: no allocatable nvidia\.com\/gpu, GFD labels missing/);
  });

  it("stops waiting at once when the labelled GPU cannot run the pod (driver 550): waiting would not change it", async () => {
    const k = fakeKubectl({ nodes: () => nodeList(rtx2060Driver550()), ...CLUSTER });
    const d = deps(k);
    const r = await runPreflight({ planned: local, deployment: localModel, repository: { skip: "--no-repository" }, waitSeconds: 600 }, d);
    expect(r.waitedSeconds).toBe(0);
    expect(r.ok).toBe(false);
    expect(r.checks.find((c) => c.id === "driver")!.status).toBe("fail");
  });

  it("gives up after --wait seconds when GFD never labels the node, and reports what is missing", async () => {
    const k = fakeKubectl({ nodes: () => nodeList(rtx2060Fresh()), ...CLUSTER });
    const d = deps(k);
    const r = await runPreflight({ planned: local, deployment: localModel, repository: { skip: "--no-repository" }, waitSeconds: 60 }, d);
    expect(r.ok).toBe(false);
    expect(r.waitedSeconds).toBe(60);
    expect(d.lines).toHaveLength(3); // at 0 s and 30 s, then the verdict
    expect(d.lines.at(-1)).toBe("preflight: no labelled GPU node after 1 min; checking anyway");
    expect(r.checks.find((c) => c.id === "gpu")).toMatchObject({ status: "fail", detail: expect.stringContaining("NFD found an NVIDIA device on rtx-box") });
  });

  it("a cluster that does not answer fails once and skips what needs it", async () => {
    const k = fakeKubectl({ nodes: () => new Error("The connection to the server 127.0.0.1:6443 was refused") });
    const r = await runPreflight({ planned: local, deployment: localModel, repository: { skip: "--no-repository" } }, deps(k));
    expect(r.checks.map((c) => [c.id, c.status])).toEqual([["cluster", "fail"], ["gpu", "skip"], ["runtimeclass", "skip"], ["secrets", "skip"], ["image-disk", "skip"], ["repository", "skip"]]);
    expect(k.calls).toEqual(["nodes"]);
  });

  it("a missing Secret fails; the rollout's parts come with the report", async () => {
    const k = fakeKubectl({ nodes: () => nodeList(rtx2060()), "runtimeclass nvidia": runtimeClass(), "--raw /api/v1/nodes/rtx-box/proxy/stats/summary": statsSummary(120) });
    const r = await runPreflight({ planned: local, deployment: localModel, repository: { skip: "--no-repository" } }, deps(k));
    expect(r.checks.find((c) => c.id === "secret:triton-repository-api")).toMatchObject({ status: "fail", detail: "does not exist" });
    expect(r.rollout.progressDeadlineSeconds).toBe(localModel.rollout.progressDeadlineSeconds);
  });
});

describe("kubectl's kubeconfig", () => {
  it("--kubeconfig wins; else KUBECONFIG (kubectl's own); else KUBE_CONFIG_PATH, which kubectl ignores", () => {
    expect(kubectlGlobalFlags({ configPath: "/a", context: "c" }, { KUBECONFIG: "/b" })).toEqual(["--kubeconfig", "/a", "--context", "c"]);
    expect(kubectlGlobalFlags({}, { KUBECONFIG: "/b", KUBE_CONFIG_PATH: "/c" })).toEqual([]);
    expect(kubectlGlobalFlags({}, { KUBE_CONFIG_PATH: "/c" })).toEqual(["--kubeconfig", "/c"]);
  });
});

describe("npm run preflight", () => {
  // A kubectl on PATH that logs its arguments and prints the documents above.
  function workspace(nodesDoc: Record<string, unknown>): { dir: string; env: NodeJS.ProcessEnv; calls: () => string[] } {
    const dir = tempDir();
    const docs = { "nodes.json": nodeList(nodesDoc), "rc.json": runtimeClass(), "secret.json": secret("triton-repository-api", { key: "v" }), "summary.json": statsSummary(120) };
    for (const [f, d] of Object.entries(docs)) writeFileSync(join(dir, f), JSON.stringify(d));
    mkdirSync(join(dir, "bin"));
    writeFileSync(join(dir, "bin", "kubectl"), `#!/bin/bash
echo "$*" >> ${dir}/calls.log
case "$*" in
  *"get nodes -o json"*) cat ${dir}/nodes.json ;;
  *"get runtimeclass nvidia -o json"*) cat ${dir}/rc.json ;;
  *"get secret triton-repository-api --namespace triton -o json"*) cat ${dir}/secret.json ;;
  *"get --raw /api/v1/nodes/rtx-box/proxy/stats/summary"*) cat ${dir}/summary.json ;;
  *) echo "Error from server (NotFound): not found" >&2; exit 1 ;;
esac
`);
    chmodSync(join(dir, "bin", "kubectl"), 0o755);
    const env: NodeJS.ProcessEnv = { ...process.env, PATH: `${join(dir, "bin")}:${process.env.PATH}` };
    delete env.KUBECONFIG;
    return { dir, env, calls: () => readFileSync(join(dir, "calls.log"), "utf8").trim().split("\n") };
  }
  const run = (args: string[], env: NodeJS.ProcessEnv) => spawnSync(process.execPath, ["--import", "tsx", "scripts/preflight.ts", ...args], { encoding: "utf8", env, timeout: 60_000 });

  it("--help exits 0", () => {
    const r = run(["--help"], process.env);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("--wait <seconds>");
  });

  it("passes on the RTX 2060 box with a repository written for gpu-local, asking kubectl with the given kubeconfig and context", async () => {
    const w = workspace(rtx2060());
    const root = join(w.dir, "triton-deploy");
    const repo = join(root, "models");
    writeManifest(repo, { profile: "gpu-local", loadModels: local.plan.loadModels, specs: await specHashes("model-specs") });
    mkdirSync(join(root, "trt-engines"));
    chmodSync(join(root, "trt-engines"), 0o777);
    for (const d of [w.dir, root, repo]) chmodSync(d, 0o755);
    const r = run(["--profile", "gpu-local", "--repository", repo, "--kubeconfig", "/etc/rancher/k3s/k3s.yaml", "--context", "default", "--json"], w.env);
    expect(r.status, r.stdout + r.stderr).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.checks.map((c: CheckResult) => c.status).filter((s: string) => s !== "pass")).toEqual([]);
    expect(report.checks.map((c: CheckResult) => c.id)).toEqual(["cluster", "gpu", "gfd-labels", "gpu-memory", "driver", "product", "placement", "runtimeclass", "secret:triton-repository-api", "image-disk", "repository", "engine-cache", "manifest"]);
    expect(w.calls()[0]).toBe("--kubeconfig /etc/rancher/k3s/k3s.yaml --context default get nodes -o json --request-timeout=15s");
  });

  it("exits 1 on driver 550 and prints the table with the fix; KUBE_CONFIG_PATH reaches kubectl", () => {
    const w = workspace(rtx2060Driver550());
    const r = run(["--profile", "gpu-local", "--no-repository"], { ...w.env, KUBE_CONFIG_PATH: "/etc/rancher/k3s/k3s.yaml" });
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/driver major >= 560\s*│ FAIL/);
    expect(r.stdout).toContain("install NVIDIA driver 560 or newer");
    expect(r.stdout).toMatch(/a first rollout may take up to 30 min 5 s/);
    expect(w.calls()[0]).toMatch(/^--kubeconfig \/etc\/rancher\/k3s\/k3s\.yaml get nodes/);
  });

  it("exits 2 on a bad --wait", () => {
    const r = run(["--profile", "gpu-local", "--wait", "soon"], process.env);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("--wait: must be an integer >= 0, got 'soon'");
  });
});
