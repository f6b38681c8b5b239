// The post-deploy gate: after the Deployment has rolled out, `cdktf deploy` runs verify-ready against
// the service and fails if the gate fails. The command is plain text built here (terraform runs it
// through a local-exec provisioner); it names the restricted-API Secret but never holds its value.
import type { RestrictedApi } from "./deployment.ts";

export interface VerifyStep {
  /** Shell command (bash) run where `cdktf deploy` runs, from `workingDir`. */
  command: string;
  interpreter: string[];
  /** Directory with package.json, relative to terraform's working directory. */
  workingDir: string;
  /** Non-secret environment for verify-ready. */
  environment: Record<string, string>;
}

/** Environment names verify-ready reads for the model-repository API header. */
export const VERIFY_HEADER_ENV = { name: "TRITON_RESTRICTED_HEADER", value: "TRITON_RESTRICTED_VALUE" } as const;
/** Local port for `kubectl port-forward` when the service is not reachable from outside. */
export const PORT_FORWARD_LOCAL_PORT = 18000;

export interface VerifyStepInput {
  profile: string;
  url: string;
  service: "NodePort" | "ClusterIP";
  name: string;
  namespace: string;
  restricted: RestrictedApi;
  projectDir: string;
}

export function verifyStep(i: VerifyStepInput): VerifyStep {
  const kubectl = `kubectl --namespace ${i.namespace}`;
  // The value is read from the cluster at run time (unless the caller exported it), so it never
  // appears in the synthesized JSON, the terraform state or the command line terraform logs.
  const readKey = [
    `if [ -z "$${VERIFY_HEADER_ENV.value}" ]; then`,
    `  ${VERIFY_HEADER_ENV.value}="$(${kubectl} get secret ${i.restricted.secret.name} -o jsonpath='{.data.${i.restricted.secret.key}}' | base64 -d)"`,
    "fi",
    `export ${VERIFY_HEADER_ENV.value}`,
  ];
  const gate = (url: string) => `npm run verify-ready -- --url ${url} --profile ${i.profile}`;
  const lines = ["set -eo pipefail", ...readKey];
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
  const command = lines.join("\n");
  // Terraform would read ${...} and %{...} as its own templates.
  if (/[$%]\{/.test(command)) throw new Error(`post-deploy command contains a terraform template sequence: ${command}`);
  return { command, interpreter: ["bash", "-c"], workingDir: i.projectDir, environment: { [VERIFY_HEADER_ENV.name]: i.restricted.header, TRITON_HTTP_URL: i.service === "NodePort" ? i.url : `http://127.0.0.1:${PORT_FORWARD_LOCAL_PORT}` } };
}
