// GPU profiles (model-specs/profiles/<name>.yaml): the card, the VRAM kept back for the CUDA context
// and Triton itself, the checklist of branches (required, optional in priority order), overrides and
// the hints the deployment stacks need. Validated by one zod schema, so errors carry line:column.
import { readdir } from "node:fs/promises";
import { join, posix } from "node:path";
import { z } from "zod";
import { CUDNN_CONV_ALGO_SEARCHES, DEFAULT_ORT_SETTINGS, MEMORY_POLICIES } from "../config/ort-memory.ts";
import { UserError } from "../errors.ts";
import { MODEL_NAME_PATTERN } from "../names.ts";
import { displayPath } from "./catalog.ts";
import { loadYamlFile, parseYaml, type SourceMap } from "./yaml.ts";

const branchName = z.string().regex(MODEL_NAME_PATTERN, { message: "a branch name holds letters, digits, '_', '-' and '.'" });

/** Kubernetes object names (Secrets, namespaces): RFC 1123 labels. */
export const K8S_NAME_PATTERN = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const k8sName = z.string().regex(K8S_NAME_PATTERN, { message: "a Kubernetes name is lower-case letters, digits and '-', at most 63 characters" });

/** Object stores tritonserver reads a repository from directly. */
export const OBJECT_STORE_URL_PATTERN = /^(s3|gs|as):\/\/[^\s/][^\s]*$/;

export const RepositorySchema = z
  .discriminatedUnion("kind", [
    z.strictObject({
      kind: z.literal("hostPath"),
      path: z.string().refine((p) => posix.isAbsolute(p), { message: "a hostPath repository must be an absolute path on the node" })
        .meta({ description: "Directory on the GPU node holding the repository written by synth-repo." }),
    }),
    z.strictObject({
      kind: z.literal("objectStore"),
      url: z.string().regex(OBJECT_STORE_URL_PATTERN, { message: "expected s3://, gs:// or as:// followed by the bucket path" }),
      credentialsSecret: k8sName.meta({ description: "Secret in the namespace holding the store credentials (referenced, never copied)." }),
    }),
  ])
  .meta({ description: "Where Triton reads the model repository from." });
export type RepositorySource = z.infer<typeof RepositorySchema>;

/** CIDR blocks (IPv4 or IPv6) for a NetworkPolicy ipBlock. */
const cidr = z.string().regex(/^(\d{1,3}(\.\d{1,3}){3}\/\d{1,2}|[0-9a-fA-F:]+\/\d{1,3})$/, { message: "a CIDR block such as 192.168.1.0/24" });

export const RolloutSchema = z
  .strictObject({
    gpuWaitSeconds: z.number().int().positive().default(600)
      .meta({ description: "How long the deploy waits (npm run preflight -- --wait) for a node with allocatable nvidia.com/gpu and GPU Feature Discovery's labels." }),
    schedulingSeconds: z.number().int().nonnegative().default(120)
      .meta({ description: "Scheduling, sandbox and volume mounts once the GPU node is labelled (part of the progress deadline)." }),
    image: z
      .strictObject({
        downloadGiB: z.number().positive().default(10).meta({ description: "Compressed size of the Triton image (what the node downloads)." }),
        unpackedGiB: z.number().positive().default(20).meta({ description: "Size of the image once unpacked on the node." }),
        pullMiBps: z.number().positive().default(12.5).meta({ description: "Download rate assumed for the progress deadline, MiB/s (12.5 = 100 Mbit/s)." }),
      })
      .default({ downloadGiB: 10, unpackedGiB: 20, pullMiBps: 12.5 }),
    terraformTimeoutMinutes: z.number().int().min(1).default(30)
      .meta({ description: "Least time terraform waits for the Deployment (create/update); raised when the progress deadline needs more." }),
  })
  .default({ gpuWaitSeconds: 600, schedulingSeconds: 120, image: { downloadGiB: 10, unpackedGiB: 20, pullMiBps: 12.5 }, terraformTimeoutMinutes: 30 })
  .meta({ description: "What a rollout waits for: the progress deadline and terraform's timeouts are computed from these and the startup budget." });
export type Rollout = z.infer<typeof RolloutSchema>;

export const EngineCacheSchema = z
  .discriminatedUnion("kind", [
    z.strictObject({
      kind: z.literal("hostPath"),
      path: z.string().refine((p) => posix.isAbsolute(p), { message: "an absolute path on the node" })
        .meta({ description: "Directory on the node, owned by uid 1000 (Triton's user)." }),
    }),
    z.strictObject({
      kind: z.literal("persistentVolumeClaim"),
      sizeGiB: z.number().int().positive().default(20),
      accessMode: z.enum(["ReadWriteMany", "ReadWriteOnce"]).default("ReadWriteMany").meta({ description: "ReadWriteMany lets every replica share the cache; ReadWriteOnce only fits one replica (or one node)." }),
      storageClassName: k8sName.optional().meta({ description: "Storage class; default the cluster's default class." }),
    }),
  ])
  .meta({ description: "Persistent, writable volume for TensorRT engine caches; default: <repository parent>/trt-engines on the node for a hostPath repository, else a 20 GiB ReadWriteMany claim." });
export type EngineCache = z.infer<typeof EngineCacheSchema>;

export const DeploymentHintsSchema = z.strictObject({
  replicas: z.number().int().min(1).default(1).meta({ description: "Triton pods, one GPU each." }),
  service: z.enum(["NodePort", "ClusterIP"]).default("ClusterIP")
    .meta({ description: "ClusterIP (reach it with kubectl port-forward) is the safe default; NodePort opens 30800-30802 on every interface of every node." }),
  namespace: k8sName.default("triton"),
  repository: RepositorySchema,
  image: z.string().regex(/^[^\s]+$/).optional().meta({ description: "Triton image; default nvcr.io/nvidia/tritonserver:24.08-py3." }),
  runtimeClassName: k8sName.optional().meta({ description: "RuntimeClass of the NVIDIA container runtime (k3s: nvidia)." }),
  preprocess: z.enum(["python", "onnx"]).default("python").meta({ description: "How synth-repo wrote the preprocess steps; python needs /dev/shm." }),
  networkPolicy: z
    .strictObject({
      clientLabels: z.record(z.string(), z.string()).refine((r) => Object.keys(r).length > 0, { message: "name at least one label" })
        .meta({ description: "Pods (any namespace) carrying these labels may call HTTP 8000 and gRPC 8001." }),
      metricsNamespace: k8sName.default("monitoring").meta({ description: "Namespace whose pods may scrape metrics on 8002." }),
      allowedCidrs: z.array(cidr).default([]).meta({ description: "Addresses outside the cluster (a NodePort's clients) that may call 8000 and 8001." }),
    })
    .optional()
    .meta({ description: "When set, a NetworkPolicy admits only these clients; otherwise no policy is created." }),
  rollout: RolloutSchema,
  engineCache: EngineCacheSchema.optional(),
  monitoring: z
    .strictObject({
      enabled: z.boolean().default(false).meta({ description: "Create a ServiceMonitor/PodMonitor (needs the Prometheus Operator's CRDs; TRITON_MONITORING overrides)." }),
      kind: z.enum(["ServiceMonitor", "PodMonitor"]).default("ServiceMonitor"),
      labels: z.record(z.string(), z.string()).default({}).meta({ description: "Labels the Prometheus resource selects monitors by, e.g. release: kube-prometheus-stack." }),
      interval: z.string().regex(/^\d+[sm]$/).default("15s"),
    })
    .default({ enabled: false, kind: "ServiceMonitor", labels: {}, interval: "15s" }),
  autoscaling: z
    .strictObject({
      enabled: z.boolean().default(false),
      minReplicas: z.number().int().min(1).default(2),
      maxReplicas: z.number().int().min(1).default(4),
      metric: z.string().regex(/^[a-zA-Z_:][a-zA-Z0-9_:]*$/).default("triton_queue_avg_us")
        .meta({ description: "Per-pod custom metric (prometheus-adapter) derived from nv_inference_queue_duration_us; docs/deploy.md has the adapter rule." }),
      targetAverageValue: z.number().int().positive().default(50000).meta({ description: "Queue time per request, microseconds, each pod should stay under." }),
    })
    .refine((a) => a.maxReplicas >= a.minReplicas, { message: "maxReplicas must be at least minReplicas" })
    .default({ enabled: false, minReplicas: 2, maxReplicas: 4, metric: "triton_queue_avg_us", targetAverageValue: 50000 })
    .meta({ description: "Horizontal autoscaling on Triton's queue time; off by default." }),
  resources: z
    .strictObject({
      cpu: z.string().regex(/^\d+(\.\d+)?m?$/).default("2"),
      memoryMiB: z.number().int().positive().default(8192).meta({ description: "Container memory besides /dev/shm (which is added on top)." }),
    })
    .default({ cpu: "2", memoryMiB: 8192 }),
});
export type DeploymentHints = z.infer<typeof DeploymentHintsSchema>;

export const ProfileSchema = z
  .strictObject({
    $schema: z.string().optional(),
    name: z.string().regex(/^[a-z0-9][a-z0-9-]*$/).meta({ description: "Must equal the file name without .yaml." }),
    description: z.string().min(1),
    gpu: z.strictObject({
      product: z.string().min(1).meta({ description: "Marketing name, for people; GPU Feature Discovery's nvidia.com/gpu.product." }),
      vramMiB: z.number().int().positive().meta({ description: "Total VRAM of the card the plan is made for." }),
      reportedMiB: z.number().int().positive().optional().meta({
        description: "Total memory the card reports (NVML, GPU Feature Discovery's nvidia.com/gpu.memory), often below vramMiB (an RTX 2060 \"6 GB\" reports 5926). The plan shows its headroom on it too, and serve-local --gpu simulates a card of this size.",
      }),
      nodeLabelMemoryMiB: z.number().int().positive().optional().meta({
        description: "Smallest nvidia.com/gpu.memory label value (NVML's total, MiB, often below the nominal size) a node must carry; default what the plan needs: its models plus reserveMiB.",
      }),
      affinity: z.enum(["memory", "product"]).default("memory")
        .meta({ description: "memory: nodes whose nvidia.com/gpu.memory covers the plan; product: nodes whose nvidia.com/gpu.product equals gpu.product." }),
      minDriverMajor: z.number().int().positive().default(560)
        .meta({ description: "Least NVIDIA driver major on the node (nvidia.com/cuda.driver-version.major). Triton 24.08 is CUDA 12.6: GeForce cards need >= 560; data-centre cards may use forward compatibility." }),
    }),
    reserveMiB: z.number().int().nonnegative().meta({ description: "VRAM kept back for the CUDA context, cuDNN workspace and Triton itself." }),
    policy: z.enum(MEMORY_POLICIES).default(DEFAULT_ORT_SETTINGS.policy).meta({
      description:
        "serial: one model runs at a time and every ONNX Runtime arena shrinks after its run (memory.enable_memory_arena_shrinkage), so a set needs sum(resident) + max(peak). resident: no shrinkage (faster), arenas keep their peaks, so a set needs sum(resident + peak); for cards with room.",
    }),
    cudnnConvAlgoSearch: z.enum(CUDNN_CONV_ALGO_SEARCHES).default(DEFAULT_ORT_SETTINGS.cudnnConvAlgoSearch).meta({
      description: "cuDNN convolution algorithm search in every ONNX Runtime config: heuristic (fast, small workspace; 6 GB cards), exhaustive (ORT's default: benchmarks every algorithm at warm-up, larger workspace), default.",
    }),
    tensorrt: z.boolean().default(DEFAULT_ORT_SETTINGS.tensorrt).meta({
      description:
        "Run the specs' TensorRT accelerators (the branches' accelerator blocks). Each engine's execution-context memory (counted at its workspaceMiB) is held while the model is loaded, so it adds to the resident sum; the first start builds every engine (minutes each). Off (the default, and on 6 GB cards): ONNX Runtime's CUDA provider runs every branch.",
    }),
    checklist: z.strictObject({
      required: z.array(branchName).min(1).meta({ description: "Branches that must load; the plan fails if they do not fit." }),
      optional: z.array(branchName).default([]).meta({ description: "Branches admitted in this order while the set fits." }),
    }),
    overrides: z
      .strictObject({
        include: z.array(branchName).default([]).meta({ description: "Branches forced in (ahead of the priority order); the plan fails if one does not fit." }),
        exclude: z.array(branchName).default([]).meta({ description: "Optional branches never loaded." }),
      })
      .default({ include: [], exclude: [] }),
    deployment: DeploymentHintsSchema,
  })
  .superRefine((p, ctx) => {
    if (p.gpu.reportedMiB !== undefined && p.gpu.reportedMiB > p.gpu.vramMiB) {
      ctx.addIssue({ code: "custom", path: ["gpu", "reportedMiB"], message: `reportedMiB ${p.gpu.reportedMiB} is above gpu.vramMiB ${p.gpu.vramMiB}: a card reports at most its nominal size`, input: p.gpu.reportedMiB });
    }
    if (p.reserveMiB >= p.gpu.vramMiB) {
      ctx.addIssue({ code: "custom", path: ["reserveMiB"], message: `reserveMiB ${p.reserveMiB} must be below gpu.vramMiB ${p.gpu.vramMiB}: nothing would be left for models`, input: p.reserveMiB });
    }
    const seen = new Map<string, string>();
    const lists = [["checklist", "required"], ["checklist", "optional"]] as const;
    for (const [a, b] of lists) {
      p[a][b].forEach((name, i) => {
        const prior = seen.get(name);
        if (prior) ctx.addIssue({ code: "custom", path: [a, b, i], message: `branch '${name}' is listed twice (also in ${prior})` });
        else seen.set(name, `${a}.${b}`);
      });
    }
    p.overrides.include.forEach((name, i) => {
      if (p.overrides.exclude.includes(name)) ctx.addIssue({ code: "custom", path: ["overrides", "include", i], message: `branch '${name}' is both included and excluded` });
    });
  });
export type Profile = z.infer<typeof ProfileSchema>;

/** A validated profile with the file it came from, so later checks can point at its lines. */
export interface LoadedProfile {
  spec: Profile;
  file: string;
  source?: SourceMap;
}

export function profilesDir(specsDir: string): string {
  return join(specsDir, "profiles");
}

/** Names of the profiles in a spec directory, sorted. */
export async function listProfiles(specsDir: string): Promise<string[]> {
  try {
    return (await readdir(profilesDir(specsDir))).filter((n) => n.endsWith(".yaml")).map((n) => n.slice(0, -5)).sort();
  } catch {
    return [];
  }
}

export async function loadProfile(specsDir: string, name: string): Promise<LoadedProfile> {
  const known = await listProfiles(specsDir);
  if (!known.includes(name)) {
    throw new UserError({
      file: displayPath(profilesDir(specsDir)),
      message: `unknown profile '${name}'`,
      hint: known.length > 0 ? `use one of: ${known.join(", ")}` : `add ${displayPath(profilesDir(specsDir))}/${name}.yaml`,
    });
  }
  const file = join(profilesDir(specsDir), `${name}.yaml`);
  const { value, source } = await loadYamlFile(file, ProfileSchema, displayPath(file));
  return checkName({ spec: value, file: source.file, source }, name);
}

/** Parses profile YAML held in memory (tests, generated profiles). */
export function parseProfile(text: string, file: string): LoadedProfile {
  const { value, source } = parseYaml(text, file, ProfileSchema);
  return { spec: value, file, source };
}

function checkName(p: LoadedProfile, expected: string): LoadedProfile {
  if (p.spec.name === expected) return p;
  const problem = p.source?.problem(["name"], `name '${p.spec.name}' differs from the file name '${expected}'`, `set name: ${expected}`) ?? { file: p.file, message: `name '${p.spec.name}' differs from '${expected}'` };
  throw new UserError(problem);
}
