// The cdktf app: two stacks over the same construct. gpu-local is the seed's workstation (repository
// on the node, ClusterIP reached by kubectl port-forward, device plugin by Helm); gpu-prod reads an
// immutable, versioned repository prefix from an object store and runs 2+ replicas, one per node,
// behind a PodDisruptionBudget and a NetworkPolicy. cdktf synthesizes every stack of the app for any
// command, so a gpu-prod that would read a mutable prefix is left out (with a warning) unless asked
// for by name, where it is an error. Inputs: stacks/inputs.ts.
import { relative, resolve } from "node:path";
import { HelmProvider } from "@cdktf/provider-helm/lib/provider/index.js";
import { KubernetesProvider } from "@cdktf/provider-kubernetes/lib/provider/index.js";
import { App, TerraformStack } from "cdktf";
import type { Construct } from "constructs";
import { DEFAULT_RESTRICTED_API, inPlaceRepository, type DeploymentOptions } from "../src/plan/deployment.ts";
import { UserError } from "../src/errors.ts";
import { loadPlan, type LoadedPlan } from "../src/plan/load.ts";
import { expectedRepository, manifestMismatches } from "../src/preflight/manifest.ts";
import { sha256Of } from "../src/repo/hash.ts";
import { readManifest } from "../src/repo/manifest.ts";
import type { RepositorySource } from "../src/spec/profile.ts";
import { NvidiaDevicePlugin } from "./device-plugin.ts";
import { flag, readInputs, selectedStacks, type StackInputs } from "./inputs.ts";
import { TritonServer } from "./triton-construct.ts";

export interface TritonStackProps {
  /** Plan, profile and catalog the stack deploys. */
  readonly planned: LoadedPlan;
  /** Overrides of the profile's deployment hints. @default none */
  readonly options?: DeploymentOptions;
  /** Install the NVIDIA device plugin and GPU Feature Discovery through Helm. @default false */
  readonly devicePlugin?: boolean;
  /** Run verify-ready after the rollout. @default true */
  readonly verify?: boolean;
  /** kubeconfig and context for both providers. @default the providers' own (KUBE_CONFIG_PATH, current context) */
  readonly kube?: { configPath?: string; context?: string };
  readonly warnings?: string[];
}

export class TritonStack extends TerraformStack {
  readonly triton: TritonServer;
  /** Warnings about this stack's inputs (the model's own are in triton.model.warnings). */
  readonly inputWarnings: string[];

  constructor(scope: Construct, id: string, props: TritonStackProps) {
    super(scope, id);
    this.inputWarnings = props.warnings ?? [];
    const kube = { ...(props.kube?.configPath ? { configPath: props.kube.configPath } : {}), ...(props.kube?.context ? { configContext: props.kube.context } : {}) };
    new KubernetesProvider(this, "kubernetes", kube);
    const { plan, profile } = props.planned;
    let plugin: NvidiaDevicePlugin | undefined;
    if (props.devicePlugin) {
      new HelmProvider(this, "helm", { kubernetes: kube });
      plugin = new NvidiaDevicePlugin(this, "nvidia-device-plugin", profile.spec.deployment.runtimeClassName ? { runtimeClassName: profile.spec.deployment.runtimeClassName } : {});
    }
    this.triton = new TritonServer(this, "triton", {
      plan,
      profile,
      ...(props.options ? { options: props.options } : {}),
      verify: props.verify ?? true,
      ...(plugin ? { dependsOn: [plugin.release] } : {}),
      ...(props.warnings ? { warnings: props.warnings } : {}),
    });
  }
}

export interface BuildAppOptions {
  /** Where cdktf writes. @default CDKTF_OUTDIR, else "cdktf.out" */
  outdir?: string;
  /** Environment to read inputs from. @default process.env */
  env?: Readonly<Record<string, string | undefined>>;
  /** Extra cdktf context (tests). @default none */
  context?: Record<string, unknown>;
}

export interface BuiltApp {
  app: App;
  stacks: TritonStack[];
  warnings: string[];
}

/**
 * Loads the plans and builds the stacks: those TRITON_STACKS names, else gpu-local, and gpu-prod when
 * Triton would not read its object store in place. Throws UserError on bad inputs (exit 2).
 */
export async function buildApp(opts: BuildAppOptions = {}): Promise<BuiltApp> {
  const env = opts.env ?? process.env;
  const app = new App({ stackTraces: false, ...(opts.outdir ? { outdir: opts.outdir } : {}), ...(opts.context ? { context: opts.context } : {}) });
  const inputs = readInputs(env, (k) => app.node.tryGetContext(k));
  const kube = { ...(inputs.kubeConfigPath ? { configPath: inputs.kubeConfigPath } : {}), ...(inputs.kubeContext ? { context: inputs.kubeContext } : {}) };
  const common = (stack: string): DeploymentOptions => ({
    ...(inputs.image ? { image: inputs.image } : {}),
    ...(inputs.namespace ? { namespace: inputs.namespace } : {}),
    ...(inputs.apiSecret ? { restrictedApi: { ...DEFAULT_RESTRICTED_API, secret: { name: inputs.apiSecret, key: "key" } } } : {}),
    // terraform runs the deploy steps in <outdir>/stacks/<stack>; npm needs the project root.
    projectDir: relative(resolve(app.outdir, "stacks", stack), process.cwd()) || ".",
    kube,
    gpuWait: flag(inputs.gpuWait, true),
    ...(inputs.monitoring !== undefined ? { monitoring: flag(inputs.monitoring, false) } : {}),
    ...(inputs.specsDir ? { specsDir: inputs.specsDir } : {}),
    ...(inputs.measuredFile ? { measuredFile: inputs.measuredFile } : {}),
  });
  const verify = flag(inputs.verify, true);
  const selected = selectedStacks(inputs.stacks);
  const stacks: TritonStack[] = [];
  const skipped: string[] = [];

  // gpu-prod first: whether it is built decides a warning gpu-local carries.
  const prodName = inputs.prodProfile ?? "gpu-prod";
  let prodStack: (() => TritonStack) | undefined;
  if (!selected || selected.has("gpu-prod")) {
    const prod = await plannedFor(inputs, prodName);
    const prodRepo = repositoryFor(prod, inputs);
    // The local copy that was published names the immutable prefix Triton reads.
    const prodManifest = inputs.prodRepositoryDir ? await manifestAt(inputs.prodRepositoryDir, prod, "TRITON_PROD_REPOSITORY_DIR") : { warnings: [] };
    const accept = flag(inputs.prodMutableRepository, false);
    const inPlace = inPlaceRepository(prodRepo, prodManifest.sha256);
    if (inPlace !== undefined && !accept && !selected) {
      // Not asked for by name: leave it out rather than fail gpu-local's synth (cdktf synthesizes every stack).
      skipped.push(`gpu-prod is not synthesized: Triton would read ${inPlace} in place, where a replica that starts during an upload reads a half-written repository. Publish under ${inPlace}/<version> and set TRITON_PROD_REPOSITORY_DIR to the published copy (docs/deploy.md, gpu-prod), or set TRITON_PROD_MUTABLE_REPOSITORY=true to accept that risk; TRITON_STACKS=gpu-prod makes this an error`);
    } else {
      prodStack = () => new TritonStack(app, "gpu-prod", {
        planned: prod,
        // "refuse" makes an unpublished prefix a UserError (exit 2) when gpu-prod was asked for by name.
        options: { ...common("gpu-prod"), repository: prodRepo, mutableRepository: accept ? "accept" : "refuse", ...(prodManifest.sha256 ? { manifestSha256: prodManifest.sha256 } : {}) },
        devicePlugin: flag(inputs.devicePlugin, false),
        verify,
        kube,
        warnings: prodManifest.warnings,
      });
    }
  }

  if (!selected || selected.has("gpu-local")) {
    const local = await plannedFor(inputs, "gpu-local");
    const localRepo = repositoryFor(local, inputs);
    // gpu-local's repository usually sits on this machine (the node): its manifest names the pod annotation.
    const localManifest = localRepo.kind === "hostPath" ? await manifestAt(localRepo.path, local) : { warnings: [] };
    stacks.push(new TritonStack(app, "gpu-local", {
      planned: local,
      options: { ...common("gpu-local"), repository: localRepo, ...(localManifest.sha256 ? { manifestSha256: localManifest.sha256 } : {}), ...(inputs.nodeHost ? { nodeHost: inputs.nodeHost } : {}) },
      devicePlugin: flag(inputs.devicePlugin, true),
      verify,
      kube,
      // cdktf prints a stack's annotations only: the skipped stack's reason travels with gpu-local.
      warnings: [...localManifest.warnings, ...skipped],
    }));
  }
  if (prodStack) stacks.push(prodStack());
  return { app, stacks, warnings: stacks.flatMap((s) => [...s.inputWarnings, ...s.triton.model.warnings]) };
}

/**
 * The sha256 of `<dir>/manifest.json` and whether the repository there was written for this plan.
 * A folder that is missing here is not an error (it may live only on the node); `required` names
 * the input that promised a repository, which then must hold one.
 */
async function manifestAt(dir: string, planned: LoadedPlan, required?: string): Promise<{ sha256?: string; warnings: string[] }> {
  const found = await readManifest(dir);
  if (!found) {
    if (required) throw new UserError({ field: `environment variable ${required}`, message: `${dir} holds no manifest.json written by synth-repo`, hint: `point it at the folder synth-repo wrote (npm run synth-repo -- --profile ${planned.plan.profile.name} --out ${dir})` }, 2);
    return { warnings: [] };
  }
  const mismatches = manifestMismatches(found.manifest, expectedRepository(planned));
  const warnings = mismatches.length > 0 ? [`the repository in ${dir} was not written for this plan (${mismatches.join("; ")}): run npm run synth-repo -- --profile ${planned.plan.profile.name} --out ${dir}`] : [];
  return { sha256: sha256Of(new TextEncoder().encode(found.text)), warnings };
}

function plannedFor(inputs: StackInputs, profile: string): Promise<LoadedPlan> {
  return loadPlan({ profile, ...(inputs.specsDir ? { specsDir: inputs.specsDir } : {}), ...(inputs.measuredFile ? { measuredFile: inputs.measuredFile } : {}) });
}

/** The profile's repository, with the location and Secret replaced where inputs name them. */
function repositoryFor(planned: LoadedPlan, inputs: StackInputs): RepositorySource {
  const repo = planned.profile.spec.deployment.repository;
  if (repo.kind === "hostPath") return inputs.repositoryPath ? { kind: "hostPath", path: inputs.repositoryPath } : repo;
  return { kind: "objectStore", url: inputs.repositoryUrl ?? repo.url, credentialsSecret: inputs.storeSecret ?? repo.credentialsSecret };
}
