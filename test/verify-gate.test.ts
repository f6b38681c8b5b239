// The gate end to end against a small in-process KServe-v2 server (test/support/verify-fake-server.ts)
// that runs the fixture exports in onnxruntime-node: the mechanics of every step, the binary
// protocol, the reports, and each way a deployment can be wrong. serve-local runs in verify-serve-local.test.ts.
import { execFile } from "node:child_process";
import { cp, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureFixtures } from "../src/fixtures/write.ts";
import { attr, f32, writeOnnxModel } from "../src/onnx/build.ts";
import { parseResolution } from "../src/pipeline/frame.ts";
import { loadPlan, selectedBranches } from "../src/plan/load.ts";
import { HttpKServeServer } from "../src/verify/http.ts";
import { failedChecks, STEP_NAMES, type VerifyReport } from "../src/verify/report.ts";
import { verifyReady, type VerifyOptions } from "../src/verify/run.ts";
import { startFakeServer, type FakeServerOptions } from "./support/verify-fake-server.ts";
import { REPO_ROOT } from "./support/synth-workspace.ts";

const run_ = promisify(execFile);

const { catalog, plan } = await loadPlan({ profile: "gpu-local" });
const branches = selectedBranches(catalog, plan);
let dir: string;
let onnxRoot: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "td-verify-gate-"));
  onnxRoot = join(dir, "onnx");
  await ensureFixtures(catalog.branches.map((b) => b.branch), onnxRoot);
});
afterAll(() => rm(dir, { recursive: true, force: true }));

async function gate(server: Partial<FakeServerOptions>, opts: Partial<VerifyOptions> = {}): Promise<{ report: VerifyReport; binary: boolean }> {
  const fake = await startFakeServer({ branches, onnxRoot, ...server });
  try {
    const report = await verifyReady({ server: new HttpKServeServer(fake.url), onnxRoot, resolutions: ["240p", "1080x1920"].map(parseResolution), timeoutS: 60, ...opts });
    const infers = fake.requests.filter((r) => r.path.endsWith("/infer"));
    return { report, binary: infers.length > 0 && infers.every((r) => r.binary) };
  } finally {
    await fake.close();
  }
}

const failures = (r: VerifyReport) => failedChecks(r).map((f) => `[${f.step}] ${f.check.name}: ${f.check.message}`);

describe("verify-ready against a KServe-v2 server", () => {
  it("passes a correct deployment: six named steps, exact fixture numbers, routing recorded per resolution, binary tensors", async () => {
    const reportFile = join(dir, "out", "report.json");
    const junitFile = join(dir, "out", "report.xml");
    const { report, binary } = await gate({}, { reportFile, junitFile });
    expect(failures(report)).toEqual([]);
    expect(report).toMatchObject({ status: "pass", exitCode: 0, profile: "gpu-local" });
    expect(report.steps.map((s) => [s.index, s.name, s.status])).toEqual(STEP_NAMES.map((n, i) => [i + 1, n, "pass"]));
    expect(binary).toBe(true);
    const smoke = report.steps.find((s) => s.name === "smoke")!;
    expect(smoke.checks.map((c) => c.name).sort()).toEqual(plan.selected.map((e) => e.models[0]!.name).sort());
    expect(smoke.checks.every((c) => c.message?.includes("numbers equal fixture"))).toBe(true);
    const e2e = report.steps.find((s) => s.name === "e2e")!.checks;
    expect(e2e.map((c) => c.name)).toEqual(["240p (426×240)", "1080x1920 (1080×1920)"]);
    expect(e2e[0]!.data).toMatchObject({
      resolved_model_mapping: { midas: "midas_384", raft: "raft_384", clip_image: "clip_image_224", clip_text: "clip_text", yolo11: "yolo11x_320", places365: "places365_resnet50_336" },
      calls: 1 + 1 + 1 + 29 + 1 + 1,
    });
    expect(e2e[0]!.data!.exactCalls).toBe(34);
    expect(e2e[1]!.data!.models_used).toContain("yolo11x_640");
    const onDisk = JSON.parse(await readFile(reportFile, "utf8")) as VerifyReport;
    expect(onDisk.steps.map((s) => s.name)).toEqual([...STEP_NAMES]);
    expect(await readFile(junitFile, "utf8")).toMatch(/^<\?xml version="1.0" encoding="UTF-8"\?>\n<testsuites name="verify-ready gpu-local/);
  });

  it("fails when the numbers differ from the fixture's, naming model, tensor and index", async () => {
    const { report } = await gate({ corrupt: (model, out) => { if (model === "places365_resnet50_224") (out[0]!.data as Float32Array)[7]! += 0.01; } });
    expect(report.status).toBe("fail");
    expect(failures(report).find((f) => f.startsWith("[smoke]"))).toMatch(/^\[smoke\] places365_resnet50_224: places365_resnet50_224: output OUTPUT__0\[7\] = .* on the server, fixture logits\.channel_mean_plus_bias\.v1 gives /);
  });

  it("fails a real model whose output is constant in step 4, naming it and what it suggests; --accept-constant-output passes it", async () => {
    // A real export (no fixture mark) of midas_256 whose head multiplies by zero: right names, dtype,
    // shape and finite values, and depth 0 everywhere whatever the image, as with weights not loaded.
    const realRoot = join(dir, "onnx-zero-depth");
    await cp(onnxRoot, realRoot, { recursive: true });
    await rm(join(realRoot, "midas", "midas_small_256.onnx.data"), { force: true });
    await writeOnnxModel(join(realRoot, "midas", "midas_small_256.onnx"), {
      inputs: [{ name: "input", dtype: "FP32", dims: [1, 3, 256, 256] }],
      outputs: [{ name: "depth", dtype: "FP32", dims: [1, 256, 256] }],
      initializers: [f32("head.weight", [1], [0])],
      nodes: [
        { op: "ReduceMean", inputs: ["input"], outputs: ["features"], attributes: { axes: attr.ints([1]), keepdims: attr.int(0) } },
        { op: "Mul", inputs: ["features", "head.weight"], outputs: ["depth"] },
      ],
    });
    const run = async (opts: Partial<VerifyOptions>) => {
      const fake = await startFakeServer({ branches, onnxRoot: realRoot });
      try {
        return await verifyReady({ server: new HttpKServeServer(fake.url), onnxRoot: realRoot, resolutions: [parseResolution("240p")], timeoutS: 60, ...opts });
      } finally {
        await fake.close();
      }
    };
    const report = await run({});
    expect(report.exitCode).toBe(1);
    expect(failures(report)).toEqual([
      "[smoke] midas_256: midas_256: output OUTPUT__0 is 0 everywhere (65536 values) for two different inputs: a real model's output depends on its input; this suggests weights not loaded (zeros or random initializers left in), or a broken export (an output cut off from the input). Re-export the model with its weights, or pass --accept-constant-output midas_256 if it is meant to",
    ]);
    const accepted = await run({ acceptConstantOutput: ["midas_256"] });
    expect(failures(accepted)).toEqual([]);
    expect(accepted.exitCode).toBe(0);
    expect(accepted.steps.find((s) => s.name === "smoke")!.checks.find((c) => c.name === "midas_256")!.message).toBe("2 inferences; constant output accepted (--accept-constant-output)");
    // the output by name (MODEL:OUTPUT) accepts it too; another output's name does not
    expect((await run({ acceptConstantOutput: ["midas_256:OUTPUT__0"] })).exitCode).toBe(0);
    expect(failures(await run({ acceptConstantOutput: ["midas_256:depth"] }))[0]).toMatch(/^\[smoke\] midas_256: midas_256: output OUTPUT__0 is 0 everywhere .*\(--accept-constant-output midas_256:depth names no output of midas_256; its outputs: OUTPUT__0\)$/);

    // The command collects every --accept-constant-output (and comma lists), not just the last one.
    const fake = await startFakeServer({ branches, onnxRoot: realRoot });
    try {
      const cli = (...flags: string[]) =>
        run_(process.execPath, ["--import", "tsx", join(REPO_ROOT, "scripts/verify-ready.ts"), "--url", fake.url, "--onnx-root", realRoot, "--resolutions", "240p", "--quiet", ...flags], { cwd: REPO_ROOT }).then(
          (r) => ({ code: 0, out: r.stdout + r.stderr }),
          (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, out: e.stdout + e.stderr }),
        );
      const repeated = await cli("--accept-constant-output", "midas_256:OUTPUT__0", "--accept-constant-output", "clip_text,raft_256");
      expect(repeated.code, repeated.out).toBe(0);
      const bad = await cli("--accept-constant-output", "midas_256:OUTPUT__0:x");
      expect(bad.code).toBe(2);
      expect(bad.out).toContain("'midas_256:OUTPUT__0:x' is neither MODEL nor MODEL:OUTPUT");
    } finally {
      await fake.close();
    }
  });

  it("without --onnx-root every model counts as real: the catalog's fixtures all pass the constant-output check", async () => {
    const fake = await startFakeServer({ branches, onnxRoot });
    try {
      const report = await verifyReady({ server: new HttpKServeServer(fake.url), resolutions: [parseResolution("240p")], timeoutS: 60 });
      expect(failures(report)).toEqual([]);
      const smoke = report.steps.find((s) => s.name === "smoke")!.checks;
      expect(smoke.every((c) => c.message?.endsWith("output changes with the input (no fixture: numbers not compared)"))).toBe(true);
    } finally {
      await fake.close();
    }
  });

  it("fails a stale deployment in step 3, naming model, tensor, field and both values", async () => {
    const { report } = await gate({ metadata: (m) => (m.name === "raft_256_onnx" ? { ...m, inputs: m.inputs.map((t) => (t.name === "input1" ? { ...t, shape: [1, 3, 384, 384] } : t)) } : m) });
    expect(failures(report)).toEqual(["[metadata] raft_256_onnx: stale deployment? raft_256_onnx: input input1 shape: server [1, 3, 384, 384], spec [1, 3, 256, 256]"]);
  });

  it("fails a missing required model and a loaded model the plan excludes, naming both", async () => {
    const { report } = await gate({ missing: ["midas_512", "preprocess_midas_512", "midas_512_onnx"], extraIndex: [{ name: "raft_512_onnx", version: "1", state: "READY" }] });
    const f = failures(report).filter((x) => x.startsWith("[repository]"));
    expect(f).toContain("[repository] midas_512: required model midas_512 (branch midas_512) is absent from the repository index");
    expect(f.join("\n")).toMatch(/raft_512_onnx is READY on the server but the gpu-local plan excludes branch raft_512 \(does not fit: .*\): it will run out of GPU memory/);
    expect(report.exitCode).toBe(1);
  });

  it("fails within its --timeout when the server stops answering, naming the step", async () => {
    const t = performance.now();
    const { report } = await gate({ inferDelayMs: 60_000 }, { timeoutS: 2 });
    expect(performance.now() - t).toBeLessThan(6000);
    expect(report.status).toBe("fail");
    const smoke = report.steps.find((s) => s.name === "smoke")!;
    expect(smoke.status).toBe("fail");
    expect(smoke.checks.find((c) => c.status === "fail")!.message).toMatch(/timed out in step smoke \(the --timeout budget of 2 s ran out\)/);
    expect(report.steps.find((s) => s.name === "e2e")!.checks.every((c) => c.status === "skip")).toBe(true);
  });

  it("fails step 1 with its back-off when nothing listens, and skips the rest with the reason", async () => {
    const t = performance.now();
    const report = await verifyReady({ server: new HttpKServeServer("http://127.0.0.1:9"), resolutions: [parseResolution("240p")], timeoutS: 1.5 });
    expect(performance.now() - t).toBeLessThan(4000);
    expect(report.steps.map((s) => s.status)).toEqual(["fail", "skip", "skip", "skip", "skip", "pass"]);
    expect(report.steps[0]!.checks[0]!.message).toMatch(/^\/v2\/health\/live not OK after \d+ tries in 1\.\d s \(--timeout 1\.5 s\); last: .*ECONNREFUSED/);
  });
});
