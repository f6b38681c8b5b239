// The deployment model: everything Triton needs on Kubernetes (image, flags with one --load-model per
// planned model, probes, /dev/shm, GPU affinity, repository and engine-cache volumes, Service,
// exposure, disruption budget, network policy, monitoring, autoscaling, the rollout's deadlines and
// the deploy's own steps) as plain typed data, derived from the plan and the profile by pure
// functions. stacks/ only maps it onto provider classes, so leaving cdktf means rewriting that
// mapping, not this.
import { posix } from "node:path";
import { UserError } from "../errors.ts";
import { K8S_NAME_PATTERN, OBJECT_STORE_URL_PATTERN, type EngineCache, type LoadedProfile, type RepositorySource } from "../spec/profile.ts";
import { ENGINE_CACHE_MOUNT } from "./engine-cache.ts";
import { GPU_RESOURCE, gpuRequirements, nodeAffinity, type GpuRequirements, type NodeSelectorRequirement } from "./gpu-requirements.ts";
import type { Plan } from "./plan.ts";
import { kubeFlags, preflightStep, verifyStep, type DeployStep, type KubeAccess, type VerifyStep } from "./post-deploy.ts";
import { rolloutBudget, type RolloutBudget } from "./rollout.ts";
import { pythonBackendArgs, shmSizing, type ShmSizing } from "./shm.ts";

export const DEFAULT_TRITON_IMAGE = "nvcr.io/nvidia/tritonserver:24.08-py3";
/** The triton-server user NGC's tritonserver images create (uid and gid 1000). */
export const TRITON_UID = 1000;
export const TRITON_PORTS = { http: 8000, grpc: 8001, metrics: 8002 } as const;
/**
 * Where a hostPath repository's parent folder appears in the pod. synth-repo swaps a new tree in by
 * renaming inside the parent; a mount of the repository folder itself would keep showing the old
 * (deleted) tree, a mount of the parent resolves `<mount>/<name>` afresh on every lookup.
 */
export const REPOSITORY_PARENT_MOUNT = "/srv/triton-deploy";
/** Folder beside a hostPath repository that holds TensorRT engine caches by default. */
export const DEFAULT_ENGINE_CACHE_DIR = "trt-engines";
/** Pod-template annotations: a change rolls the pod. */
export const ANNOTATIONS = { manifest: "triton-deploy/repository-manifest", loadModels: "triton-deploy/load-models" } as const;
/** Annotation value when the repository's manifest.json could not be read at synth time. */
export const MANIFEST_UNKNOWN = "unknown-at-synth";

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
/**
 * Triton prefixes gRPC restricted-protocol metadata keys (server src/grpc/grpc_server.h, v2.49.0):
 * a gRPC client sends `triton-grpc-protocol-<header>`, an HTTP client sends `<header>`.
 */
export const GRPC_RESTRICTED_PREFIX = "triton-grpc-protocol-";

/** Keys tritonserver reads from an object store's credentials Secret, per scheme (docs/deploy.md). */
export const STORE_CREDENTIAL_KEYS = {
  s3: ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION"],
  gs: ["credentials.json"],
  as: ["AZURE_STORAGE_ACCOUNT", "AZURE_STORAGE_KEY"],
} as const satisfies Record<string, readonly string[]>;

export interface DeploymentOptions {
  /** Triton image. @default profile deployment.image, else DEFAULT_TRITON_IMAGE */
  image?: string;
  /** Where Triton reads the repository. @default profile deployment.repository */
  repository?: RepositorySource;
  /**
   * sha256 of the repository's manifest.json, read at synth time. It names the pod annotation (a new
   * synth-repo rolls the pod) and, for an object store, the immutable prefix Triton reads.
   * @default none: the annotation says so and a warning explains what that costs
   */
  manifestSha256?: string;
  /**
   * An object-store repository without `manifestSha256` would be read at its base URL, in place, where
   * a replica that starts during an upload reads a half-written tree. "refuse": a UserError (exit 2)
   * saying what to set (the stacks' default); "accept": the user opted out on purpose (unsafe), and a
   * warning says so.
   * @default a warning only (callers that deploy nothing, e.g. preflight)
   */
  mutableRepository?: "refuse" | "accept";
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
  /** Repository root, relative to the directory terraform runs the deploy steps in. @default "." */
  projectDir?: string;
  /** kubeconfig and context the providers use; kubectl in the deploy steps uses the same. @default none */
  kube?: KubeAccess;
  /** Local port the gate's `kubectl port-forward` listens on (ClusterIP services). @default PORT_FORWARD_LOCAL_PORT */
  portForwardPort?: number;
  /** Wait for a labelled GPU node (npm run preflight -- --wait) before creating the Deployment. @default true */
  gpuWait?: boolean;
  /** Create the ServiceMonitor/PodMonitor. @default profile deployment.monitoring.enabled */
  monitoring?: boolean;
  /** Passed to the preflight step so it plans as the stack did. @default none */
  specsDir?: string;
  measuredFile?: string;
}

export interface EnvVar {
  name: string;
  value?: string;
  secretKeyRef?: SecretKeyRef;
  /** A field of the pod (downward API), e.g. `spec.nodeName`. */
  fieldPath?: string;
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
  | { name: string; kind: "secret"; secretName: string }
  | { name: string; kind: "claim"; claimName: string };
export interface Mount {
  volume: string;
  mountPath: string;
  readOnly: boolean;
  /** A sub-folder of the volume named from the container's environment (`$(NODE_NAME)`). */
  subPathExpr?: string;
}
export interface ServicePort {
  name: string;
  port: number;
  nodePort?: number;
}
export interface ClaimSpec {
  name: string;
  sizeGiB: number;
  accessMode: "ReadWriteMany" | "ReadWriteOnce";
  storageClassName?: string;
}
/** A Secret the pod needs; the stacks check it exists at `terraform plan`. */
export interface RequiredSecret {
  name: string;
  purpose: string;
  /** Keys the pod reads from it. */
  keys: readonly string[];
  /** The command that creates it. */
  fix: string;
}

export interface TritonDeployment {
  name: string;
  namespace: string;
  /** Pod labels; the Service, PDB and NetworkPolicy select on exactly these. */
  labels: Record<string, string>;
  /** Pod-template annotations: the repository manifest's hash, so a new synth-repo rolls the pod. */
  podAnnotations: Record<string, string>;
  replicas: number;
  /** Recreate when one GPU per node leaves no room for a surge pod. */
  strategy: { type: "Recreate" } | { type: "RollingUpdate"; maxSurge: number; maxUnavailable: number };
  /** Deadlines: the Deployment's progressDeadlineSeconds is rollout.progressDeadlineSeconds. */
  rollout: RolloutBudget;
  /** terraform's create/update timeouts for the Deployment ("34m"). */
  timeouts: { create: string; update: string };
  image: string;
  args: string[];
  /** What --model-repository points at. */
  modelRepository: string;
  env: EnvVar[];
  /** Secrets whose keys become environment variables (object-store credentials). */
  envFromSecrets: string[];
  ports: { name: string; containerPort: number }[];
  probes: { liveness: HttpProbe; readiness: HttpProbe; startup: HttpProbe };
  volumes: Volume[];
  mounts: Mount[];
  /** A claim the stack creates (the engine cache on clusters). */
  persistentVolumeClaim?: ClaimSpec;
  resources: { requests: Record<string, string>; limits: Record<string, string> };
  gpu: GpuRequirements;
  /** Required node affinity: one term, every requirement ANDed. */
  nodeAffinity: NodeSelectorRequirement[];
  /**
   * Required pod anti-affinity on the node name, whenever more than one pod may run: no two pods
   * share a node's GPU, its hostPath engine cache or its sub-folder of a shared engine-cache claim.
   */
  onePodPerNode: boolean;
  runtimeClassName?: string;
  security: { runAsUser: number; runAsGroup: number; fsGroup: number };
  shm: ShmSizing;
  service: { name: string; type: "NodePort" | "ClusterIP"; ports: ServicePort[] };
  /** HTTP URL of the service, as seen from where `cdktf deploy` runs (NodePort) or inside the cluster. */
  url: string;
  /** How a person reaches a ClusterIP service from the workstation. */
  portForward: string;
  podDisruptionBudget?: { minAvailable: number };
  networkPolicy?: { clientLabels: Record<string, string>; metricsNamespace: string; allowedCidrs: string[] };
  monitor?: { kind: "ServiceMonitor" | "PodMonitor"; labels: Record<string, string>; interval: string };
  autoscaling?: { minReplicas: number; maxReplicas: number; metric: string; targetAverageValue: number };
  requiredSecrets: RequiredSecret[];
  restrictedApi: RestrictedApi & { grpcMetadataKey: string };
  /** Waits for a labelled GPU node before the Deployment is created. */
  gpuWait?: DeployStep;
  verify: VerifyStep;
  /** What the user should know at synth time (cdktf prints them). */
  warnings: string[];
}

export function buildTritonDeployment(plan: Plan, profile: LoadedProfile, opts: DeploymentOptions = {}): TritonDeployment {
  const hints = profile.spec.deployment;
  const name = opts.name ?? "triton";
  const namespace = opts.namespace ?? hints.namespace;
  const image = opts.image ?? hints.image ?? DEFAULT_TRITON_IMAGE;
  const repository = opts.repository ?? hints.repository;
  const restricted = opts.restrictedApi ?? DEFAULT_RESTRICTED_API;
  const kube = opts.kube ?? {};
  checkOptions({ name, namespace, image, repository, restricted, plan });
  const warnings: string[] = [];

  const scaling = hints.autoscaling.enabled ? hints.autoscaling : undefined;
  const replicas = scaling ? scaling.minReplicas : hints.replicas;
  const strategy: TritonDeployment["strategy"] = replicas === 1 && !scaling ? { type: "Recreate" } : { type: "RollingUpdate", maxSurge: 0, maxUnavailable: 1 };
  const rollout = rolloutBudget(plan, repository, hints.rollout, { replicas: scaling ? scaling.maxReplicas : replicas, podsPerWave: strategy.type === "Recreate" ? replicas : strategy.maxUnavailable });
  const gpu = gpuRequirements(plan, profile, replicas);

  const shm = shmSizing(plan, hints.preprocess);
  const labels = { "app.kubernetes.io/name": "triton", "app.kubernetes.io/instance": name, "triton-deploy/profile": plan.profile.name };
  const repo = repositoryLayout(repository, opts.manifestSha256, opts.mutableRepository, plan);
  warnings.push(...repo.warnings);
  // More than one pod at once (replicas, or what the autoscaler adds): one per node, see engineCacheLayout.
  const onePodPerNode = replicas > 1 || scaling !== undefined;
  const cache = engineCacheLayout(hints.engineCache, repository, name, onePodPerNode);
  warnings.push(...cache.warnings);
  const volumes: Volume[] = [...repo.volumes, ...cache.volumes, { name: "dshm", kind: "memory", sizeMiB: shm.sizeMiB }];
  const mounts = [...repo.mounts, ...cache.mounts, { volume: "dshm", mountPath: "/dev/shm", readOnly: false }];
  const gcs = repository.kind === "objectStore" && repository.url.startsWith("gs://");
  if (gcs) {
    volumes.push({ name: "gcs-credentials", kind: "secret", secretName: repository.credentialsSecret });
    mounts.push({ volume: "gcs-credentials", mountPath: "/var/run/secrets/gcs", readOnly: true });
  }

  const nodePort = hints.service === "NodePort";
  const nodePorts = opts.nodePorts ?? { http: 30800, grpc: 30801, metrics: 30802 };
  const servicePorts: ServicePort[] = (["http", "grpc", "metrics"] as const).map((p) => ({ name: p, port: TRITON_PORTS[p], ...(nodePort ? { nodePort: nodePorts[p] } : {}) }));
  const url = nodePort ? `http://${opts.nodeHost ?? "localhost"}:${nodePorts.http}` : `http://${name}.${namespace}.svc.cluster.local:${TRITON_PORTS.http}`;
  const policy = hints.networkPolicy;
  if (nodePort && !policy?.allowedCidrs.length) {
    warnings.push(`service NodePort opens ${nodePorts.http}-${nodePorts.metrics} on every interface of every node to anyone who can reach them${policy ? " (the NetworkPolicy admits only in-cluster clients, so outside callers may be refused)" : ", with no NetworkPolicy"}: list the callers in deployment.networkPolicy.allowedCidrs, or use service: ClusterIP and kubectl port-forward`);
  }
  const memoryMiB = hints.resources.memoryMiB + shm.sizeMiB; // a memory-backed emptyDir is charged to the pod
  const monitoring = opts.monitoring ?? hints.monitoring.enabled;
  const projectDir = opts.projectDir ?? ".";

  const requiredSecrets: RequiredSecret[] = [
    { name: restricted.secret.name, purpose: `the restricted-API header value, key ${restricted.secret.key}`, keys: [restricted.secret.key], fix: `kubectl -n ${namespace} create secret generic ${restricted.secret.name} --from-literal=${restricted.secret.key}="$(openssl rand -hex 24)"` },
    ...(repository.kind === "objectStore" ? [{ name: repository.credentialsSecret, purpose: `credentials for ${repository.url}`, keys: STORE_CREDENTIAL_KEYS[repository.url.slice(0, 2) as "s3" | "gs" | "as"], fix: `kubectl -n ${namespace} create secret generic ${repository.credentialsSecret} --from-literal=… (docs/deploy.md, gpu-prod)` }] : []),
  ];

  return {
    name,
    namespace,
    labels,
    podAnnotations: { [ANNOTATIONS.manifest]: opts.manifestSha256 ? `sha256:${opts.manifestSha256}` : MANIFEST_UNKNOWN, [ANNOTATIONS.loadModels]: String(plan.loadModels.length) },
    replicas,
    strategy,
    rollout,
    timeouts: { create: `${rollout.timeoutMinutes.create}m`, update: `${rollout.timeoutMinutes.update}m` },
    image,
    args: tritonArgs(plan, repo.modelRepository, restricted, shm),
    modelRepository: repo.modelRepository,
    env: [
      { name: RESTRICTED_VALUE_ENV, secretKeyRef: restricted.secret },
      ...(gcs ? [{ name: "GOOGLE_APPLICATION_CREDENTIALS", value: "/var/run/secrets/gcs/credentials.json" }] : []),
      ...(cache.env ?? []),
    ],
    envFromSecrets: repository.kind === "objectStore" && !gcs ? [repository.credentialsSecret] : [],
    ports: (["http", "grpc", "metrics"] as const).map((p) => ({ name: p, containerPort: TRITON_PORTS[p] })),
    probes: {
      liveness: { path: "/v2/health/live", port: TRITON_PORTS.http, periodSeconds: 10, timeoutSeconds: 5, failureThreshold: 3 },
      readiness: { path: "/v2/health/ready", port: TRITON_PORTS.http, periodSeconds: 5, timeoutSeconds: 5, failureThreshold: 3 },
      // Loading is the slow part (src/plan/startup.ts says where the seconds go).
      startup: { path: "/v2/health/ready", port: TRITON_PORTS.http, periodSeconds: 10, timeoutSeconds: 5, failureThreshold: Math.ceil(rollout.startup.seconds / 10) },
    },
    volumes,
    mounts,
    ...(cache.claim ? { persistentVolumeClaim: cache.claim } : {}),
    resources: {
      requests: { cpu: hints.resources.cpu, memory: `${memoryMiB}Mi`, [GPU_RESOURCE]: "1" },
      limits: { memory: `${memoryMiB}Mi`, [GPU_RESOURCE]: "1" },
    },
    gpu,
    nodeAffinity: nodeAffinity(gpu),
    onePodPerNode,
    ...(hints.runtimeClassName ? { runtimeClassName: hints.runtimeClassName } : {}),
    security: { runAsUser: TRITON_UID, runAsGroup: TRITON_UID, fsGroup: TRITON_UID },
    shm,
    service: { name, type: hints.service, ports: servicePorts },
    url,
    portForward: ["kubectl", ...kubeFlags(kube), "--namespace", namespace, "port-forward", `service/${name}`, ...servicePorts.map((p) => `${p.port}:${p.port}`)].join(" "),
    ...(replicas > 1 ? { podDisruptionBudget: { minAvailable: replicas - 1 } } : {}),
    ...(policy ? { networkPolicy: { clientLabels: policy.clientLabels, metricsNamespace: policy.metricsNamespace, allowedCidrs: policy.allowedCidrs } } : {}),
    ...(monitoring ? { monitor: { kind: hints.monitoring.kind, labels: hints.monitoring.labels, interval: hints.monitoring.interval } } : {}),
    ...(scaling ? { autoscaling: { minReplicas: scaling.minReplicas, maxReplicas: scaling.maxReplicas, metric: scaling.metric, targetAverageValue: scaling.targetAverageValue } } : {}),
    requiredSecrets,
    restrictedApi: { ...restricted, grpcMetadataKey: `${GRPC_RESTRICTED_PREFIX}${restricted.header}` },
    ...(opts.gpuWait ?? true
      ? { gpuWait: preflightStep({ profile: plan.profile.name, namespace, apiSecret: restricted.secret.name, image, waitSeconds: rollout.gpuWaitSeconds, projectDir, kube, ...(opts.specsDir ? { specsDir: opts.specsDir } : {}), ...(opts.measuredFile ? { measuredFile: opts.measuredFile } : {}) }) }
      : {}),
    verify: verifyStep({ profile: plan.profile.name, url, service: hints.service, name, namespace, restricted, projectDir, kube, ...(opts.portForwardPort ? { localPort: opts.portForwardPort } : {}) }),
    warnings,
  };
}

/** The immutable prefix an object-store repository is published under: the manifest's hash, shortened. */
export function repositoryVersion(manifestSha256: string): string {
  return manifestSha256.slice(0, 16);
}

interface Layout {
  volumes: Volume[];
  mounts: Mount[];
  env?: EnvVar[];
  warnings: string[];
}

/**
 * The base URL Triton would read in place: an object-store repository whose published manifest is not
 * known, so no immutable `<base>/<version>` prefix can be named. Undefined when the prefix is known
 * or the repository is a hostPath (synth-repo swaps that tree in whole).
 */
export function inPlaceRepository(repository: RepositorySource, manifestSha256: string | undefined): string | undefined {
  return repository.kind === "objectStore" && !manifestSha256 ? repository.url.replace(/\/+$/, "") : undefined;
}

function repositoryLayout(repository: RepositorySource, manifestSha256: string | undefined, mutable: DeploymentOptions["mutableRepository"], plan: Plan): Layout & { modelRepository: string } {
  if (repository.kind === "hostPath") {
    const parent = posix.dirname(repository.path);
    return {
      modelRepository: `${REPOSITORY_PARENT_MOUNT}/${posix.basename(repository.path)}`,
      volumes: [{ name: "repository-parent", kind: "hostPath", path: parent }],
      mounts: [{ volume: "repository-parent", mountPath: REPOSITORY_PARENT_MOUNT, readOnly: true }],
      warnings: manifestSha256
        ? []
        : [`no manifest.json in ${repository.path} on this machine: the pod annotation ${ANNOTATIONS.manifest} cannot follow the repository, so a later synth-repo alone will not restart Triton (synthesize on the GPU node, or kubectl rollout restart deployment/triton after synth-repo)`],
    };
  }
  const base = inPlaceRepository(repository, manifestSha256);
  if (base === undefined) return { modelRepository: `${repository.url.replace(/\/+$/, "")}/${repositoryVersion(manifestSha256!)}`, volumes: [], mounts: [], warnings: [] };
  const publish = `publish the repository to ${base}/<version> (a new prefix per synth-repo) and set TRITON_PROD_REPOSITORY_DIR to the local copy you uploaded (docs/deploy.md, gpu-prod)`;
  if (mutable === "refuse") {
    throw new UserError({ file: plan.profile.file, field: "deployment.repository.url", message: `${plan.profile.name}: Triton would read ${base} in place, so a replica that starts during an upload reads a half-written repository`, hint: `${publish}; or set TRITON_PROD_MUTABLE_REPOSITORY=true to accept that risk` }, 2);
  }
  const warning = mutable === "accept"
    ? `${plan.profile.name}: Triton reads ${base} in place (TRITON_PROD_MUTABLE_REPOSITORY=true, unsafe): a replica that starts during an upload reads a half-written repository; ${publish}`
    : `${plan.profile.name}: Triton reads ${base} as it is, not an immutable prefix; ${publish}, so replicas never read a half-written tree`;
  return { modelRepository: base, volumes: [], mounts: [], warnings: [warning] };
}

/** Environment variable naming the pod's node (downward API `spec.nodeName`), for the engine cache's sub-folder. */
export const NODE_NAME_ENV = "NODE_NAME";

/**
 * The TensorRT engine cache at ENGINE_CACHE_MOUNT. The model configs name their folders below that one
 * path, and every pod reads the same configs, so two pods writing one volume would build the same
 * engine files at once (two replicas on a first create, or the autoscaler adding pods to a cold
 * cache) and one could read the other's half-written engine. When more than one pod may run, each
 * node gets its own writer: pods are spread one per node (required anti-affinity), a hostPath is
 * per node anyway, and a shared claim is mounted at its sub-folder `$(NODE_NAME)` — the configs'
 * paths do not change. TensorRT engines are specific to the GPU, so a node's cache is the natural unit.
 */
function engineCacheLayout(configured: EngineCache | undefined, repository: RepositorySource, name: string, onePodPerNode: boolean): Layout & { claim?: ClaimSpec } {
  const cache: EngineCache = configured ?? (repository.kind === "hostPath"
    ? { kind: "hostPath", path: posix.join(posix.dirname(repository.path), DEFAULT_ENGINE_CACHE_DIR) }
    : { kind: "persistentVolumeClaim", sizeGiB: 20, accessMode: "ReadWriteMany" });
  const mount: Mount = { volume: "engine-cache", mountPath: ENGINE_CACHE_MOUNT, readOnly: false };
  if (cache.kind === "hostPath") return { volumes: [{ name: "engine-cache", kind: "hostPath", path: cache.path }], mounts: [mount], warnings: [] };
  const claim: ClaimSpec = { name: `${name}-engine-cache`, sizeGiB: cache.sizeGiB, accessMode: cache.accessMode, ...(cache.storageClassName ? { storageClassName: cache.storageClassName } : {}) };
  const warnings = cache.accessMode === "ReadWriteOnce" && onePodPerNode
    ? [`engineCache ReadWriteOnce: replicas on different nodes cannot all mount ${claim.name}; use ReadWriteMany or a hostPath per node`]
    : [];
  const volumes: Volume[] = [{ name: "engine-cache", kind: "claim", claimName: claim.name }];
  if (!onePodPerNode) return { volumes, mounts: [mount], claim, warnings };
  return {
    volumes,
    mounts: [{ ...mount, subPathExpr: `$(${NODE_NAME_ENV})` }],
    env: [{ name: NODE_NAME_ENV, fieldPath: "spec.nodeName" }],
    claim,
    warnings,
  };
}

/** tritonserver flags; the model list is exactly the plan's, in its order. */
export function tritonArgs(plan: Plan, modelRepository: string, restricted: RestrictedApi, shm: ShmSizing): string[] {
  // $(VAR) is expanded by the kubelet from the container's env, so the value exists only in the pod.
  const restriction = `model-repository:${restricted.header}=$(${RESTRICTED_VALUE_ENV})`;
  return [
    "tritonserver",
    `--model-repository=${modelRepository}`,
    "--model-control-mode=explicit",
    ...plan.loadModels.map((m) => `--load-model=${m}`),
    // Under the serial policy one load at a time: each load runs its warm-up, and Triton's default of
    // 4 parallel loads would add their peaks at start-up (src/plan/plan.ts planOrtSettings).
    `--model-load-thread-count=${plan.onnxRuntime.modelLoadThreadCount}`,
    // Under serial, Triton's rate limiter lets one GPU instance run at a time: every GPU ONNX Runtime
    // instance holds the one copy of the global gpu_serial resource (src/config/ort-memory.ts).
    ...(plan.onnxRuntime.rateLimiter?.args ?? []),
    // Triton's default (server src/command_line_parser.h); written out so the pod spec says it.
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
  // The parent folder is mounted into the pod: never the node's root.
  if (o.repository.kind === "hostPath" && posix.dirname(posix.normalize(o.repository.path)) === "/") throw bad("repository.path", o.repository.path, "a folder inside a parent folder of its own (its parent is mounted into the pod), e.g. /var/lib/triton-deploy/models");
  if (o.repository.kind === "objectStore" && !OBJECT_STORE_URL_PATTERN.test(o.repository.url)) throw bad("repository.url", o.repository.url, "an s3://, gs:// or as:// URL");
  if (o.plan.loadModels.length === 0) throw new UserError({ file: o.plan.profile.file, message: "the plan loads no model", hint: "check the profile's checklist" }, 1);
}
