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
/** How long the gate waits for the tunnel to answer `/v2/health/live` before it fails the deploy. */
export const PORT_FORWARD_WAIT_SECONDS = 30;

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
  /** @default PORT_FORWARD_LOCAL_PORT */
  localPort?: number;
  /** @default PORT_FORWARD_WAIT_SECONDS */
  tunnelWaitSeconds?: number;
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
  const port = i.localPort ?? PORT_FORWARD_LOCAL_PORT;
  const local = `http://127.0.0.1:${port}`;
  if (i.service === "NodePort") lines.push(gate(i.url));
  else lines.push(...tunnel(kubectl, `port-forward service/${i.name} ${port}:8000`, local, i.tunnelWaitSeconds ?? PORT_FORWARD_WAIT_SECONDS), gate(local));
  return step(lines, i.projectDir, { [VERIFY_HEADER_ENV.name]: i.restricted.header, TRITON_HTTP_URL: i.service === "NodePort" ? i.url : local });
}

/**
 * A ClusterIP service is reachable only inside the cluster: open `kubectl port-forward` in the
 * background and poll `<url>/v2/health/live` (node's fetch: node is there wherever npm is) until it
 * answers 200. Fails at once when kubectl exits (its own message shown: a taken port, a missing
 * service), or after `waitSeconds` with what kubectl said; the tunnel ends with the step. The old
 * fixed `sleep 3` either wasted time or ran the gate against a tunnel that was not up yet.
 */
function tunnel(kubectl: string, portForward: string, url: string, waitSeconds: number): string[] {
  const live = `${url}/v2/health/live`;
  const probe = `node -e "fetch('${live}',{signal:AbortSignal.timeout(2000)}).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"`;
  // Messages name the tunnel without kubectl's flags: a quoted context must not meet the echo's quotes.
  const exited = [
    "if ! kill -0 $tunnel 2>/dev/null; then",
    `  echo "verify-ready: kubectl ${portForward} exited: $(cat "$tunnel_log")" >&2`,
    "  exit 1",
    "fi",
  ];
  return [
    'tunnel_log="$(mktemp)"',
    `${kubectl} ${portForward} >"$tunnel_log" 2>&1 &`,
    "tunnel=$!",
    `trap 'kill $tunnel 2>/dev/null || true; rm -f "$tunnel_log"' EXIT`,
    `deadline=$((SECONDS + ${waitSeconds}))`,
    `until ${probe}; do`,
    ...exited.map((l) => `  ${l}`),
    "  if [ $SECONDS -ge $deadline ]; then",
    `    echo "verify-ready: ${live} did not answer 200 within ${waitSeconds} s through kubectl ${portForward} (kubectl said: $(cat "$tunnel_log"))" >&2`,
    "    exit 1",
    "  fi",
    "  sleep 1",
    "done",
    // What answered must be our tunnel, not another listener on the port kubectl could not take.
    ...exited,
  ];
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
