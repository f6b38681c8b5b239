// The deploy's own steps, run by terraform through local-exec where `cdktf deploy` runs: before the
// Deployment, `npm run preflight -- --wait` until a node has an allocatable GPU and the labels the
// affinity needs (helm's wait returns before Node Feature Discovery and GPU Feature Discovery have
// labelled the node); after the rollout, `npm run verify-ready`, which fails the deploy when the gate
// fails. The commands are plain text built here; they name Secrets but never hold their values, and
// every kubectl in them uses the kubeconfig and context the providers were given.
import type { RestrictedApi } from "./deployment.ts";

export interface DeployStep {
  /** Shell command (bash) run where `cdktf deploy` runs, from `workingDir`. */
  command: string;
  interpreter: string[];
  /** Directory with package.json, relative to terraform's working directory. */
  workingDir: string;
  /** Non-secret environment for the command. */
  environment: Record<string, string>;
}
export type VerifyStep = DeployStep;

/** The kubeconfig and context given to the providers (absent: the providers' own defaults). */
export interface KubeAccess {
  configPath?: string;
  context?: string;
}

/** Environment names verify-ready reads for the model-repository API header. */
export const VERIFY_HEADER_ENV = { name: "TRITON_RESTRICTED_HEADER", value: "TRITON_RESTRICTED_VALUE" } as const;
/** Local port for `kubectl port-forward` when the service is not reachable from outside. */
export const PORT_FORWARD_LOCAL_PORT = 18000;

/** A word for bash: single-quoted unless it is plainly safe. */
export function shellWord(s: string): string {
  return /^[A-Za-z0-9_./:=@%+,-]+$/.test(s) ? s : `'${s.replaceAll("'", `'\\''`)}'`;
}

/** `--kubeconfig F --context C` for kubectl and preflight, from what the providers were given. */
export function kubeFlags(kube: KubeAccess): string[] {
  return [...(kube.configPath ? ["--kubeconfig", shellWord(kube.configPath)] : []), ...(kube.context ? ["--context", shellWord(kube.context)] : [])];
}

/**
 * kubectl reads KUBECONFIG, never KUBE_CONFIG_PATH (the providers' variable). When no kubeconfig was
 * given explicitly, a user who exported only KUBE_CONFIG_PATH gets the same cluster in kubectl.
 */
export const KUBECONFIG_BRIDGE = `if [ -z "$KUBECONFIG" ] && [ -n "$KUBE_CONFIG_PATH" ]; then export KUBECONFIG="$KUBE_CONFIG_PATH"; fi`;

export interface VerifyStepInput {
  profile: string;
  url: string;
  service: "NodePort" | "ClusterIP";
  name: string;
  namespace: string;
  restricted: RestrictedApi;
  projectDir: string;
  kube: KubeAccess;
}

export function verifyStep(i: VerifyStepInput): VerifyStep {
  const kubectl = ["kubectl", ...kubeFlags(i.kube), "--namespace", i.namespace].join(" ");
  // The value is read from the cluster at run time (unless the caller exported it), so it never
  // appears in the synthesized JSON, the terraform state or the command line terraform logs.
  const readKey = [
    `if [ -z "$${VERIFY_HEADER_ENV.value}" ]; then`,
    `  ${VERIFY_HEADER_ENV.value}="$(${kubectl} get secret ${i.restricted.secret.name} -o jsonpath='{.data.${i.restricted.secret.key}}' | base64 -d)"`,
    "fi",
    `export ${VERIFY_HEADER_ENV.value}`,
  ];
  const gate = (url: string) => `npm run verify-ready -- --url ${url} --profile ${i.profile}`;
  const lines = ["set -eo pipefail", ...(i.kube.configPath ? [] : [KUBECONFIG_BRIDGE]), ...readKey];
  if (i.service === "NodePort") lines.push(gate(i.url));
  else {
    // A ClusterIP service is reachable only inside the cluster: tunnel to it for the gate.
    const local = `http://127.0.0.1:${PORT_FORWARD_LOCAL_PORT}`;
    lines.push(
      `${kubectl} port-forward service/${i.name} ${PORT_FORWARD_LOCAL_PORT}:8000 >/dev/null 2>&1 &`,
      "tunnel=$!",
      "trap 'kill $tunnel' EXIT",
      "sleep 3",
      gate(local),
    );
  }
  return step(lines, i.projectDir, { [VERIFY_HEADER_ENV.name]: i.restricted.header, TRITON_HTTP_URL: i.service === "NodePort" ? i.url : `http://127.0.0.1:${PORT_FORWARD_LOCAL_PORT}` });
}

export interface PreflightStepInput {
  profile: string;
  namespace: string;
  /** Secret holding the restricted-API header value. */
  apiSecret: string;
  image: string;
  waitSeconds: number;
  projectDir: string;
  kube: KubeAccess;
  specsDir?: string;
  measuredFile?: string;
}

/**
 * Waits for a GPU node, then checks the cluster side (GPU, labels, RuntimeClass, Secret, image disk).
 * The repository folder is left to the synth-time checks and to a manual preflight: the deploy may
 * run on another machine than the GPU node.
 */
export function preflightStep(i: PreflightStepInput): DeployStep {
  const args = [
    "npm run preflight --",
    `--profile ${i.profile}`,
    ...(i.specsDir ? [`--specs ${shellWord(i.specsDir)}`] : []),
    ...(i.measuredFile ? [`--measured ${shellWord(i.measuredFile)}`] : []),
    `--wait ${i.waitSeconds}`,
    "--no-repository",
    `--namespace ${i.namespace}`,
    `--secret ${i.apiSecret}`,
    `--image ${shellWord(i.image)}`,
    ...kubeFlags(i.kube),
  ];
  return step(["set -eo pipefail", args.join(" ")], i.projectDir, {});
}

function step(lines: string[], workingDir: string, environment: Record<string, string>): DeployStep {
  const command = lines.join("\n");
  // Terraform would read ${...} and %{...} as its own templates.
  if (/[$%]\{/.test(command)) throw new Error(`deploy step contains a terraform template sequence: ${command}`);
  return { command, interpreter: ["bash", "-c"], workingDir, environment };
}
