// The cdktf app: two stacks over the same construct. gpu-local is the seed's workstation (repository
// on the node, NodePort, device plugin by Helm); gpu-prod reads the repository from an object store,
// runs 2+ replicas behind a PodDisruptionBudget and a NetworkPolicy. Inputs: stacks/inputs.ts.
import { relative, resolve } from "node:path";
import { HelmProvider } from "@cdktf/provider-helm/lib/provider/index.js";
import { KubernetesProvider } from "@cdktf/provider-kubernetes/lib/provider/index.js";
import { App, TerraformStack } from "cdktf";
import type { Construct } from "constructs";
import { DEFAULT_RESTRICTED_API, type DeploymentOptions } from "../src/plan/deployment.ts";
import { loadPlan, type LoadedPlan } from "../src/plan/load.ts";
import type { RepositorySource } from "../src/spec/profile.ts";
import { NvidiaDevicePlugin } from "./device-plugin.ts";
import { flag, hostPathWarning, readInputs, type StackInputs } from "./inputs.ts";
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

  constructor(scope: Construct, id: string, props: TritonStackProps) {
    super(scope, id);
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

/** Loads the plans and builds both stacks; throws UserError on bad inputs. */
export async function buildApp(opts: BuildAppOptions = {}): Promise<BuiltApp> {
  const env = opts.env ?? process.env;
  const app = new App({ stackTraces: false, ...(opts.outdir ? { outdir: opts.outdir } : {}), ...(opts.context ? { context: opts.context } : {}) });
  const inputs = readInputs(env, (k) => app.node.tryGetContext(k));
  const warnings: string[] = [];
  const common = (stack: string): DeploymentOptions => ({
    ...(inputs.image ? { image: inputs.image } : {}),
    ...(inputs.namespace ? { namespace: inputs.namespace } : {}),
    ...(inputs.apiSecret ? { restrictedApi: { ...DEFAULT_RESTRICTED_API, secret: { name: inputs.apiSecret, key: "key" } } } : {}),
    // terraform runs the post-deploy step in <outdir>/stacks/<stack>; npm needs the project root.
    projectDir: relative(resolve(app.outdir, "stacks", stack), process.cwd()) || ".",
  });
  const kube = { ...(inputs.kubeConfigPath ? { configPath: inputs.kubeConfigPath } : {}), ...(inputs.kubeContext ? { context: inputs.kubeContext } : {}) };
  const verify = flag(inputs.verify, true);

  const local = await plannedFor(inputs, "gpu-local");
  const localRepo = repositoryFor(local, inputs);
  if (localRepo.kind === "hostPath") {
    const w = hostPathWarning(localRepo.path);
    if (w) warnings.push(w);
  }
  const localStack = new TritonStack(app, "gpu-local", {
    planned: local,
    options: { ...common("gpu-local"), repository: localRepo, ...(inputs.nodeHost ? { nodeHost: inputs.nodeHost } : {}) },
    devicePlugin: flag(inputs.devicePlugin, true),
    verify,
    kube,
    warnings: [...warnings],
  });

  const prodName = inputs.prodProfile ?? "gpu-prod";
  const prod = await plannedFor(inputs, prodName);
  const prodStack = new TritonStack(app, "gpu-prod", {
    planned: prod,
    options: { ...common("gpu-prod"), repository: repositoryFor(prod, inputs) },
    devicePlugin: flag(inputs.devicePlugin, false),
    verify,
    kube,
  });
  return { app, stacks: [localStack, prodStack], warnings };
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
