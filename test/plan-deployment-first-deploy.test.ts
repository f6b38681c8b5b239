// What a first `cdktf deploy` on a real k3s + RTX 2060 box needs from the deployment model (issue 11):
// deadlines that outlast an image pull and loading, a wait for GPU labels, driver and memory
// affinity that real cards satisfy, a parent-mounted repository with a manifest annotation, an engine
// cache that survives restarts, kubectl that follows the providers' kubeconfig, a safe exposure, and
// gpu-prod's immutable repository, monitoring and autoscaling. Pure functions, no cdktf.
import { spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { createServer as createNetServer, type AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { UserError } from "../src/errors.ts";
import { buildTritonDeployment, DEFAULT_RESTRICTED_API, GRPC_RESTRICTED_PREFIX, MANIFEST_UNKNOWN, REPOSITORY_PARENT_MOUNT, type DeploymentOptions } from "../src/plan/deployment.ts";
import { ENGINE_CACHE_MOUNT } from "../src/plan/engine-cache.ts";
import { loadPlan } from "../src/plan/load.ts";
import { PORT_FORWARD_WAIT_SECONDS, verifyStep } from "../src/plan/post-deploy.ts";
import { formatDuration } from "../src/plan/rollout.ts";
import { startupBudget } from "../src/plan/startup.ts";
import { profileVariant } from "./support/profile-variant.ts";

const local = await loadPlan({ profile: "gpu-local" });
const prod = await loadPlan({ profile: "gpu-prod" });
const build = (p: { plan: typeof local.plan; profile: typeof local.profile }, opts: DeploymentOptions = {}) => buildTritonDeployment(p.plan, p.profile, opts);
const localModel = build(local);
const prodModel = build(prod);
const SHA = "3f7a9c0d1e2b4a5968778695a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5";

function thrown(f: () => unknown): UserError {
  try { f(); } catch (e) { if (e instanceof UserError) return e; throw e; }
  throw new Error("expected a UserError");
}

describe("1. deadlines: Kubernetes decides before terraform gives up", () => {
  it("the progress deadline is scheduling + image download + unpack + every part of the startup budget, >= 1500 s on gpu-local", () => {
    const r = localModel.rollout;
    expect(r.progressDeadlineSeconds).toBe(r.parts.reduce((s, p) => s + p.seconds, 0));
    // src/plan/startup.ts is consumed whole: whatever parts it grows (warmup, engine builds) count here.
    expect(r.parts).toEqual(expect.arrayContaining(startupBudget(local.plan, local.profile.spec.deployment.repository).parts));
    expect(r.parts.map((p) => p.what)).toEqual(expect.arrayContaining([expect.stringMatching(/^schedule/), "download the image (10 GiB at 12.5 MiB/s)", "unpack the image (20 GiB at 100 MiB/s)"]));
    expect(r.progressDeadlineSeconds).toBeGreaterThanOrEqual(1500);
  });

  it("the startup probe covers the startup budget", () => {
    const p = localModel.probes.startup;
    expect(p.periodSeconds * p.failureThreshold).toBeGreaterThanOrEqual(localModel.rollout.startup.seconds);
  });

  it("terraform waits at least the profile's 30 minutes and longer than the deadline; an update of 2 replicas one at a time waits for both", () => {
    const minutes = (s: string) => Number(s.replace(/m$/, ""));
    for (const m of [localModel, prodModel]) {
      expect(minutes(m.timeouts.create)).toBeGreaterThanOrEqual(30);
      expect(minutes(m.timeouts.create) * 60).toBeGreaterThan(m.rollout.progressDeadlineSeconds);
    }
    expect(localModel.timeouts).toEqual({ create: "36m", update: "36m" }); // 1805 s -> 31 min + 5 min margin
    expect(minutes(prodModel.timeouts.update) * 60).toBeGreaterThan(2 * prodModel.rollout.progressDeadlineSeconds);
  });

  it("follows the profile: a slower link and a longer minimum", async () => {
    const slow = build(await profileVariant("gpu-local", [[["deployment", "rollout", "image", "pullMiBps"], 5], [["deployment", "rollout", "terraformTimeoutMinutes"], 90]]));
    expect(slow.rollout.progressDeadlineSeconds - localModel.rollout.progressDeadlineSeconds).toBe(Math.ceil(10240 / 5) - Math.ceil(10240 / 12.5));
    expect(slow.timeouts).toEqual({ create: "90m", update: "90m" });
  });
});

describe("2. the deploy waits for a labelled GPU node", () => {
  it("runs npm run preflight -- --wait with the profile's wait, checking the cluster side only", () => {
    expect(localModel.gpuWait!.command).toBe("set -eo pipefail\nnpm run preflight -- --profile gpu-local --wait 600 --no-repository --namespace triton --secret triton-repository-api --image nvcr.io/nvidia/tritonserver:24.08-py3");
    expect(spawnSync("bash", ["-n", "-c", localModel.gpuWait!.command]).status).toBe(0);
    expect(build(local, { gpuWait: false }).gpuWait).toBeUndefined();
  });

  it("plans as the stack did: specs, measured figures and Secret name travel along", () => {
    const m = build(local, { specsDir: "my specs", measuredFile: "bench/vram.json", restrictedApi: { header: "x-key", secret: { name: "api-key", key: "key" } } });
    expect(m.gpuWait!.command).toContain("--specs 'my specs' --measured bench/vram.json --wait 600");
    expect(m.gpuWait!.command).toContain("--secret api-key");
  });
});

describe("3 and 4. node affinity real cards satisfy", () => {
  it("the driver floor comes from the profile (Gt required - 1)", async () => {
    const m = build(await profileVariant("gpu-local", [[["gpu", "minDriverMajor"], 570]]));
    expect(m.nodeAffinity).toContainEqual({ key: "nvidia.com/cuda.driver-version.major", operator: "Gt", values: ["569"] });
  });

  it("gpu.affinity: product matches GFD's product name instead of the memory floor", async () => {
    const m = build(await profileVariant("gpu-local", [[["gpu", "affinity"], "product"]]));
    expect(m.nodeAffinity).toEqual([
      { key: "nvidia.com/gpu.product", operator: "In", values: ["NVIDIA-GeForce-RTX-2060"] },
      { key: "nvidia.com/cuda.driver-version.major", operator: "Gt", values: ["559"] },
    ]);
    expect(m.gpu.minMemoryMiB).toBe(5604); // still what preflight checks
  });

  it("a pinned floor below what the plan needs is refused at its line (exit 2)", async () => {
    const v = await profileVariant("gpu-local", [[["gpu", "nodeLabelMemoryMiB"], 5000]]);
    const e = thrown(() => build(v));
    expect(e.exitCode).toBe(2);
    expect(e.message).toMatch(/gpu-local\.yaml:\d+:\d+ gpu\.nodeLabelMemoryMiB: gpu\.nodeLabelMemoryMiB 5000 is below what the plan needs: models 4580 \+ reserve 1024 = 5604 MiB/);
  });
});

describe("5. the repository: parent mounted, manifest hash on the pod", () => {
  it("mounts the parent read-only and points --model-repository inside it", () => {
    expect(localModel.volumes).toContainEqual({ name: "repository-parent", kind: "hostPath", path: "/var/lib/triton-deploy" });
    expect(localModel.mounts).toContainEqual({ volume: "repository-parent", mountPath: REPOSITORY_PARENT_MOUNT, readOnly: true });
    expect(localModel.modelRepository).toBe(`${REPOSITORY_PARENT_MOUNT}/models`);
    expect(localModel.args).toContain(`--model-repository=${REPOSITORY_PARENT_MOUNT}/models`);
    expect(build(local, { repository: { kind: "hostPath", path: "/srv/triton/repo" } }).volumes).toContainEqual({ name: "repository-parent", kind: "hostPath", path: "/srv/triton" });
  });

  it("refuses a repository right under / (its parent would be the node's root)", () => {
    const e = thrown(() => build(local, { repository: { kind: "hostPath", path: "/models" } }));
    expect(e.message).toContain("repository.path '/models' is not a folder inside a parent folder of its own");
  });

  it("annotates the pod template with the manifest's sha256, or says it could not", () => {
    expect(build(local, { manifestSha256: SHA }).podAnnotations["triton-deploy/repository-manifest"]).toBe(`sha256:${SHA}`);
    expect(build(local, { manifestSha256: SHA }).warnings).toEqual([]);
    expect(localModel.podAnnotations["triton-deploy/repository-manifest"]).toBe(MANIFEST_UNKNOWN);
    expect(localModel.warnings).toEqual([expect.stringContaining("no manifest.json in /var/lib/triton-deploy/models on this machine")]);
  });

  it("keeps TensorRT engines on the node beside the repository, writable, at the engine-cache mount", () => {
    expect(localModel.volumes).toContainEqual({ name: "engine-cache", kind: "hostPath", path: "/var/lib/triton-deploy/trt-engines" });
    expect(localModel.mounts).toContainEqual({ volume: "engine-cache", mountPath: ENGINE_CACHE_MOUNT, readOnly: false });
    expect(localModel.persistentVolumeClaim).toBeUndefined();
  });
});

describe("6. kubectl in the deploy steps uses the providers' kubeconfig and context", () => {
  const kube = { configPath: "/etc/rancher/k3s/k3s.yaml", context: "k3s default" };
  const m = build(local, { kube });

  it("passes --kubeconfig and --context to every kubectl and to preflight", () => {
    expect(m.verify.command).toContain("kubectl --kubeconfig /etc/rancher/k3s/k3s.yaml --context 'k3s default' --namespace triton get secret triton-repository-api");
    expect(m.verify.command).toContain("kubectl --kubeconfig /etc/rancher/k3s/k3s.yaml --context 'k3s default' --namespace triton port-forward service/triton 18000:8000");
    expect(m.gpuWait!.command).toMatch(/--kubeconfig \/etc\/rancher\/k3s\/k3s\.yaml --context 'k3s default'$/);
    expect(m.portForward).toBe("kubectl --kubeconfig /etc/rancher/k3s/k3s.yaml --context 'k3s default' --namespace triton port-forward service/triton 8000:8000 8001:8001 8002:8002");
    for (const c of [m.verify.command, m.gpuWait!.command]) expect(spawnSync("bash", ["-n", "-c", c]).status).toBe(0);
  });

  // The gate run for real under bash, with kubectl and npm replaced by scripts that record their
  // arguments: what reaches kubectl is what a user's cluster would see. The fake port-forward serves
  // /v2/health/live on the local port it is given (an ephemeral one), as the real tunnel would.
  const tmp = mkdtempSync(join(tmpdir(), "deploy-step-"));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));
  const log = join(tmp, "calls.log");
  writeFileSync(join(tmp, "forward.mjs"), [
    'import { appendFileSync } from "node:fs";',
    'import { createServer } from "node:http";',
    "const port = Number(process.argv.find((a) => /^\\d+:8000$/.test(a)).split(\":\")[0]);",
    "const mode = process.env.FAKE_FORWARD ?? \"serve\";",
    'if (mode === "fail") { console.error(`error: unable to listen on port ${port}: address already in use`); process.exit(1); }',
    "const serve = () => createServer((req, res) => { res.statusCode = req.url === \"/v2/health/live\" ? 200 : 404; res.end(); })",
    `  .listen(port, "127.0.0.1", () => appendFileSync(${JSON.stringify(log)}, "tunnel up\\n"));`,
    'if (mode === "serve") setTimeout(serve, Number(process.env.FAKE_FORWARD_DELAY_MS ?? 0));',
    "setTimeout(() => process.exit(0), 20_000);",
  ].join("\n"));
  const fake = (name: string, body: string) => {
    writeFileSync(join(tmp, name), `#!/bin/bash\necho "${name} KUBECONFIG=$KUBECONFIG $*" >> ${log}\n${body}\n`);
    chmodSync(join(tmp, name), 0o755);
  };
  fake("kubectl", `case "$*" in *"get secret"*) printf 'czNjcjN0' ;; *port-forward*) exec ${process.execPath} ${join(tmp, "forward.mjs")} "$@" ;; esac`);
  fake("npm", `echo "npm sees TRITON_RESTRICTED_VALUE=$TRITON_RESTRICTED_VALUE" >> ${log}`);
  symlinkSync(process.execPath, join(tmp, "node"));
  function runStep(command: string, env: Record<string, string>): { status: number | null; stderr: string; calls: string[]; seconds: number } {
    writeFileSync(log, "");
    const start = Date.now();
    const r = spawnSync("bash", ["-c", command], { env: { PATH: `${tmp}:/usr/bin:/bin`, ...env }, encoding: "utf8", timeout: 40_000 });
    return { status: r.status, stderr: r.stderr, calls: readFileSync(log, "utf8").trim().split("\n"), seconds: (Date.now() - start) / 1000 };
  }
  async function freePort(): Promise<number> {
    const srv = createNetServer();
    await new Promise<void>((ok) => srv.listen(0, "127.0.0.1", ok));
    const port = (srv.address() as AddressInfo).port;
    await new Promise((ok) => srv.close(ok));
    return port;
  }

  it("kubectl gets the flags; verify-ready gets the header value read from the Secret", async () => {
    const port = await freePort();
    const r = runStep(build(local, { kube, portForwardPort: port }).verify.command, {});
    expect(r.status, r.stderr).toBe(0);
    expect(r.calls[0]).toBe("kubectl KUBECONFIG= --kubeconfig /etc/rancher/k3s/k3s.yaml --context k3s default --namespace triton get secret triton-repository-api -o jsonpath={.data.key}");
    expect(r.calls).toContain(`kubectl KUBECONFIG= --kubeconfig /etc/rancher/k3s/k3s.yaml --context k3s default --namespace triton port-forward service/triton ${port}:8000`);
    expect(r.calls).toContain("npm sees TRITON_RESTRICTED_VALUE=s3cr3t");
  });

  it("without an explicit kubeconfig, a user who exported only KUBE_CONFIG_PATH (the providers' variable) reaches the same cluster", async () => {
    const command = build(local, { portForwardPort: await freePort() }).verify.command;
    const r = runStep(command, { KUBE_CONFIG_PATH: "/etc/rancher/k3s/k3s.yaml" });
    expect(r.status, r.stderr).toBe(0);
    expect(r.calls[0]).toMatch(/^kubectl KUBECONFIG=\/etc\/rancher\/k3s\/k3s\.yaml --namespace triton get secret/);
    const own = runStep(command, { KUBE_CONFIG_PATH: "/etc/rancher/k3s/k3s.yaml", KUBECONFIG: "/home/u/.kube/config" });
    expect(own.calls[0]).toMatch(/^kubectl KUBECONFIG=\/home\/u\/\.kube\/config /);
  });

  it("runs the gate as soon as the tunnel answers /v2/health/live, not after a fixed wait", async () => {
    const r = runStep(build(local, { portForwardPort: await freePort() }).verify.command, { FAKE_FORWARD_DELAY_MS: "1500" });
    expect(r.status, r.stderr).toBe(0);
    // The tunnel came up 1.5 s late: the gate waited for it, then ran (the old fixed `sleep 3` ran it blind).
    expect(r.calls.slice(-3)).toEqual(["tunnel up", expect.stringMatching(/^npm KUBECONFIG= run verify-ready -- --url http:\/\/127\.0\.0\.1:\d+ --profile gpu-local$/), "npm sees TRITON_RESTRICTED_VALUE=s3cr3t"]);
  });

  it("fails at once, with kubectl's own words, when the port-forward exits (a taken port, a missing service)", async () => {
    const port = await freePort();
    const r = runStep(build(local, { portForwardPort: port }).verify.command, { FAKE_FORWARD: "fail" });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`verify-ready: kubectl port-forward service/triton ${port}:8000 exited: error: unable to listen on port ${port}: address already in use`);
    expect(r.calls.filter((c) => c.startsWith("npm"))).toEqual([]);
    expect(r.seconds).toBeLessThan(15);
  });

  it("fails with a clear message when the tunnel never answers within the wait", async () => {
    const port = await freePort();
    const step = verifyStep({ profile: "gpu-local", url: localModel.url, service: "ClusterIP", name: "triton", namespace: "triton", restricted: DEFAULT_RESTRICTED_API, projectDir: ".", kube: {}, localPort: port, tunnelWaitSeconds: 2 });
    const r = runStep(step.command, { FAKE_FORWARD: "silent" });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`verify-ready: http://127.0.0.1:${port}/v2/health/live did not answer 200 within 2 s through kubectl port-forward service/triton ${port}:8000`);
    expect(r.calls.filter((c) => c.startsWith("npm"))).toEqual([]);
  });

  it("the default wait is 30 s on port 18000", () => {
    expect(localModel.verify.command).toContain(`deadline=$((SECONDS + ${PORT_FORWARD_WAIT_SECONDS}))`);
    expect(PORT_FORWARD_WAIT_SECONDS).toBe(30);
    expect(localModel.verify.command).toContain("http://127.0.0.1:18000/v2/health/live");
    expect(localModel.verify.command).not.toMatch(/^sleep [2-9]/m);
  });
});

describe("7. exposure", () => {
  it("a NodePort on purpose warns until deployment.networkPolicy.allowedCidrs names its callers", async () => {
    const open = build(await profileVariant("gpu-local", [[["deployment", "service"], "NodePort"]]));
    expect(open.url).toBe("http://localhost:30800");
    expect(open.service.ports[0]).toEqual({ name: "http", port: 8000, nodePort: 30800 });
    expect(open.warnings).toContainEqual(expect.stringContaining("service NodePort opens 30800-30802 on every interface"));
    const fenced = build(await profileVariant("gpu-local", [[["deployment", "service"], "NodePort"], [["deployment", "networkPolicy", "allowedCidrs"], ["192.168.1.0/24"]]]));
    expect(fenced.networkPolicy!.allowedCidrs).toEqual(["192.168.1.0/24"]);
    expect(fenced.warnings.filter((w) => w.includes("NodePort"))).toEqual([]);
  });

  it("refuses an address that is not a CIDR block, at its line", async () => {
    const e = await profileVariant("gpu-local", [[["deployment", "networkPolicy", "allowedCidrs"], ["192.168.1.0"]]]).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(UserError);
    expect((e as UserError).message).toMatch(/deployment\.networkPolicy\.allowedCidrs\[0\]: a CIDR block such as 192\.168\.1\.0\/24/);
  });
});

describe("8. facts the docs and flags rest on", () => {
  it("a gRPC client sends the restricted-API header with Triton's prefix", () => {
    expect(localModel.restrictedApi.grpcMetadataKey).toBe(`${GRPC_RESTRICTED_PREFIX}triton-repository-key`);
    expect(GRPC_RESTRICTED_PREFIX).toBe("triton-grpc-protocol-");
  });

  it("the python backend's regions are set explicitly, well above its 1 MiB default and minimum (python_be.cc, r24.08)", () => {
    const bytes = (flag: string) => Number(localModel.args.find((a) => a.startsWith(`--backend-config=python,${flag}=`))!.split("=").at(-1));
    expect(bytes("shm-default-byte-size")).toBeGreaterThan(1024 * 1024);
    expect(bytes("shm-default-byte-size")).toBeGreaterThanOrEqual(2 * localModel.shm.largestStepMiB * 1024 * 1024);
    expect(bytes("shm-growth-byte-size")).toBeGreaterThan(1024 * 1024);
  });
});

describe("9. gpu-prod as an operator expects it", () => {
  it("reads an immutable prefix named by the manifest hash, never the bare URL, once the published copy is known", () => {
    const m = build(prod, { manifestSha256: SHA, mutableRepository: "refuse" });
    expect(m.modelRepository).toBe(`s3://triton-models/prod/${SHA.slice(0, 16)}`);
    expect(m.args).toContain(`--model-repository=s3://triton-models/prod/${SHA.slice(0, 16)}`);
    expect(m.podAnnotations["triton-deploy/repository-manifest"]).toBe(`sha256:${SHA}`);
    expect(m.warnings).toEqual([]);
  });

  it("refuses the mutable base URL when deploying (exit 2, saying what to set); the opt-out is a loud warning", () => {
    const e = thrown(() => build(prod, { mutableRepository: "refuse" }));
    expect(e.exitCode).toBe(2);
    expect(e.message).toMatch(/gpu-prod\.yaml.*deployment\.repository\.url: gpu-prod: Triton would read s3:\/\/triton-models\/prod in place/);
    expect(e.message).toContain("set TRITON_PROD_REPOSITORY_DIR to the local copy you uploaded");
    expect(e.message).toContain("TRITON_PROD_MUTABLE_REPOSITORY=true");
    const accepted = build(prod, { mutableRepository: "accept" });
    expect(accepted.modelRepository).toBe("s3://triton-models/prod");
    expect(accepted.warnings).toContainEqual(expect.stringContaining("Triton reads s3://triton-models/prod in place (TRITON_PROD_MUTABLE_REPOSITORY=true, unsafe)"));
    // Callers that deploy nothing (preflight) get the same facts as a warning.
    expect(prodModel.warnings).toContainEqual(expect.stringContaining("Triton reads s3://triton-models/prod as it is, not an immutable prefix"));
    // A hostPath repository is swapped in whole by synth-repo: nothing to refuse.
    expect(build(local, { mutableRepository: "refuse" }).modelRepository).toBe(`${REPOSITORY_PARENT_MOUNT}/models`);
  });

  it("needs both Secrets, with the keys tritonserver reads", () => {
    expect(prodModel.requiredSecrets.map((s) => [s.name, s.keys])).toEqual([
      ["triton-repository-api", ["key"]],
      ["triton-model-store", ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION"]],
    ]);
    expect(localModel.requiredSecrets.map((s) => s.name)).toEqual(["triton-repository-api"]);
  });

  it("caches engines on a ReadWriteMany claim, one writer per folder: pods one per node, each node in its own sub-folder", () => {
    expect(prodModel.persistentVolumeClaim).toEqual({ name: "triton-engine-cache", sizeGiB: 20, accessMode: "ReadWriteMany" });
    expect(prodModel.volumes).toContainEqual({ name: "engine-cache", kind: "claim", claimName: "triton-engine-cache" });
    // The configs (shared by every pod) name ENGINE_CACHE_MOUNT/...; the mount, not the config, differs per node.
    expect(prodModel.mounts).toContainEqual({ volume: "engine-cache", mountPath: ENGINE_CACHE_MOUNT, readOnly: false, subPathExpr: "$(NODE_NAME)" });
    expect(prodModel.env).toContainEqual({ name: "NODE_NAME", fieldPath: "spec.nodeName" });
    expect(prodModel.onePodPerNode).toBe(true);
    // One pod on gpu-local: the hostPath is its own, no sub-folder, no anti-affinity.
    expect(localModel.onePodPerNode).toBe(false);
    expect(localModel.mounts.find((x) => x.volume === "engine-cache")!.subPathExpr).toBeUndefined();
    expect(localModel.env.map((e) => e.name)).not.toContain("NODE_NAME");
  });

  it("a single replica keeps the shared claim whole (one writer; Recreate stops the old pod first)", async () => {
    const one = build(await profileVariant("gpu-prod", [[["deployment", "replicas"], 1]]));
    expect(one).toMatchObject({ replicas: 1, strategy: { type: "Recreate" }, onePodPerNode: false });
    expect(one.mounts).toContainEqual({ volume: "engine-cache", mountPath: ENGINE_CACHE_MOUNT, readOnly: false });
  });

  it("a hostPath engine cache under two replicas is per node already: pods one per node, no sub-folder", async () => {
    const m = build(await profileVariant("gpu-prod", [[["deployment", "engineCache"], { kind: "hostPath", path: "/var/lib/triton-deploy/trt-engines" }]]));
    expect(m.onePodPerNode).toBe(true);
    expect(m.mounts).toContainEqual({ volume: "engine-cache", mountPath: ENGINE_CACHE_MOUNT, readOnly: false });
    expect(m.persistentVolumeClaim).toBeUndefined();
  });

  it("a ReadWriteOnce claim under two replicas is a warning", async () => {
    const m = build(await profileVariant("gpu-prod", [[["deployment", "engineCache", "accessMode"], "ReadWriteOnce"]]));
    expect(m.warnings).toContainEqual(expect.stringContaining("engineCache ReadWriteOnce"));
  });

  it("monitoring and autoscaling are off by default, and on when asked", async () => {
    expect(prodModel.monitor).toBeUndefined();
    expect(prodModel.autoscaling).toBeUndefined();
    expect(build(prod, { monitoring: true }).monitor).toEqual({ kind: "ServiceMonitor", labels: { release: "kube-prometheus-stack" }, interval: "15s" });
    const scaled = build(await profileVariant("gpu-prod", [[["deployment", "autoscaling", "enabled"], true], [["deployment", "autoscaling", "maxReplicas"], 6]]));
    expect(scaled.autoscaling).toEqual({ minReplicas: 2, maxReplicas: 6, metric: "triton_queue_avg_us", targetAverageValue: 50000 });
    expect(scaled).toMatchObject({ replicas: 2, onePodPerNode: true, podDisruptionBudget: { minAvailable: 1 } });
    // An update may replace every pod the autoscaler added, one at a time.
    expect(Number(scaled.timeouts.update.slice(0, -1)) * 60).toBeGreaterThan(6 * scaled.rollout.progressDeadlineSeconds);
  });
});

describe("docs/deploy.md", () => {
  it("states the deadline and terraform's wait the code computes for gpu-local", () => {
    const docs = readFileSync("docs/deploy.md", "utf8");
    const r = localModel.rollout;
    expect(docs).toContain(`${formatDuration(r.progressDeadlineSeconds)} (${r.progressDeadlineSeconds} s);\nterraform waits ${r.timeoutMinutes.create} minutes`);
    for (const p of r.parts) expect(docs).toContain(`| ${formatDuration(p.seconds)} |`);
  });

  it("the prometheus-adapter rule names the autoscaler's metric and takes increase(), never delta(), of Triton's counters", async () => {
    const docs = readFileSync("docs/deploy.md", "utf8");
    const block = /```yaml\n(\s*rules:[\s\S]*?)```/.exec(docs)![1]!;
    const rule = (parseYaml(block.replace(/^ {2}/gm, "")) as { rules: { name: { as: string }; metricsQuery: string }[] }).rules[0]!;
    const scaled = build(await profileVariant("gpu-prod", [[["deployment", "autoscaling", "enabled"], true]]));
    expect(rule.name.as).toBe(scaled.autoscaling!.metric);
    // nv_inference_queue_duration_us and nv_inference_request_success are counters: delta() of a
    // counter goes negative when a pod restarts; increase() (like rate()) handles the reset.
    expect(rule.metricsQuery).not.toMatch(/\b(delta|idelta|deriv)\(/);
    for (const counter of ["nv_inference_queue_duration_us", "nv_inference_request_success"]) expect(rule.metricsQuery).toMatch(new RegExp(`(increase|rate)\\(${counter}\\{`));
  });
});

