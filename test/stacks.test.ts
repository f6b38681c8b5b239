// Both stacks, synthesized as `cdktf synth` does and read back as Terraform JSON: gpu-local loads
// exactly its plan (never yolo11x_960 or raft_512), gpu-prod loads everything; GPU, /dev/shm, probes,
// affinity, the restricted API and the gate are in place; no secret value reaches any file.
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseDocument } from "yaml";
import { UserError } from "../src/errors.ts";
import { ENGINE_CACHE_MOUNT } from "../src/plan/engine-cache.ts";
import { loadPlan } from "../src/plan/load.ts";
import { buildApp } from "../stacks/app.ts";
import { INPUTS } from "../stacks/inputs.ts";
import { writeManifest } from "./support/manifest.ts";

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
  // gpu-prod on the profile's base URL as it is: only with the opt-out (see "gpu-prod's repository prefix").
  const { app } = await buildApp({ outdir: dir, env: { ...SECRETS, TRITON_PROD_MUTABLE_REPOSITORY: "true" } });
  app.synth();
  local = stackJson(dir, "gpu-local");
  prod = stackJson(dir, "gpu-prod");
});

describe("gpu-local", () => {
  it("loads exactly the plan's models, and neither yolo11x_960 nor raft_512 nor their steps", async () => {
    const { plan } = await loadPlan({ profile: "gpu-local" });
    expect(loadModels(local)).toEqual(plan.loadModels);
    for (const m of ["yolo11x_960", "raft_512", "raft_512_onnx", "preprocess_raft_512"]) expect(loadModels(local)).not.toContain(m);
    expect(container(local).args).toEqual(expect.arrayContaining(["--model-control-mode=explicit", "--strict-readiness=true", "--model-repository=/srv/triton-deploy/models"]));
  });

  it("takes one GPU on a node whose NVML memory covers the plan (5926 on a 6 GB card passes) and whose driver is >= 560, with the NVIDIA runtime", () => {
    expect(container(local).resources.limits["nvidia.com/gpu"]).toBe("1");
    expect(pod(local).affinity.node_affinity.required_during_scheduling_ignored_during_execution.node_selector_term[0].match_expressions).toEqual([
      { key: "nvidia.com/gpu.memory", operator: "Gt", values: ["5603"] },
      { key: "nvidia.com/cuda.driver-version.major", operator: "Gt", values: ["559"] },
    ]);
    expect(pod(local).runtime_class_name).toBe("nvidia");
  });

  it("runs one pod: no anti-affinity, the engine cache's hostPath whole", () => {
    expect(pod(local).affinity.pod_anti_affinity).toBeUndefined();
    expect(container(local).env.map((e: Json) => e.name)).not.toContain("NODE_NAME");
  });

  it("mounts the repository's parent read-only (a swapped-in tree is seen), the engine cache writable, and a memory-backed /dev/shm", () => {
    expect(pod(local).volume).toEqual([
      { name: "repository-parent", host_path: { path: "/var/lib/triton-deploy", type: "Directory" } },
      { name: "engine-cache", host_path: { path: "/var/lib/triton-deploy/trt-engines", type: "Directory" } },
      { name: "dshm", empty_dir: { medium: "Memory", size_limit: expect.stringMatching(/^\d+Mi$/) } },
    ]);
    expect(container(local).volume_mount).toEqual([
      { name: "repository-parent", mount_path: "/srv/triton-deploy", read_only: true },
      { name: "engine-cache", mount_path: ENGINE_CACHE_MOUNT, read_only: false },
      { name: "dshm", mount_path: "/dev/shm", read_only: false },
    ]);
  });

  it("gives terraform more time than Kubernetes' progress deadline, which covers pull and loading", () => {
    const d = only(local.resource.kubernetes_deployment_v1);
    expect(d.spec.progress_deadline_seconds).toBeGreaterThanOrEqual(1500);
    expect(d.timeouts).toEqual({ create: "36m", update: "36m" });
    expect(Number(d.timeouts.create.slice(0, -1)) * 60).toBeGreaterThan(d.spec.progress_deadline_seconds);
    expect(d.wait_for_rollout).toBe(true);
  });

  it("waits for a labelled GPU node after the Helm release and before the Deployment", () => {
    const wait = Object.entries(local.resource.terraform_data as Json).find(([k]) => k.includes("gpu-wait"))!;
    expect(wait[1].depends_on).toEqual([expect.stringMatching(/^helm_release\./)]);
    expect(wait[1].provisioner[0]["local-exec"].command).toContain("npm run preflight -- --profile gpu-local --wait 600 --no-repository");
    expect(resolve(dir, "stacks", "gpu-local", wait[1].provisioner[0]["local-exec"].working_dir)).toBe(process.cwd());
    expect(only(local.resource.kubernetes_deployment_v1).depends_on).toContain(`terraform_data.${wait[0]}`);
  });

  it("annotates the pod template with the repository manifest (unknown here: no repository on this machine)", () => {
    expect(only(local.resource.kubernetes_deployment_v1).spec.template.metadata.annotations).toEqual({ "triton-deploy/repository-manifest": "unknown-at-synth", "triton-deploy/load-models": "31" });
  });

  it("fails terraform plan, not the pod, when the restricted-API Secret is missing or lacks the key the pod reads", () => {
    const secret = only(local.data.kubernetes_secret_v1);
    expect(secret.metadata).toEqual({ name: "triton-repository-api", namespace: "triton" });
    // kubernetes_secret_v1 (provider v2.38) leaves type and data unset for a missing Secret and puts
    // every key in data otherwise; the second check speaks only when the Secret exists.
    expect(secret.lifecycle.postcondition).toEqual([
      { condition: '${coalesce(self.type, "-") != "-"}', error_message: expect.stringContaining("does not exist; create it: kubectl -n triton create secret generic triton-repository-api") },
      { condition: '${!(coalesce(self.type, "-") != "-") || (lookup(coalesce(self.data, {}), "key", "") != "")}', error_message: expect.stringContaining("lacks a key the pod reads, or it is empty: it needs key; recreate it: kubectl -n triton delete secret triton-repository-api; kubectl -n triton create secret generic triton-repository-api") },
    ]);
    // The key checked is the key the pod's environment reads.
    expect(container(local).env[0].value_from.secret_key_ref).toEqual({ name: "triton-repository-api", key: "key" });
    expect(only(local.resource.kubernetes_deployment_v1).depends_on).toContain(`data.kubernetes_secret_v1.${Object.keys(local.data.kubernetes_secret_v1)[0]}`);
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

  it("keeps 8000/8001/8002 on a ClusterIP behind a NetworkPolicy, outputs the port-forward and gates the deploy on verify-ready", () => {
    const svc = only(local.resource.kubernetes_service_v1);
    expect(svc.spec.type).toBe("ClusterIP");
    expect(svc.spec.port.map((p: Json) => [p.port, p.node_port])).toEqual([[8000, undefined], [8001, undefined], [8002, undefined]]);
    expect(svc.spec.selector).toEqual(only(local.resource.kubernetes_deployment_v1).spec.selector.match_labels);
    expect(only(local.resource.kubernetes_network_policy_v1).spec.ingress.map((i: Json) => i.ports.map((p: Json) => p.port))).toEqual([["8000", "8001"], ["8002"]]);
    expect(Object.values(local.output as Json).map((o: Json) => o.value)).toContainEqual("kubectl --namespace triton port-forward service/triton 8000:8000 8001:8001 8002:8002");
    expect(Object.values(local.output as Json).map((o: Json) => o.value)).toContainEqual({ httpHeader: "triton-repository-key", grpcMetadataKey: "triton-grpc-protocol-triton-repository-key", secret: "triton-repository-api" });
    const gate = Object.entries(local.resource.terraform_data as Json).find(([k]) => k.includes("verify-ready"))![1];
    expect(gate.depends_on).toEqual(expect.arrayContaining([expect.stringMatching(/^kubernetes_deployment_v1\./)]));
    expect(gate.provisioner[0]["local-exec"].command).toContain("npm run verify-ready -- --url http://127.0.0.1:18000 --profile gpu-local");
    // terraform runs the step in <outdir>/stacks/gpu-local; npm must find this project's package.json.
    expect(resolve(dir, "stacks", "gpu-local", gate.provisioner[0]["local-exec"].working_dir)).toBe(process.cwd());
  });

  it("installs the NVIDIA device plugin with GPU Feature Discovery through Helm", () => {
    const release = only(local.resource.helm_release);
    expect(release).toMatchObject({ chart: "nvidia-device-plugin", repository: "https://nvidia.github.io/k8s-device-plugin" });
    expect(release.set).toContainEqual({ name: "gfd.enabled", value: "true" });
  });
});

describe("gpu-prod", () => {
  it("loads every model of the checklist from the object store, credentials by Secret reference", () => {
    expect(loadModels(prod)).toHaveLength(35);
    expect(loadModels(prod)).toEqual(expect.arrayContaining(["yolo11x_960", "raft_512", "preprocess_raft_512"]));
    // The base URL only because TRITON_PROD_MUTABLE_REPOSITORY=true (this suite's opt-out).
    expect(container(prod).args).toContain("--model-repository=s3://triton-models/prod");
    expect(container(prod).env_from).toEqual([{ secret_ref: { name: "triton-model-store" } }]);
  });

  it("checks both Secrets, each with the keys tritonserver reads, at plan time", () => {
    const secrets = Object.values(prod.data.kubernetes_secret_v1 as Json);
    expect(secrets.map((d: Json) => d.metadata.name)).toEqual(["triton-repository-api", "triton-model-store"]);
    const store = secrets[1].lifecycle.postcondition[1].condition as string;
    for (const k of ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION"]) expect(store).toContain(`lookup(coalesce(self.data, {}), "${k}", "") != ""`);
  });

  it("keeps TensorRT engines on a ReadWriteMany claim with one writer per folder: a sub-folder per node, one pod per node", () => {
    const claim = only(prod.resource.kubernetes_persistent_volume_claim_v1);
    expect(claim).toMatchObject({ metadata: { name: "triton-engine-cache", namespace: "triton" }, wait_until_bound: false, spec: { access_modes: ["ReadWriteMany"], resources: { requests: { storage: "20Gi" } } } });
    expect(pod(prod).volume).toContainEqual({ name: "engine-cache", persistent_volume_claim: { claim_name: "triton-engine-cache" } });
    // Every pod reads the same configs (trt_engine_cache_path under ENGINE_CACHE_MOUNT); the kubelet
    // mounts <claim>/<node name> there, so two pods never build into the same files.
    expect(container(prod).volume_mount).toContainEqual({ name: "engine-cache", mount_path: ENGINE_CACHE_MOUNT, read_only: false, sub_path_expr: "$(NODE_NAME)" });
    expect(container(prod).env).toContainEqual({ name: "NODE_NAME", value_from: { field_ref: { field_path: "spec.nodeName" } } });
    // ... and no two pods share a node (required, not preferred): a node's folder has one writer.
    expect(pod(prod).affinity.pod_anti_affinity).toEqual({
      required_during_scheduling_ignored_during_execution: [{ topology_key: "kubernetes.io/hostname", label_selector: [{ match_labels: only(prod.resource.kubernetes_deployment_v1).spec.selector.match_labels }] }],
    });
  });

  it("waits as long as an update of two replicas, one at a time, may take; no monitor or autoscaler unless asked", () => {
    const d = only(prod.resource.kubernetes_deployment_v1);
    expect(Number(d.timeouts.update.slice(0, -1)) * 60).toBeGreaterThan(2 * d.spec.progress_deadline_seconds);
    expect(prod.resource.kubernetes_manifest).toBeUndefined();
    expect(prod.resource.kubernetes_horizontal_pod_autoscaler_v2).toBeUndefined();
    expect(d.lifecycle).toBeUndefined();
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

describe("a workstation with its repository, kubeconfig and choices", () => {
  // A copy of model-specs whose gpu-local opens a NodePort on purpose (fenced by CIDR) and whose
  // gpu-prod autoscales; a repository with manifest.json for each plan; an explicit kubeconfig.
  let s: Json;
  let p: Json;
  let sha: { local: string; prod: string };
  let warnings: string[];
  beforeAll(async () => {
    const work = outdir();
    const specs = join(work, "specs");
    cpSync("model-specs", specs, { recursive: true });
    const edit = (name: string, changes: [string[], unknown][]) => {
      const file = join(specs, "profiles", `${name}.yaml`);
      const doc = parseDocument(readFileSync(file, "utf8"));
      for (const [path, value] of changes) doc.setIn(path, doc.createNode(value));
      writeFileSync(file, String(doc));
    };
    edit("gpu-local", [[["deployment", "service"], "NodePort"], [["deployment", "networkPolicy", "allowedCidrs"], ["192.168.1.0/24"]]]);
    edit("gpu-prod", [[["deployment", "autoscaling", "enabled"], true]]);
    const lp = await loadPlan({ profile: "gpu-local", specsDir: specs });
    const pp = await loadPlan({ profile: "gpu-prod", specsDir: specs });
    const digest = (t: string) => createHash("sha256").update(t).digest("hex");
    sha = {
      local: digest(writeManifest(join(work, "node", "models"), { profile: "gpu-local", loadModels: lp.plan.loadModels }).text),
      prod: digest(writeManifest(join(work, "publish", "models"), { profile: "gpu-prod", loadModels: pp.plan.loadModels }).text),
    };
    const out = join(work, "out");
    const built = await buildApp({
      outdir: out,
      env: {
        TRITON_SPECS: specs,
        TRITON_REPOSITORY_PATH: join(work, "node", "models"),
        TRITON_PROD_REPOSITORY_DIR: join(work, "publish", "models"),
        TRITON_KUBECONFIG: "/etc/rancher/k3s/k3s.yaml",
        TRITON_KUBE_CONTEXT: "default",
        TRITON_MONITORING: "true",
      },
    });
    built.app.synth();
    warnings = built.warnings;
    s = stackJson(out, "gpu-local");
    p = stackJson(out, "gpu-prod");
  });

  it("annotates the pod with the manifest's sha256, so a deploy after a new synth-repo rolls the pod", () => {
    expect(only(s.resource.kubernetes_deployment_v1).spec.template.metadata.annotations["triton-deploy/repository-manifest"]).toBe(`sha256:${sha.local}`);
    expect(warnings.filter((w) => w.includes("manifest"))).toEqual([]);
  });

  it("gives the providers and every kubectl the same kubeconfig and context", () => {
    expect(only(s.provider.kubernetes)).toEqual({ config_path: "/etc/rancher/k3s/k3s.yaml", config_context: "default" });
    expect(only(s.provider.helm).kubernetes).toEqual({ config_path: "/etc/rancher/k3s/k3s.yaml", config_context: "default" });
    const steps = Object.values(s.resource.terraform_data as Json).map((d: Json) => d.provisioner[0]["local-exec"].command as string);
    expect(steps).toHaveLength(2);
    for (const c of steps) expect(c).toContain("--kubeconfig /etc/rancher/k3s/k3s.yaml --context default");
    const all = steps.join("\n");
    expect(all.match(/kubectl /g)!.length).toBeGreaterThan(0);
    expect(all.match(/kubectl --kubeconfig \/etc\/rancher\/k3s\/k3s\.yaml --context default /g)).toHaveLength(all.match(/kubectl /g)!.length);
    expect(all).not.toContain("KUBE_CONFIG_PATH"); // an explicit kubeconfig needs no fallback
  });

  it("a NodePort opened on purpose admits only the listed addresses, and the node keeps their source address", () => {
    const svc = only(s.resource.kubernetes_service_v1).spec;
    expect(svc).toMatchObject({ type: "NodePort", external_traffic_policy: "Local" });
    expect(svc.port.map((x: Json) => x.node_port)).toEqual([30800, 30801, 30802]);
    expect(only(s.resource.kubernetes_network_policy_v1).spec.ingress[2]).toEqual({ from: [{ ip_block: { cidr: "192.168.1.0/24" } }], ports: [{ port: "8000", protocol: "TCP" }, { port: "8001", protocol: "TCP" }] });
    expect(warnings.filter((w) => w.includes("NodePort"))).toEqual([]);
  });

  it("gpu-prod reads the immutable prefix named by the published manifest", () => {
    expect(container(p).args).toContain(`--model-repository=s3://triton-models/prod/${sha.prod.slice(0, 16)}`);
    expect(only(p.resource.kubernetes_deployment_v1).spec.template.metadata.annotations["triton-deploy/repository-manifest"]).toBe(`sha256:${sha.prod}`);
  });

  it("gpu-prod scrapes metrics through a ServiceMonitor and autoscales on queue time, terraform leaving replicas to the autoscaler", () => {
    const monitor = only(p.resource.kubernetes_manifest).manifest;
    expect(monitor).toEqual({
      apiVersion: "monitoring.coreos.com/v1",
      kind: "ServiceMonitor",
      metadata: { name: "triton", namespace: "triton", labels: expect.objectContaining({ release: "kube-prometheus-stack", "app.kubernetes.io/name": "triton" }) },
      spec: { selector: { matchLabels: only(p.resource.kubernetes_deployment_v1).spec.selector.match_labels }, endpoints: [{ port: "metrics", path: "/metrics", interval: "15s" }] },
    });
    const hpa = only(p.resource.kubernetes_horizontal_pod_autoscaler_v2).spec;
    expect(hpa).toMatchObject({ min_replicas: 2, max_replicas: 4, scale_target_ref: { kind: "Deployment", name: "triton" } });
    expect(hpa.metric).toEqual([{ type: "Pods", pods: { metric: { name: "triton_queue_avg_us" }, target: { type: "AverageValue", average_value: "50000" } } }]);
    expect(only(p.resource.kubernetes_deployment_v1).lifecycle).toEqual({ ignore_changes: ["spec[0].replicas"] });
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
    const env = { TRITON_IMAGE: "registry.local/tritonserver:24.08-py3-custom", TRITON_REPOSITORY_PATH: "/srv/triton/models", TRITON_API_SECRET: "my-api-key", TRITON_NAMESPACE: "inference", TRITON_DEVICE_PLUGIN: "false", TRITON_VERIFY: "false", TRITON_GPU_WAIT: "false", TRITON_REPOSITORY_URL: "gs://models/prod", TRITON_STORE_SECRET: "gcs-key" };
    const { app } = await buildApp({ outdir: d, env: { ...env, TRITON_PROD_MUTABLE_REPOSITORY: "true" } });
    app.synth();
    const s = stackJson(d, "gpu-local");
    expect(container(s).image).toBe(env.TRITON_IMAGE);
    expect(pod(s).volume[0].host_path.path).toBe("/srv/triton");
    expect(container(s).args).toContain("--model-repository=/srv/triton-deploy/models");
    expect(container(s).env[0].value_from.secret_key_ref.name).toBe("my-api-key");
    expect(only(s.resource.kubernetes_deployment_v1).metadata.namespace).toBe("inference");
    expect(only(s.data.kubernetes_secret_v1).metadata).toEqual({ name: "my-api-key", namespace: "inference" });
    expect(s.resource.helm_release).toBeUndefined();
    expect(s.resource.terraform_data).toBeUndefined();
    const p = stackJson(d, "gpu-prod");
    expect(container(p).args).toContain("--model-repository=gs://models/prod");
    expect(pod(p).volume).toContainEqual({ name: "gcs-credentials", secret: { secret_name: "gcs-key" } });
  });

  it("leaves gpu-prod out, saying what to set, when Triton would read its object store in place; gpu-local is unaffected", async () => {
    const built = await buildApp({ outdir: outdir(), env: {} });
    expect(built.stacks.map((s) => s.node.id)).toEqual(["gpu-local"]);
    const skip = built.warnings.find((w) => w.startsWith("gpu-prod is not synthesized"))!;
    expect(skip).toContain("Triton would read s3://triton-models/prod in place");
    expect(skip).toContain("set TRITON_PROD_REPOSITORY_DIR to the published copy");
    expect(skip).toContain("TRITON_PROD_MUTABLE_REPOSITORY=true");
    // cdktf prints a stack's annotations: the reason travels with gpu-local.
    expect(built.stacks[0]!.inputWarnings).toContainEqual(skip);
  });

  it("TRITON_STACKS picks the stacks; gpu-local alone plans no gpu-prod", async () => {
    const built = await buildApp({ outdir: outdir(), env: { TRITON_STACKS: "gpu-local", TRITON_PROD_PROFILE: "no-such-profile" } });
    expect(built.stacks.map((s) => s.node.id)).toEqual(["gpu-local"]);
    expect(built.warnings.filter((w) => w.includes("gpu-prod"))).toEqual([]);
    const accepted = await buildApp({ outdir: outdir(), env: { TRITON_STACKS: "gpu-prod", TRITON_PROD_MUTABLE_REPOSITORY: "true" } });
    expect(accepted.stacks.map((s) => s.node.id)).toEqual(["gpu-prod"]);
    expect(accepted.warnings).toContainEqual(expect.stringContaining("Triton reads s3://triton-models/prod in place (TRITON_PROD_MUTABLE_REPOSITORY=true, unsafe)"));
  });

  it("docs/deploy.md's inputs table lists every input, with its context key", () => {
    const docs = readFileSync("docs/deploy.md", "utf8");
    const table = docs.slice(docs.indexOf("### Inputs"), docs.indexOf("A bad value fails `cdktf synth`"));
    for (const spec of Object.values(INPUTS)) {
      const row = table.split("\n").find((l) => l.includes(`\`${spec.env}\``));
      expect(row, spec.env).toBeDefined();
      expect(row, spec.env).toContain(`\`${spec.context}\``);
    }
  });

  it("warns (not fails) when the hostPath repository has no manifest on this machine: it may live only on the node", async () => {
    const { warnings } = await buildApp({ outdir: outdir(), env: { TRITON_REPOSITORY_PATH: "/nonexistent/triton/models" } });
    expect(warnings).toContainEqual(expect.stringContaining("no manifest.json in /nonexistent/triton/models on this machine"));
  });

  it.each([
    [{ TRITON_REPOSITORY_PATH: "triton/models" }, "environment variable TRITON_REPOSITORY_PATH: \"triton/models\" is not an absolute path on the node"],
    [{ TRITON_REPOSITORY_URL: "https://bucket/models" }, "TRITON_REPOSITORY_URL: \"https://bucket/models\" is not an s3://, gs:// or as:// URL"],
    [{ TRITON_API_SECRET: "My_Secret" }, "TRITON_API_SECRET: \"My_Secret\" is not a Kubernetes name"],
    [{ TRITON_DEVICE_PLUGIN: "maybe" }, "TRITON_DEVICE_PLUGIN: \"maybe\" is not true or false"],
    [{ TRITON_PROD_PROFILE: "gpu-huge" }, "unknown profile 'gpu-huge'"],
    [{ TRITON_MONITORING: "yes" }, "TRITON_MONITORING: \"yes\" is not true or false"],
    [{ TRITON_PROD_REPOSITORY_DIR: "/nonexistent/prod/models" }, "environment variable TRITON_PROD_REPOSITORY_DIR: /nonexistent/prod/models holds no manifest.json written by synth-repo"],
    [{ TRITON_STACKS: "gpu-prod" }, "deployment.repository.url: gpu-prod: Triton would read s3://triton-models/prod in place"],
    [{ TRITON_STACKS: "gpu-local,gpu-prod", TRITON_PROD_MUTABLE_REPOSITORY: "false" }, "set TRITON_PROD_REPOSITORY_DIR to the local copy you uploaded (docs/deploy.md, gpu-prod); or set TRITON_PROD_MUTABLE_REPOSITORY=true to accept that risk"],
    [{ TRITON_STACKS: "gpu-staging" }, "TRITON_STACKS: \"gpu-staging\" is not a comma-separated list of gpu-local, gpu-prod"],
    [{ TRITON_PROD_MUTABLE_REPOSITORY: "yes" }, "TRITON_PROD_MUTABLE_REPOSITORY: \"yes\" is not true or false"],
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

  it("synth of gpu-prod by name, without its published prefix or the opt-out, exits 2 saying what to set", () => {
    const env: NodeJS.ProcessEnv = { ...process.env, CDKTF_OUTDIR: outdir(), TRITON_STACKS: "gpu-prod" };
    delete env.TRITON_PROD_REPOSITORY_DIR;
    delete env.TRITON_PROD_MUTABLE_REPOSITORY;
    const r = spawnSync(process.execPath, ["--import", "tsx", "stacks/main.ts"], { encoding: "utf8", env });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("Triton would read s3://triton-models/prod in place");
    expect(r.stderr).toMatch(/TRITON_PROD_REPOSITORY_DIR[\s\S]*TRITON_PROD_MUTABLE_REPOSITORY=true/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});

describe("the cdktf CLI", () => {
  it("`cdktf synth` runs the app from cdktf.json (no terraform init needed): gpu-local, and why gpu-prod was left out", () => {
    const out = outdir();
    const env: NodeJS.ProcessEnv = { ...process.env, CHECKPOINT_DISABLE: "1" };
    for (const k of ["TRITON_PROD_REPOSITORY_DIR", "TRITON_PROD_MUTABLE_REPOSITORY", "TRITON_STACKS"]) delete env[k];
    const r = spawnSync("npx", ["cdktf", "synth", "--output", out], { encoding: "utf8", env });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/WARN \[gpu-local\/triton\]: gpu-prod is not synthesized: Triton would read s3:\/\/triton-models\/prod in place/);
    expect(readdirSync(join(out, "stacks"))).toEqual(["gpu-local"]);
    const gate = only(stackJson(out, "gpu-local").resource.terraform_data);
    expect(resolve(out, "stacks", "gpu-local", gate.provisioner[0]["local-exec"].working_dir)).toBe(process.cwd());
  });
});
