// The gate, bench and e2e as users run them, against serve-local in its Triton-faithful default
// (--exit-on-error=true, metrics on, binary outputs only when each listed output asks) with the
// model-repository API restricted as the deployment restricts it. With --header they pass; without
// it each says "this API is restricted: pass --header NAME=…", never "cannot reach the server".
// A recording proxy between them and serve-local checks on the wire that every inference request
// lists each output with parameters.binary_data: true.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BenchSummary } from "../src/bench/summary.ts";
import { videoTools } from "../src/e2e/ffmpeg.ts";
import { makeTestVideo } from "../src/e2e/test-video.ts";
import { loadPlan } from "../src/plan/load.ts";
import { startServer } from "../src/serve/index.ts";
import type { LocalServer } from "../src/verify/local-server.ts";
import { runScript } from "./support/bench-serve-local.ts";
import { makeVerifyWorkspace, type VerifyWorkspace } from "./support/verify-workspace.ts";
import { startWireRecorder, type WireRecorder } from "./support/wire-recorder.ts";

const HEADER = "triton-repository-key";
const KEY = "k-3f9a";
const RESTRICTED = `this API is restricted: pass --header ${HEADER}=…`;

const { plan } = await loadPlan({ profile: "gpu-local" });
let ws: VerifyWorkspace;
let server: LocalServer;
let wire: WireRecorder;
let video: string;

beforeAll(async () => {
  videoTools(); // fails the suite saying what to do when ffmpeg or ffprobe cannot be found
  ws = await makeVerifyWorkspace();
  server = await ws.serve({ loadModels: plan.loadModels, extraArgs: ["--http-restricted-api", `model-repository:${HEADER}=${KEY}`] });
  wire = await startWireRecorder(server.url);
  video = await makeTestVideo({ file: join(ws.root, "clip-426x240.mp4"), width: 426, height: 240, fps: 25, seconds: 1 });
}, 240_000);

afterAll(async () => {
  await wire?.close();
  await ws?.cleanup();
});

const out = () => join(ws.root, "out");

describe("against serve-local's Triton-faithful default, model-repository API restricted", () => {
  it("verify-ready passes with --header, and without it names the header to pass", async () => {
    const ok = await runScript("scripts/verify-ready.ts", ["--url", wire.url, "--header", `${HEADER}=${KEY}`, "--onnx-root", ws.onnxRoot, "--resolutions", "240p", "--timeout", "150", "--quiet"], 180_000);
    expect(ok.code, ok.stdout + ok.stderr).toBe(0);
    const denied = await runScript("scripts/verify-ready.ts", ["--url", wire.url, "--onnx-root", ws.onnxRoot, "--resolutions", "240p", "--timeout", "60", "--quiet"], 90_000);
    expect(denied.code).toBe(1);
    expect(denied.stdout).toContain(RESTRICTED);
    expect(denied.stdout).not.toMatch(/cannot be reached/);
  }, 300_000);

  it("bench passes with --header and reads the server-side time from serve-local's metrics; without it names the header", async () => {
    const ok = await runScript("scripts/bench.ts", ["--url", wire.url, "--header", `${HEADER}=${KEY}`, "--metrics-url", server.metricsUrl!, "--models", "midas_256,clip_text", "--repeats", "3", "--warmup", "1", "--out", out(), "--no-memory"], 120_000);
    expect(ok.code, ok.stdout + ok.stderr).toBe(0);
    const dir = /wrote (\S+)\/summary\.json/.exec(ok.stdout)![1]!;
    const s = JSON.parse(await readFile(join(dir, "summary.json"), "utf8")) as BenchSummary;
    for (const m of s.measurements) {
      const st = m.serverTime!;
      expect(st, m.model).toMatchObject({ requests: 3 });
      expect(st.requestUs).toBeGreaterThan(0);
      expect(st.requestUs / 1000).toBeLessThanOrEqual(m.latencyMs!.max);
      // queue time runs from the request's arrival (reading its body included) to its run, as
      // Triton's scheduler counts it; each phase is truncated to whole µs before it is added
      expect(st.queueUs, m.model).toBeGreaterThan(0);
      expect(st.queueUs + st.computeInputUs + st.computeInferUs + st.computeOutputUs).toBeLessThanOrEqual(st.requestUs);
    }
    const denied = await runScript("scripts/bench.ts", ["--url", wire.url, "--models", "midas_256", "--out", out(), "--no-memory"], 60_000);
    expect(denied.code).toBe(1);
    expect(denied.stderr).toContain(RESTRICTED);
    expect(denied.stderr).not.toMatch(/cannot reach/);
  }, 240_000);

  it("e2e passes with --header, and without it names the header", async () => {
    const args = ["--url", wire.url, "--video", video, "--components", "midas,yolo11", "--num-frames", "2", "--max-clips", "2", "--out", out()];
    const ok = await runScript("scripts/e2e.ts", [...args, "--header", `${HEADER}=${KEY}`], 120_000);
    expect(ok.code, ok.stdout + ok.stderr).toBe(0);
    const denied = await runScript("scripts/e2e.ts", args, 60_000);
    expect(denied.code).toBe(1);
    expect(denied.stderr).toContain(RESTRICTED);
  }, 240_000);

  it("bench:e2e with --url passes with --header, and without it names the header", async () => {
    const dir = join(out(), "bench-e2e");
    const args = ["benchmarks/e2e-pipeline.ts", "--url", wire.url, "--out", dir, "--components", "midas", "--rounds", "1", "--seconds", "1", "--width", "426", "--height", "240", "--num-frames", "2", "--max-clips", "2", "--realtime-num-frames", "2"];
    const ok = await runScript(args[0]!, [...args.slice(1), "--header", `${HEADER}=${KEY}`], 180_000);
    // exit 0 or 1 is the goals' verdict on this machine; what matters here is that it ran through
    expect(ok.stdout, ok.stdout + ok.stderr).toMatch(/offline wall time, median of 1: pipelined/);
    const result = JSON.parse(await readFile(join(dir, "e2e-pipeline.json"), "utf8")) as { url: string; requestsPerPass: number };
    expect(result).toMatchObject({ url: wire.url, server: "given" });
    expect(result.requestsPerPass).toBeGreaterThan(0);
    const denied = await runScript(args[0]!, args.slice(1), 60_000);
    expect(denied.code).toBe(1);
    expect(denied.stderr).toContain(RESTRICTED);
  }, 300_000);

  it("bench:serve with --url passes with --header where inference and configs are restricted, and without it names the header", async () => {
    const restricted = await startServer({ repo: ws.repo, port: 0, metricsPort: null, loadModels: ["midas_256"], restrictedApis: [{ categories: ["inference", "model-config"], header: HEADER, value: KEY }] });
    try {
      const dir = join(out(), "bench-serve");
      const args = ["--url", restricted.url, "--ensembles", "midas_256", "--runs", "3", "--warmup", "1", "--block", "1", "--out", dir];
      const ok = await runScript("benchmarks/serve-overhead.ts", [...args, "--header", `${HEADER}=${KEY}`], 120_000);
      expect(ok.stdout, ok.stdout + ok.stderr).toContain("ensemble midas_256 (preprocess: preprocess_midas_256, python) vs its bare model midas_256_onnx: same image, equal answers");
      const result = JSON.parse(await readFile(join(dir, "serve-overhead.json"), "utf8")) as { ensembles: { ensemble: string; ratio: number }[] };
      expect(result.ensembles.map((e) => e.ensemble)).toEqual(["midas_256"]);
      const denied = await runScript("benchmarks/serve-overhead.ts", args, 60_000);
      expect(denied.code).toBe(1);
      expect(denied.stderr).toContain(RESTRICTED);
    } finally {
      await restricted.close();
    }
  }, 240_000);

  it("on the wire, every inference request the tools sent lists each output with binary_data: true", () => {
    const infers = wire.inferences();
    expect(infers.length).toBeGreaterThan(50);
    const bad = infers.filter((r) => !r.json.outputs?.length || !r.json.outputs.every((o) => o.parameters?.binary_data === true));
    expect(bad.map((r) => `${r.path}: ${JSON.stringify(r.json.outputs)}`)).toEqual([]);
    // and every answer to them was binary (the proxy saw the header length come back)
    expect(infers.every((r) => r.status === 200 && r.binaryAnswer === true)).toBe(true);
    // the repository API calls that passed carried the header
    expect(wire.requests.filter((r) => r.path.startsWith("/v2/repository") && r.status === 200).every((r) => r.headers[HEADER] === KEY)).toBe(true);
  });
});
