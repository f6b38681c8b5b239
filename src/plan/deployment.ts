// The deployment model: everything Triton needs on Kubernetes (image, flags with one --load-model per
// planned model, probes, /dev/shm, GPU affinity, Service, disruption budget, network policy, the
// post-deploy gate) as plain typed data, derived from the plan and the profile by pure functions.
// stacks/ only maps it onto provider classes, so leaving cdktf means rewriting that mapping, not this.
import { UserError } from "../errors.ts";
import { K8S_NAME_PATTERN, OBJECT_STORE_URL_PATTERN, type LoadedProfile, type RepositorySource } from "../spec/profile.ts";
import type { Plan } from "./plan.ts";
import { verifyStep, type VerifyStep } from "./post-deploy.ts";
import { pythonBackendArgs, shmSizing, type ShmSizing } from "./shm.ts";
import { startupBudget } from "./startup.ts";

export const DEFAULT_TRITON_IMAGE = "nvcr.io/nvidia/tritonserver:24.08-py3";
/** GPU Feature Discovery's label: the card's memory in MiB. */
export const GPU_MEMORY_LABEL = "nvidia.com/gpu.memory";
export const GPU_RESOURCE = "nvidia.com/gpu";
/** The triton-server user NGC's tritonserver images create (uid and gid 1000). */
export const TRITON_UID = 1000;
export const TRITON_PORTS = { http: 8000, grpc: 8001, metrics: 8002 } as const;
const REPOSITORY_MOUNT = "/models";

export interface SecretKeyRef {
  name: string;
  key: string;
}

export interface RestrictedApi {
  /** Header a caller of the model-repository API (load, unload, index) must send. */
  header: string;
  /** Secret key holding the header's value; only the reference is ever written down. */
  secret: SecretKeyRef;
}

export const DEFAULT_RESTRICTED_API: RestrictedApi = { header: "triton-repository-key", secret: { name: "triton-repository-api", key: "key" } };
/** Environment variable carrying the restricted-API value inside the pod (expanded by the kubelet). */
export const RESTRICTED_VALUE_ENV = "TRITON_REPOSITORY_API_KEY";

export interface DeploymentOptions {
  /** Triton image. @default profile deployment.image, else DEFAULT_TRITON_IMAGE */
  image?: string;
  /** Where Triton reads the repository. @default profile deployment.repository */
  repository?: RepositorySource;
  /** Namespace of every object. @default profile deployment.namespace */
  namespace?: string;
  /** Name of the Deployment and Service. @default "triton" */
  name?: string;
  /** Model-repository API restriction. @default DEFAULT_RESTRICTED_API */
  restrictedApi?: RestrictedApi;
  /** Host on which a NodePort is reachable from where `cdktf deploy` runs. @default "localhost" */
  nodeHost?: string;
  /** NodePorts for 8000/8001/8002 when the service is a NodePort. @default 30800, 30801, 30802 */
  nodePorts?: { http: number; grpc: number; metrics: number };
  /** Repository root, relative to the directory terraform runs the post-deploy step in. @default "." */
  projectDir?: string;
}

export interface EnvVar {
  name: string;
  value?: string;
  secretKeyRef?: SecretKeyRef;
}
export interface HttpProbe {
  path: string;
  port: number;
  periodSeconds: number;
  timeoutSeconds: number;
  failureThreshold: number;
}
export type Volume =
  | { name: string; kind: "hostPath"; path: string }
  | { name: string; kind: "memory"; sizeMiB: number }
  | { name: string; kind: "secret"; secretName: string };
export interface ServicePort {
  name: string;
  port: number;
  nodePort?: number;
}

export interface TritonDeployment {
  name: string;
  namespace: string;
  /** Pod labels; the Service, PDB and NetworkPolicy select on exactly these. */
  labels: Record<string, string>;
  replicas: number;
  /** Recreate when one GPU per node leaves no room for a surge pod. */
  strategy: { type: "Recreate" } | { type: "RollingUpdate"; maxSurge: number; maxUnavailable: number };
  image: string;
  args: string[];
  env: EnvVar[];
  /** Secrets whose keys become environment variables (object-store credentials). */
  envFromSecrets: string[];
  ports: { name: string; containerPort: number }[];
  probes: { liveness: HttpProbe; readiness: HttpProbe; startup: HttpProbe };
  volumes: Volume[];
  mounts: { volume: string; mountPath: string; readOnly: boolean }[];
  resources: { requests: Record<string, string>; limits: Record<string, string> };
  /** Pod lands only on a node whose label value is greater than `greaterThan` (i.e. >= the plan's VRAM). */
  nodeAffinity: { key: string; operator: "Gt"; greaterThan: number };
  /** Prefer one replica per node. */
  spreadAcrossNodes: boolean;
  runtimeClassName?: string;
  security: { runAsUser: number; runAsGroup: number; fsGroup: number };
  shm: ShmSizing;
  service: { name: string; type: "NodePort" | "ClusterIP"; ports: ServicePort[] };
  /** HTTP URL of the service, as seen from where `cdktf deploy` runs (NodePort) or inside the cluster. */
  url: string;
  podDisruptionBudget?: { minAvailable: number };
  networkPolicy?: { clientLabels: Record<string, string>; metricsNamespace: string };
  verify: VerifyStep;
}

export function buildTritonDeployment(plan: Plan, profile: LoadedProfile, opts: DeploymentOptions = {}): TritonDeployment {
  const hints = profile.spec.deployment;
  const name = opts.name ?? "triton";
  const namespace = opts.namespace ?? hints.namespace;
  const image = opts.image ?? hints.image ?? DEFAULT_TRITON_IMAGE;
  const repository = opts.repository ?? hints.repository;
  const restricted = opts.restrictedApi ?? DEFAULT_RESTRICTED_API;
  checkOptions({ name, namespace, image, repository, restricted, plan });

  const shm = shmSizing(plan, hints.preprocess);
  const labels = { "app.kubernetes.io/name": "triton", "app.kubernetes.io/instance": name, "triton-deploy/profile": plan.profile.name };
  const repoVolume: Volume[] = repository.kind === "hostPath" ? [{ name: "model-repository", kind: "hostPath", path: repository.path }] : [];
  const volumes: Volume[] = [...repoVolume, { name: "dshm", kind: "memory", sizeMiB: shm.sizeMiB }];
  const mounts = [...(repoVolume.length ? [{ volume: "model-repository", mountPath: REPOSITORY_MOUNT, readOnly: true }] : []), { volume: "dshm", mountPath: "/dev/shm", readOnly: false }];
  const gcs = repository.kind === "objectStore" && repository.url.startsWith("gs://");
  if (gcs) {
    volumes.push({ name: "gcs-credentials", kind: "secret", secretName: repository.credentialsSecret });
    mounts.push({ volume: "gcs-credentials", mountPath: "/var/run/secrets/gcs", readOnly: true });
  }

  const nodePorts = opts.nodePorts ?? { http: 30800, grpc: 30801, metrics: 30802 };
  const servicePorts: ServicePort[] = (["http", "grpc", "metrics"] as const).map((p) => ({ name: p, port: TRITON_PORTS[p], ...(hints.service === "NodePort" ? { nodePort: nodePorts[p] } : {}) }));
  const url = hints.service === "NodePort" ? `http://${opts.nodeHost ?? "localhost"}:${nodePorts.http}` : `http://${name}.${namespace}.svc.cluster.local:${TRITON_PORTS.http}`;
  const memoryMiB = hints.resources.memoryMiB + shm.sizeMiB; // a memory-backed emptyDir is charged to the pod

  return {
    name,
    namespace,
    labels,
    replicas: hints.replicas,
    strategy: hints.replicas === 1 ? { type: "Recreate" } : { type: "RollingUpdate", maxSurge: 0, maxUnavailable: 1 },
    image,
    args: tritonArgs(plan, repository, restricted, shm),
    env: [
      { name: RESTRICTED_VALUE_ENV, secretKeyRef: restricted.secret },
      ...(gcs ? [{ name: "GOOGLE_APPLICATION_CREDENTIALS", value: "/var/run/secrets/gcs/credentials.json" }] : []),
    ],
    envFromSecrets: repository.kind === "objectStore" && !gcs ? [repository.credentialsSecret] : [],
    ports: (["http", "grpc", "metrics"] as const).map((p) => ({ name: p, containerPort: TRITON_PORTS[p] })),
    probes: {
      liveness: { path: "/v2/health/live", port: TRITON_PORTS.http, periodSeconds: 10, timeoutSeconds: 5, failureThreshold: 3 },
      readiness: { path: "/v2/health/ready", port: TRITON_PORTS.http, periodSeconds: 5, timeoutSeconds: 5, failureThreshold: 3 },
      // Loading is the slow part (src/plan/startup.ts says where the seconds go).
      startup: { path: "/v2/health/ready", port: TRITON_PORTS.http, periodSeconds: 10, timeoutSeconds: 5, failureThreshold: Math.ceil(startupBudget(plan, repository).seconds / 10) },
    },
    volumes,
    mounts,
    resources: {
      requests: { cpu: hints.resources.cpu, memory: `${memoryMiB}Mi`, [GPU_RESOURCE]: "1" },
      limits: { memory: `${memoryMiB}Mi`, [GPU_RESOURCE]: "1" },
    },
    nodeAffinity: { key: GPU_MEMORY_LABEL, operator: "Gt", greaterThan: plan.profile.gpu.nodeLabelMemoryMiB - 1 },
    spreadAcrossNodes: hints.replicas > 1,
    ...(hints.runtimeClassName ? { runtimeClassName: hints.runtimeClassName } : {}),
    security: { runAsUser: TRITON_UID, runAsGroup: TRITON_UID, fsGroup: TRITON_UID },
    shm,
    service: { name, type: hints.service, ports: servicePorts },
    url,
    ...(hints.replicas > 1 ? { podDisruptionBudget: { minAvailable: hints.replicas - 1 } } : {}),
    ...(hints.networkPolicy ? { networkPolicy: { clientLabels: hints.networkPolicy.clientLabels, metricsNamespace: hints.networkPolicy.metricsNamespace } } : {}),
    verify: verifyStep({ profile: plan.profile.name, url, service: hints.service, name, namespace, restricted, projectDir: opts.projectDir ?? "." }),
  };
}

/** tritonserver flags; the model list is exactly the plan's, in its order. */
export function tritonArgs(plan: Plan, repository: RepositorySource, restricted: RestrictedApi, shm: ShmSizing): string[] {
  // $(VAR) is expanded by the kubelet from the container's env, so the value exists only in the pod.
  const restriction = `model-repository:${restricted.header}=$(${RESTRICTED_VALUE_ENV})`;
  return [
    "tritonserver",
    `--model-repository=${repository.kind === "hostPath" ? REPOSITORY_MOUNT : repository.url}`,
    "--model-control-mode=explicit",
    ...plan.loadModels.map((m) => `--load-model=${m}`),
    "--strict-readiness=true",
    `--http-port=${TRITON_PORTS.http}`,
    `--grpc-port=${TRITON_PORTS.grpc}`,
    `--metrics-port=${TRITON_PORTS.metrics}`,
    "--allow-metrics=true",
    "--allow-gpu-metrics=true",
    `--http-restricted-api=${restriction}`,
    `--grpc-restricted-protocol=${restriction}`,
    ...pythonBackendArgs(shm),
  ];
}

function checkOptions(o: { name: string; namespace: string; image: string; repository: RepositorySource; restricted: RestrictedApi; plan: Plan }): void {
  const bad = (field: string, value: string, expected: string) => new UserError({ file: o.plan.profile.file, field, message: `${field} '${value}' is not ${expected}` }, 2);
  for (const [field, v] of [["name", o.name], ["namespace", o.namespace], ["restrictedApi.secret.name", o.restricted.secret.name]] as const) {
    if (!K8S_NAME_PATTERN.test(v)) throw bad(field, v, "a Kubernetes name (lower-case letters, digits and '-', at most 63 characters)");
  }
  if (!/^[a-z0-9-]+$/.test(o.restricted.header)) throw bad("restrictedApi.header", o.restricted.header, "a lower-case header name (letters, digits, '-'; gRPC metadata keys are lower-case)");
  if (!/^[^\s"'$`\\]+$/.test(o.image)) throw bad("image", o.image, "an image reference such as nvcr.io/nvidia/tritonserver:24.08-py3");
  if (o.repository.kind === "hostPath" && !o.repository.path.startsWith("/")) throw bad("repository.path", o.repository.path, "an absolute path on the node");
  if (o.repository.kind === "objectStore" && !OBJECT_STORE_URL_PATTERN.test(o.repository.url)) throw bad("repository.url", o.repository.url, "an s3://, gs:// or as:// URL");
  if (o.plan.loadModels.length === 0) throw new UserError({ file: o.plan.profile.file, message: "the plan loads no model", hint: "check the profile's checklist" }, 1);
}
