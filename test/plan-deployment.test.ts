// The deployment model: what Triton needs on Kubernetes, derived from the plan and the profile by
// pure functions, so every flag, size and selector can be checked without cdktf.
import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { UserError } from "../src/errors.ts";
import { buildTritonDeployment, DEFAULT_TRITON_IMAGE, RESTRICTED_VALUE_ENV } from "../src/plan/deployment.ts";
import { loadPlan } from "../src/plan/load.ts";
import { shmSizing } from "../src/plan/shm.ts";

const local = await loadPlan({ profile: "gpu-local" });
const prod = await loadPlan({ profile: "gpu-prod" });
const localModel = buildTritonDeployment(local.plan, local.profile);
const prodModel = buildTritonDeployment(prod.plan, prod.profile);

function thrown(f: () => unknown): UserError {
  try { f(); } catch (e) { if (e instanceof UserError) return e; throw e; }
  throw new Error("expected a UserError");
}

describe("tritonserver flags", () => {
  it("load exactly the plan's models in explicit mode, with strict readiness", () => {
    const loads = localModel.args.filter((a) => a.startsWith("--load-model=")).map((a) => a.slice("--load-model=".length));
    expect(loads).toEqual(local.plan.loadModels);
    expect(localModel.args).toContain("--model-control-mode=explicit");
    expect(localModel.args).toContain("--strict-readiness=true");
    expect(localModel.args).toContain("--model-repository=/srv/triton-deploy/models");
    expect(prodModel.args).toContain("--model-repository=s3://triton-models/prod");
    expect(localModel.image).toBe(DEFAULT_TRITON_IMAGE);
  });

  it("load one model at a time under the serial policy, so warm-up peaks do not add up at start-up", () => {
    expect(local.plan.onnxRuntime.policy).toBe("serial");
    expect(localModel.args).toContain("--model-load-thread-count=1");
    expect(prodModel.args).toContain(`--model-load-thread-count=${prod.plan.onnxRuntime.modelLoadThreadCount}`);
  });

  it("run one GPU model at a time under the serial policy: rate limiting on, one copy of the gpu_serial resource every GPU instance holds", () => {
    // server src/command_line_parser.cc (v2.49.0): --rate-limit=execution_count|off (default off),
    // --rate-limit-resource=<name>:<count>[:<device>]; a global resource ignores the device.
    expect(localModel.args).toContain("--rate-limit=execution_count");
    expect(localModel.args).toContain("--rate-limit-resource=gpu_serial:1");
    expect(prod.plan.onnxRuntime.policy).toBe("serial");
    expect(prodModel.args).toContain("--rate-limit=execution_count");
  });

  it("restrict the model-repository API to a header whose value the kubelet fills in from a Secret", () => {
    expect(localModel.args).toContain(`--http-restricted-api=model-repository:triton-repository-key=$(${RESTRICTED_VALUE_ENV})`);
    expect(localModel.args).toContain(`--grpc-restricted-protocol=model-repository:triton-repository-key=$(${RESTRICTED_VALUE_ENV})`);
    expect(localModel.env).toContainEqual({ name: RESTRICTED_VALUE_ENV, secretKeyRef: { name: "triton-repository-api", key: "key" } });
    expect(localModel.env.every((e) => e.secretKeyRef || e.value !== undefined)).toBe(true);
  });
});

describe("/dev/shm for the Python steps", () => {
  it("counts one region per Python step of the plan and sizes the memory emptyDir with headroom", () => {
    const shm = localModel.shm;
    expect(shm.pythonSteps).toBe(9); // midas ×3, raft 256/384, clip_image_224, places365 ×3
    expect(shm.regionMiB).toBeGreaterThanOrEqual(2 * shm.largestStepMiB);
    expect(shm.sizeMiB).toBeGreaterThanOrEqual(shm.pythonSteps * (shm.regionMiB + shm.growthMiB));
    expect(shm.sizeMiB % 64).toBe(0);
    expect(localModel.volumes).toContainEqual({ name: "dshm", kind: "memory", sizeMiB: shm.sizeMiB });
    expect(localModel.mounts).toContainEqual({ volume: "dshm", mountPath: "/dev/shm", readOnly: false });
    expect(localModel.args).toContain(`--backend-config=python,shm-default-byte-size=${shm.regionMiB * 1024 * 1024}`);
    // The emptyDir lives in RAM and is charged to the pod: the memory request covers it.
    expect(localModel.resources.requests.memory).toBe(`${8192 + shm.sizeMiB}Mi`);
  });

  it("needs no regions when the steps are ONNX graphs", () => {
    const shm = shmSizing(local.plan, "onnx");
    expect(shm).toMatchObject({ pythonSteps: 0, sizeMiB: 64 });
  });

  it("grows with the plan: gpu-prod adds raft_512's step", () => {
    expect(prodModel.shm.pythonSteps).toBe(10);
    expect(prodModel.shm.regionMiB).toBeGreaterThanOrEqual(localModel.shm.regionMiB);
  });
});

describe("scheduling", () => {
  it("asks for one GPU on a node whose nvidia.com/gpu.memory covers the plan (models + reserve) and whose driver runs CUDA 12.6", () => {
    expect(localModel.resources.limits["nvidia.com/gpu"]).toBe("1");
    // gpu-local: 4580 MiB of models (no TensorRT) + 1024 reserve; a "6 GB" RTX 2060 reports 5926, so no nominal 6144.
    expect(local.plan.totals.needMiB + 1024).toBe(5604);
    expect(localModel.nodeAffinity).toEqual([
      { key: "nvidia.com/gpu.memory", operator: "Gt", values: ["5603"] },
      { key: "nvidia.com/cuda.driver-version.major", operator: "Gt", values: ["559"] },
    ]);
    // gpu-prod pins its floor (gpu.nodeLabelMemoryMiB 22000) above what its plan needs; its cards have forward compatibility.
    expect(prodModel.nodeAffinity).toEqual([
      { key: "nvidia.com/gpu.memory", operator: "Gt", values: ["21999"] },
      { key: "nvidia.com/cuda.driver-version.major", operator: "Gt", values: ["534"] },
    ]);
  });

  it("runs as the image's non-root user", () => {
    expect(localModel.security).toEqual({ runAsUser: 1000, runAsGroup: 1000, fsGroup: 1000 });
  });

  it("probes live and ready, with a startup budget of minutes for loading", () => {
    expect(localModel.probes.liveness.path).toBe("/v2/health/live");
    expect(localModel.probes.readiness.path).toBe("/v2/health/ready");
    const startupSeconds = localModel.probes.startup.periodSeconds * localModel.probes.startup.failureThreshold;
    expect(startupSeconds).toBeGreaterThanOrEqual(300);
    expect(prodModel.probes.startup.failureThreshold).toBeGreaterThan(localModel.probes.startup.failureThreshold);
  });

  it("one GPU, one replica: Recreate, no disruption budget; gpu-prod: 2 replicas one per node, a PDB and a NetworkPolicy", () => {
    expect(localModel).toMatchObject({ replicas: 1, strategy: { type: "Recreate" }, onePodPerNode: false });
    expect(localModel.podDisruptionBudget).toBeUndefined();
    expect(prodModel).toMatchObject({ replicas: 2, strategy: { type: "RollingUpdate", maxSurge: 0, maxUnavailable: 1 }, onePodPerNode: true, podDisruptionBudget: { minAvailable: 1 } });
    expect(prodModel.networkPolicy).toEqual({ clientLabels: { "triton-deploy/client": "true" }, metricsNamespace: "monitoring", allowedCidrs: [] });
    expect(prodModel.envFromSecrets).toEqual(["triton-model-store"]);
  });
});

describe("service and the post-deploy gate", () => {
  it("gpu-local keeps 8000/8001/8002 inside the cluster behind a NetworkPolicy, and tunnels for the gate", () => {
    expect(localModel.service).toEqual({ name: "triton", type: "ClusterIP", ports: [{ name: "http", port: 8000 }, { name: "grpc", port: 8001 }, { name: "metrics", port: 8002 }] });
    expect(localModel.networkPolicy).toEqual({ clientLabels: { "triton-deploy/client": "true" }, metricsNamespace: "monitoring", allowedCidrs: [] });
    expect(localModel.portForward).toBe("kubectl --namespace triton port-forward service/triton 8000:8000 8001:8001 8002:8002");
    expect(localModel.verify.command).toContain("port-forward service/triton 18000:8000");
    expect(localModel.verify.command).toContain("npm run verify-ready -- --url http://127.0.0.1:18000 --profile gpu-local");
    expect(localModel.verify.command).toMatch(/^set -eo pipefail/);
    expect(localModel.warnings.filter((w) => w.includes("NodePort"))).toEqual([]);
  });

  it("gpu-prod tunnels to its ClusterIP service for the gate", () => {
    expect(prodModel.url).toBe("http://triton.triton.svc.cluster.local:8000");
    expect(prodModel.verify.command).toContain("port-forward service/triton 18000:8000");
    expect(prodModel.verify.command).toContain("npm run verify-ready -- --url http://127.0.0.1:18000 --profile gpu-prod");
  });

  it("is valid bash", () => {
    for (const m of [localModel, prodModel]) expect(spawnSync("bash", ["-n", "-c", m.verify.command]).status).toBe(0);
  });

  it("holds no terraform template sequence and no secret value, only the Secret's name", () => {
    for (const m of [localModel, prodModel]) {
      expect(m.verify.command).not.toMatch(/[$%]\{/);
      expect(m.verify.command).toContain("get secret triton-repository-api");
      expect(Object.keys(m.verify.environment).sort()).toEqual(["TRITON_HTTP_URL", "TRITON_RESTRICTED_HEADER"]);
    }
  });
});

describe("bad options fail with the field, the value and what is expected (exit 2)", () => {
  it.each([
    [{ namespace: "Triton_NS" }, "namespace 'Triton_NS' is not a Kubernetes name"],
    [{ repository: { kind: "hostPath" as const, path: "triton/models" } }, "repository.path 'triton/models' is not an absolute path on the node"],
    [{ repository: { kind: "objectStore" as const, url: "http://bucket/x", credentialsSecret: "s" } }, "repository.url 'http://bucket/x' is not an s3://, gs:// or as:// URL"],
    [{ image: "tritonserver:24.08 --evil" }, "image 'tritonserver:24.08 --evil' is not an image reference"],
    [{ restrictedApi: { header: "X-Key", secret: { name: "s", key: "k" } } }, "restrictedApi.header 'X-Key' is not a lower-case header name"],
  ])("%j", (opts, message) => {
    const e = thrown(() => buildTritonDeployment(local.plan, local.profile, opts));
    expect(e.exitCode).toBe(2);
    expect(e.message).toContain(message);
  });
});
