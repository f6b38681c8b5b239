// Stack inputs: what differs between one workstation or cluster and the next (repository location,
// Secret names, image) comes from environment variables or cdktf context, never from edits to code.
// Each is validated here so a typo fails `cdktf synth` with the variable's name, not a pod in Pending.
import { posix } from "node:path";
import { UserError, type Problem } from "../src/errors.ts";
import { K8S_NAME_PATTERN, OBJECT_STORE_URL_PATTERN } from "../src/spec/profile.ts";

/** One input: read from `env`, else context `context`, else the profile or the default. */
interface InputSpec {
  env: string;
  context: string;
  description: string;
  check?: { test: (v: string) => boolean; expected: string };
}

/** The stacks the app can build, by id (what `cdktf deploy <stack>` names). */
export const STACK_IDS = ["gpu-local", "gpu-prod"] as const;
export type StackId = (typeof STACK_IDS)[number];

const k8sName = { test: (v: string) => K8S_NAME_PATTERN.test(v), expected: "a Kubernetes name (lower-case letters, digits, '-')" };
const bool = { test: (v: string) => /^(true|false|1|0)$/.test(v), expected: "true or false" };

export const INPUTS = {
  specsDir: { env: "TRITON_SPECS", context: "specsDir", description: "model spec directory (default model-specs)" },
  measuredFile: { env: "TRITON_MEASURED", context: "measuredFile", description: "JSON of measured VRAM per ONNX model" },
  image: { env: "TRITON_IMAGE", context: "tritonImage", description: "Triton image (default nvcr.io/nvidia/tritonserver:24.08-py3)", check: { test: (v: string) => /^[^\s"'$`\\]+$/.test(v), expected: "an image reference such as nvcr.io/nvidia/tritonserver:24.08-py3" } },
  namespace: { env: "TRITON_NAMESPACE", context: "namespace", description: "namespace of the Triton objects (default: the profile's)", check: k8sName },
  apiSecret: { env: "TRITON_API_SECRET", context: "apiSecret", description: "Secret (key 'key') with the model-repository API header value", check: k8sName },
  repositoryPath: { env: "TRITON_REPOSITORY_PATH", context: "repositoryPath", description: "gpu-local: repository directory on the node", check: { test: (v: string) => posix.isAbsolute(v), expected: "an absolute path on the node, e.g. /var/lib/triton-deploy/models" } },
  repositoryUrl: { env: "TRITON_REPOSITORY_URL", context: "repositoryUrl", description: "gpu-prod: object-store repository URL", check: { test: (v: string) => OBJECT_STORE_URL_PATTERN.test(v), expected: "an s3://, gs:// or as:// URL" } },
  storeSecret: { env: "TRITON_STORE_SECRET", context: "storeSecret", description: "gpu-prod: Secret with the object-store credentials", check: k8sName },
  prodProfile: { env: "TRITON_PROD_PROFILE", context: "prodProfile", description: "profile of the gpu-prod stack (default gpu-prod)" },
  prodRepositoryDir: { env: "TRITON_PROD_REPOSITORY_DIR", context: "prodRepositoryDir", description: "gpu-prod: local copy of the repository you published; its manifest.json names the immutable prefix Triton reads" },
  prodMutableRepository: { env: "TRITON_PROD_MUTABLE_REPOSITORY", context: "prodMutableRepository", description: "gpu-prod: true to let Triton read the object store's base URL in place, without TRITON_PROD_REPOSITORY_DIR (unsafe: a replica that starts during an upload reads a half-written repository)", check: bool },
  stacks: { env: "TRITON_STACKS", context: "stacks", description: `stacks to synthesize, comma-separated (${STACK_IDS.join(", ")}); default: gpu-local, and gpu-prod when its repository prefix is known (TRITON_PROD_REPOSITORY_DIR) or accepted (TRITON_PROD_MUTABLE_REPOSITORY=true)`, check: { test: (v: string) => v.split(",").every((s) => (STACK_IDS as readonly string[]).includes(s.trim())), expected: `a comma-separated list of ${STACK_IDS.join(", ")}` } },
  nodeHost: { env: "TRITON_NODE_HOST", context: "nodeHost", description: "gpu-local: host the NodePort is reached on (default localhost)", check: { test: (v: string) => /^[A-Za-z0-9.:[\]-]+$/.test(v), expected: "a host name or IP address" } },
  devicePlugin: { env: "TRITON_DEVICE_PLUGIN", context: "devicePlugin", description: "install the NVIDIA device plugin with GFD through Helm (default: true for gpu-local, false for gpu-prod)", check: bool },
  gpuWait: { env: "TRITON_GPU_WAIT", context: "gpuWait", description: "wait (npm run preflight -- --wait) for a node with an allocatable, labelled GPU before creating the Deployment (default true)", check: bool },
  monitoring: { env: "TRITON_MONITORING", context: "monitoring", description: "create the ServiceMonitor/PodMonitor; needs the Prometheus Operator's CRDs (default: the profile's monitoring.enabled)", check: bool },
  verify: { env: "TRITON_VERIFY", context: "verify", description: "run verify-ready after the rollout and fail the deploy if it fails (default true)", check: bool },
  kubeConfigPath: { env: "TRITON_KUBECONFIG", context: "kubeConfigPath", description: "kubeconfig for the providers and every kubectl the deploy runs (default: KUBE_CONFIG_PATH for the providers, KUBECONFIG else KUBE_CONFIG_PATH for kubectl)" },
  kubeContext: { env: "TRITON_KUBE_CONTEXT", context: "kubeContext", description: "kubeconfig context (default: the current one)" },
} as const satisfies Record<string, InputSpec>;

export type InputName = keyof typeof INPUTS;
export type StackInputs = { [K in InputName]?: string };

/** Reads every input; all problems are reported at once (exit 2). */
export function readInputs(env: Readonly<Record<string, string | undefined>>, context: (key: string) => unknown): StackInputs {
  const out: StackInputs = {};
  const problems: Problem[] = [];
  for (const [name, spec] of Object.entries(INPUTS) as [InputName, InputSpec][]) {
    const fromEnv = env[spec.env];
    const fromContext = context(spec.context);
    const value = fromEnv !== undefined && fromEnv !== "" ? fromEnv : fromContext === undefined ? undefined : String(fromContext);
    if (value === undefined) continue;
    const where = fromEnv ? `environment variable ${spec.env}` : `cdktf context '${spec.context}'`;
    if (spec.check && !spec.check.test(value)) problems.push({ field: where, message: `${JSON.stringify(value)} is not ${spec.check.expected}`, hint: `set ${spec.env} (${spec.description})` });
    else out[name] = value;
  }
  if (problems.length > 0) throw new UserError(problems, 2);
  return out;
}

export function flag(v: string | undefined, fallback: boolean): boolean {
  return v === undefined ? fallback : v === "true" || v === "1";
}

/** The stacks TRITON_STACKS names, or undefined when it is not set (the app's default choice). */
export function selectedStacks(v: string | undefined): ReadonlySet<StackId> | undefined {
  return v === undefined ? undefined : new Set(v.split(",").map((s) => s.trim() as StackId));
}
