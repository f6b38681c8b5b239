// Both stacks, synthesized as `cdktf synth` does and read back as Terraform JSON: gpu-local loads
// exactly its plan (never yolo11x_960 or raft_512), gpu-prod loads everything; GPU, /dev/shm, probes,
// affinity, the restricted API and the gate are in place; no secret value reaches any file.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { UserError } from "../src/errors.ts";
import { loadPlan } from "../src/plan/load.ts";
import { buildApp } from "../stacks/app.ts";

// What a user may have exported while deploying; none of it may end up in synthesized files.
const SECRETS = {
  TRITON_RESTRICTED_VALUE: "s3cr3t-header-value-7f1c2e9a",
  AWS_ACCESS_KEY_ID: "AKIAIOSFODNN7EXAMPLE",
  AWS_SECRET_ACCESS_KEY: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
};

const tmp: string[] = [];
function outdir(): string {
  const d = mkdtempSync(join(tmpdir(), "stacks-"));
  tmp.push(d);
  return d;
}
afterAll(() => { for (const d of tmp) rmSync(d, { recursive: true, force: true }); });

// Terraform JSON is read back untyped: the assertions are the schema.
type Json = Record<string, any>;
function files(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => (statSync(join(dir, n)).isDirectory() ? files(join(dir, n)) : [join(dir, n)]));
}
function stackJson(dir: string, stack: string): Json {
  return JSON.parse(readFileSync(join(dir, "stacks", stack, "cdk.tf.json"), "utf8"));
}
const only = (o: Json): Json => Object.values(o)[0];
const pod = (s: Json): Json => only(s.resource.kubernetes_deployment_v1).spec.template.spec;
const container = (s: Json): Json => pod(s).container[0];
const loadModels = (s: Json): string[] => container(s).args.filter((a: string) => a.startsWith("--load-model=")).map((a: string) => a.slice(13));

let dir: string;
let local: Json;
let prod: Json;
beforeAll(async () => {
  dir = outdir();
  const { app } = await buildApp({ outdir: dir, env: { ...SECRETS } });
  app.synth();
  local = stackJson(dir, "gpu-local");
  prod = stackJson(dir, "gpu-prod");
});

describe("gpu-local", () => {
  it("loads exactly the plan's models, and neither yolo11x_960 nor raft_512 nor their steps", async () => {
    const { plan } = await loadPlan({ profile: "gpu-local" });
    expect(loadModels(local)).toEqual(plan.loadModels);
    for (const m of ["yolo11x_960", "raft_512", "raft_512_onnx", "preprocess_raft_512"]) expect(loadModels(local)).not.toContain(m);
    expect(container(local).args).toEqual(expect.arrayContaining(["--model-control-mode=explicit", "--strict-readiness=true", "--model-repository=/models"]));
  });

  it("takes one GPU on a node labelled with at least 6144 MiB, with the NVIDIA runtime", () => {
    expect(container(local).resources.limits["nvidia.com/gpu"]).toBe("1");
    expect(pod(local).affinity.node_affinity.required_during_scheduling_ignored_during_execution.node_selector_term[0].match_expressions).toEqual([
      { key: "nvidia.com/gpu.memory", operator: "Gt", values: ["6143"] },
    ]);
    expect(pod(local).runtime_class_name).toBe("nvidia");
  });

  it("mounts the repository from the node read-only and a memory-backed /dev/shm", () => {
    expect(pod(local).volume).toEqual([
      { name: "model-repository", host_path: { path: "/var/lib/triton-deploy/models", type: "Directory" } },
      { name: "dshm", empty_dir: { medium: "Memory", size_limit: expect.stringMatching(/^\d+Mi$/) } },
    ]);
    expect(container(local).volume_mount).toContainEqual({ name: "dshm", mount_path: "/dev/shm", read_only: false });
  });

  it("probes /v2/health/live and /v2/health/ready, with a startup probe of minutes", () => {
    const c = container(local);
    expect(c.liveness_probe.http_get.path).toBe("/v2/health/live");
    expect(c.readiness_probe.http_get.path).toBe("/v2/health/ready");
    expect(c.startup_probe.period_seconds * c.startup_probe.failure_threshold).toBeGreaterThanOrEqual(300);
  });

  it("restricts the model-repository API with a header whose value comes from a Secret", () => {
    expect(container(local).args).toContain("--http-restricted-api=model-repository:triton-repository-key=$(TRITON_REPOSITORY_API_KEY)");
    expect(container(local).env).toEqual([{ name: "TRITON_REPOSITORY_API_KEY", value_from: { secret_key_ref: { name: "triton-repository-api", key: "key" } } }]);
  });

  it("runs as non-root without privilege escalation", () => {
    expect(pod(local).security_context).toMatchObject({ run_as_non_root: true, run_as_user: "1000" });
    expect(container(local).security_context).toMatchObject({ allow_privilege_escalation: false, capabilities: { drop: ["ALL"] } });
  });

  it("exposes 8000/8001/8002 on a NodePort, outputs the URL and gates the deploy on verify-ready", () => {
    const svc = only(local.resource.kubernetes_service_v1);
    expect(svc.spec.type).toBe("NodePort");
    expect(svc.spec.port.map((p: Json) => p.port)).toEqual([8000, 8001, 8002]);
    expect(svc.spec.selector).toEqual(only(local.resource.kubernetes_deployment_v1).spec.selector.match_labels);
    expect(Object.values(local.output as Json).map((o: Json) => o.value)).toContainEqual("http://localhost:30800");
    const gate = only(local.resource.terraform_data);
    expect(gate.depends_on).toEqual(expect.arrayContaining([expect.stringMatching(/^kubernetes_deployment_v1\./)]));
    expect(gate.provisioner[0]["local-exec"].command).toContain("npm run verify-ready -- --url http://localhost:30800 --profile gpu-local");
    // terraform runs the step in <outdir>/stacks/gpu-local; npm must find this project's package.json.
    expect(resolve(dir, "stacks", "gpu-local", gate.provisioner[0]["local-exec"].working_dir)).toBe(process.cwd());
  });

  it("installs the NVIDIA device plugin with GPU Feature Discovery through Helm", () => {
    const release = only(local.resource.helm_release);
    expect(release).toMatchObject({ chart: "nvidia-device-plugin", repository: "https://nvidia.github.io/k8s-device-plugin" });
    expect(release.set).toContainEqual({ name: "gfd.enabled", value: "true" });
    expect(only(local.resource.kubernetes_deployment_v1).depends_on).toEqual([expect.stringMatching(/^helm_release\./)]);
  });
});

describe("gpu-prod", () => {
  it("loads every model of the checklist from the object store, credentials by Secret reference", () => {
    expect(loadModels(prod)).toHaveLength(35);
    expect(loadModels(prod)).toEqual(expect.arrayContaining(["yolo11x_960", "raft_512", "preprocess_raft_512"]));
    expect(container(prod).args).toContain("--model-repository=s3://triton-models/prod");
    expect(container(prod).env_from).toEqual([{ secret_ref: { name: "triton-model-store" } }]);
  });

  it("runs 2 replicas behind a PodDisruptionBudget and a NetworkPolicy, without the Helm plugin", () => {
    expect(only(prod.resource.kubernetes_deployment_v1).spec.replicas).toBe("2");
    expect(only(prod.resource.kubernetes_pod_disruption_budget_v1).spec.min_available).toBe("1");
    const np = only(prod.resource.kubernetes_network_policy_v1).spec;
    expect(np.policy_types).toEqual(["Ingress"]);
    expect(np.ingress[0].ports.map((p: Json) => p.port)).toEqual(["8000", "8001"]);
    expect(prod.resource.helm_release).toBeUndefined();
  });
});

describe("secrets", () => {
  it("no synthesized file holds a secret value or anything shaped like one", () => {
    const all = files(dir);
    expect(all.length).toBeGreaterThanOrEqual(3);
    for (const f of all) {
      const text = readFileSync(f, "utf8");
      for (const v of Object.values(SECRETS)) expect(text, f).not.toContain(v);
      expect(text, f).not.toMatch(/AKIA[0-9A-Z]{16}|-----BEGIN [A-Z ]*PRIVATE KEY-----|"(password|token|api_key|secret_access_key)"\s*:/i);
    }
  });
});

describe("stack inputs", () => {
  it("image, repository path, Secret names and namespace come from the environment", async () => {
    const d = outdir();
    const env = { TRITON_IMAGE: "registry.local/tritonserver:24.08-py3-custom", TRITON_REPOSITORY_PATH: "/srv/triton", TRITON_API_SECRET: "my-api-key", TRITON_NAMESPACE: "inference", TRITON_DEVICE_PLUGIN: "false", TRITON_VERIFY: "false", TRITON_REPOSITORY_URL: "gs://models/prod", TRITON_STORE_SECRET: "gcs-key" };
    const { app } = await buildApp({ outdir: d, env });
    app.synth();
    const s = stackJson(d, "gpu-local");
    expect(container(s).image).toBe(env.TRITON_IMAGE);
    expect(pod(s).volume[0].host_path.path).toBe("/srv/triton");
    expect(container(s).env[0].value_from.secret_key_ref.name).toBe("my-api-key");
    expect(only(s.resource.kubernetes_deployment_v1).metadata.namespace).toBe("inference");
    expect(s.resource.helm_release).toBeUndefined();
    expect(s.resource.terraform_data).toBeUndefined();
    const p = stackJson(d, "gpu-prod");
    expect(container(p).args).toContain("--model-repository=gs://models/prod");
    expect(pod(p).volume).toContainEqual({ name: "gcs-credentials", secret: { secret_name: "gcs-key" } });
  });

  it("warns (not fails) when the hostPath repository is missing on this machine: it lives on the node", async () => {
    const { warnings } = await buildApp({ outdir: outdir(), env: { TRITON_REPOSITORY_PATH: "/nonexistent/triton/models" } });
    expect(warnings).toEqual([expect.stringContaining("repository path /nonexistent/triton/models does not exist on this machine")]);
  });

  it.each([
    [{ TRITON_REPOSITORY_PATH: "triton/models" }, "environment variable TRITON_REPOSITORY_PATH: \"triton/models\" is not an absolute path on the node"],
    [{ TRITON_REPOSITORY_URL: "https://bucket/models" }, "TRITON_REPOSITORY_URL: \"https://bucket/models\" is not an s3://, gs:// or as:// URL"],
    [{ TRITON_API_SECRET: "My_Secret" }, "TRITON_API_SECRET: \"My_Secret\" is not a Kubernetes name"],
    [{ TRITON_DEVICE_PLUGIN: "maybe" }, "TRITON_DEVICE_PLUGIN: \"maybe\" is not true or false"],
    [{ TRITON_PROD_PROFILE: "gpu-huge" }, "unknown profile 'gpu-huge'"],
  ])("refuses %j (exit 2)", async (env, message) => {
    const e = await buildApp({ outdir: outdir(), env }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(UserError);
    expect((e as UserError).exitCode).toBe(2);
    expect((e as UserError).message).toContain(message);
  });

  it("the cdktf app prints a bad input without a stack trace and exits 2", () => {
    const r = spawnSync(process.execPath, ["--import", "tsx", "stacks/main.ts"], { encoding: "utf8", env: { ...process.env, CDKTF_OUTDIR: outdir(), TRITON_REPOSITORY_PATH: "models" } });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("TRITON_REPOSITORY_PATH");
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});

describe("the cdktf CLI", () => {
  it("`cdktf synth` runs the app from cdktf.json and writes both stacks (no terraform init needed)", () => {
    const out = outdir();
    const r = spawnSync("npx", ["cdktf", "synth", "--output", out], { encoding: "utf8", env: { ...process.env, CHECKPOINT_DISABLE: "1" } });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain("gpu-local, gpu-prod");
    const gate = only(stackJson(out, "gpu-local").resource.terraform_data);
    expect(resolve(out, "stacks", "gpu-local", gate.provisioner[0]["local-exec"].working_dir)).toBe(process.cwd());
  });
});
