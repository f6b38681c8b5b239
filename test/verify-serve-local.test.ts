// The gate for real: serve-local (a child process on a free port) over a repository synthesized from
// fixture exports, and verify-ready against it — it passes; it fails naming a required model removed
// from the repository; it fails within its timeout naming the step when the server dies mid-run; and
// it fails naming the field when a model's metadata disagrees with the spec.
import { spawnSync } from "node:child_process";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseResolution } from "../src/pipeline/frame.ts";
import { startServer } from "../src/serve/index.ts";
import { loadPlan } from "../src/plan/load.ts";
import { HttpKServeServer } from "../src/verify/http.ts";
import { failedChecks, STEP_NAMES, type VerifyReport } from "../src/verify/report.ts";
import { verifyReady } from "../src/verify/run.ts";
import type { LocalServer } from "../src/verify/local-server.ts";
import { makeVerifyWorkspace, REPO_ROOT, type VerifyWorkspace } from "./support/verify-workspace.ts";

const { plan } = await loadPlan({ profile: "gpu-local" });
const few = ["240p", "1080x1920"].map(parseResolution);
let ws: VerifyWorkspace;

beforeAll(async () => {
  ws = await makeVerifyWorkspace();
});
afterAll(() => ws?.cleanup());

const failures = (r: VerifyReport) => failedChecks(r).map((f) => `[${f.step}] ${f.check.name}: ${f.check.message}`);

describe("verify-ready against serve-local loading the gpu-local plan", () => {
  let server: LocalServer;
  beforeAll(async () => {
    server = await ws.serve({ loadModels: plan.loadModels });
  });
  afterAll(() => server?.stop());

  it("passes: the command exits 0, with the table, the JSON report and the JUnit XML", async () => {
    const json = join(ws.root, "reports", "r.json");
    const xml = join(ws.root, "reports", "r.xml");
    const run = spawnSync(process.execPath, ["--import", "tsx", join(REPO_ROOT, "scripts/verify-ready.ts"), "--url", server.url, "--onnx-root", ws.onnxRoot, "--report", json, "--junit", xml, "--timeout", "120"], { cwd: REPO_ROOT, encoding: "utf8" });
    expect(run.stdout).toMatch(/verify-ready: PASS in [\d.]+ s \(exit 0\)/);
    expect(run.status, run.stdout + run.stderr).toBe(0);
    const report = JSON.parse(await readFile(json, "utf8")) as VerifyReport;
    expect(report.steps.map((s) => `${s.name}:${s.status}`)).toEqual(STEP_NAMES.map((n) => `${n}:pass`));
    const e2e = report.steps.find((s) => s.name === "e2e")!;
    expect(e2e.checks.map((c) => c.name.split(" ")[0])).toEqual(["240p", "360p", "480p", "720p", "1080p", "1080x1920"]);
    for (const c of e2e.checks) {
      expect(c.data!.models_used).toEqual(expect.arrayContaining([c.data!.resolved_model_mapping as never].flatMap((m) => Object.values(m as Record<string, string>))));
      expect(c.data!.exactCalls).toBe(c.data!.calls); // every call of a fixture checked number for number
    }
    expect(report.steps.find((s) => s.name === "smoke")!.summary).toMatch(/^12 entry models × 2 inferences OK \(12 exact vs fixtures\)$/);
    expect(await readFile(xml, "utf8")).toContain('<testcase classname="verify-ready.5-e2e" name="1080x1920 (1080×1920)"');
  });

  it("fails naming the model, tensor and field when a model's metadata disagrees with the spec", async () => {
    // the deployment was written from the specs as they were; the specs have moved on since
    const specsDir = await ws.editedSpecs("places365.yaml", "outputs: [{ name: logits, dtype: FP32, dims: [1, 365] }]", "outputs: [{ name: scores, dtype: FP32, dims: [1, 365] }]");
    const report = await verifyReady({ server: new HttpKServeServer(server.url), specsDir, onnxRoot: ws.onnxRoot, resolutions: few, timeoutS: 60 });
    expect(report.exitCode).toBe(1);
    expect(report.steps.find((s) => s.name === "metadata")!.details).toEqual([
      "places365_resnet50_224_onnx: output scores is missing on the server (server outputs: logits; spec outputs: scores)",
      "places365_resnet50_224_onnx: output logits (FP32 [1, 365]) is on the server but not in the spec",
    ]);
    expect(failures(report).every((f) => f.startsWith("[metadata] places365_resnet50_224_onnx:"))).toBe(true);
  });
});

describe("verify-ready against a serve-local that goes wrong", () => {

  it("fails within its timeout naming the step when the server is killed mid-run", async () => {
    const server = await ws.serve({ loadModels: plan.loadModels });
    const t = performance.now();
    let killedAt = "";
    const report = await verifyReady({
      server: new HttpKServeServer(server.url),
      onnxRoot: ws.onnxRoot,
      resolutions: few,
      timeoutS: 30,
      progress: (line) => {
        if (!killedAt && line.startsWith("step 4 smoke:")) {
          killedAt = line;
          process.kill(-server.pid, "SIGKILL");
        }
      },
    });
    expect(killedAt).not.toBe("");
    expect(performance.now() - t).toBeLessThan(30_000);
    expect(report.steps.map((s) => `${s.name}:${s.status}`)).toEqual(["health:pass", "repository:pass", "metadata:pass", "smoke:fail", "e2e:skip", "report:pass"]);
    expect(report.steps[3]!.details[0]).toMatch(new RegExp(`cannot be reached in step smoke`));
    // where the gate runs after a deploy, the likely cause and where to look
    expect(report.steps[3]!.details[0]).toContain("a model that failed to load at start-up: Triton exits (--exit-on-error=true) and the pod crash-loops; `kubectl --namespace triton logs deployment/triton --previous`");
    expect(report.steps[4]!.checks[0]!.message).toMatch(/^not run: .* cannot be reached in step smoke/);
    await server.stop();
  });

  it("against a server that is not ready with its index restricted, gives up at once naming the header, not after --timeout", async () => {
    // a model that cannot load keeps the server not ready (strict readiness); without the header the
    // index answers 403 (server src/http_server.cc, v2.49.0), and asking again cannot change that
    await mkdir(join(ws.repo, "broken_tf/1"), { recursive: true });
    await writeFile(join(ws.repo, "broken_tf/config.pbtxt"), 'name: "broken_tf"\nbackend: "tensorflow"\n');
    const server = await startServer({ repo: ws.repo, port: 0, metricsPort: null, loadModels: ["midas_256", "broken_tf"], exitOnError: false, restrictedApis: [{ categories: ["model-repository"], header: "triton-repository-key", value: "k" }] });
    try {
      const t = performance.now();
      const report = await verifyReady({ server: new HttpKServeServer(server.url), onnxRoot: ws.onnxRoot, resolutions: few, timeoutS: 120 });
      expect(performance.now() - t).toBeLessThan(30_000);
      expect(report.exitCode).toBe(1);
      const ready = report.steps[0]!.checks.find((c) => c.name === "ready")!;
      expect(ready.message).toMatch(/^\/v2\/health\/ready not OK after 1 tries in [\d.]+ s \(stopped waiting\); last: answered not ready, and the index that says why is restricted: .*this API is restricted: pass --header triton-repository-key=…/);
      expect(failures(report).join("\n")).not.toMatch(/budget .* ran out/);
    } finally {
      await server.close();
      await rm(join(ws.repo, "broken_tf"), { recursive: true });
    }
  });

  it("fails naming a required model removed from the repository", async () => {
    await rm(join(ws.repo, "clip_text_onnx"), { recursive: true });
    // with Triton's default (--exit-on-error=true) the server would not even start; served on, the gate says why
    const server = await ws.serve({ loadModels: plan.loadModels.filter((m) => m !== "clip_text_onnx"), extraArgs: ["--exit-on-error=false"] });
    try {
      const report = await verifyReady({ server: new HttpKServeServer(server.url), onnxRoot: ws.onnxRoot, resolutions: few, timeoutS: 60 });
      expect(report.exitCode).toBe(1);
      const repo = failures(report).filter((f) => f.startsWith("[repository]"));
      expect(repo).toContain("[repository] clip_text_onnx: required model clip_text_onnx (branch clip_text) is absent from the repository index");
      // the ensemble over it cannot be READY either, and CLIP is not run against a half branch
      expect(repo.some((f) => f.startsWith("[repository] clip_text: required model clip_text (branch clip_text) is"))).toBe(true);
    } finally {
      await server.stop();
    }
  });
});
