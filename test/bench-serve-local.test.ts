// npm run bench and npm run e2e as a user runs them, briefly, against serve-local over fixture
// models: exit codes, the files under --out/<run-id>/ and numbers that hang together (p50 ≤ p95 ≤
// p99, counts that match between summary.json and results.jsonl), --compare, and the errors a user
// meets (unknown model, nothing listening).
import { existsSync } from "node:fs";
import { spawn } from "node:child_process";
import { mkdtemp, readdir, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BenchSummary, ResultLine } from "../src/bench/summary.ts";
import type { E2eSummary } from "../src/e2e/e2e.ts";
import { describeVideoTools, videoTools } from "../src/e2e/ffmpeg.ts";
import { makeTestVideo } from "../src/e2e/test-video.ts";
import { closedPort, REPO_ROOT, runScript, serveFixtures, type ServedFixtures } from "./support/bench-serve-local.ts";

let served: ServedFixtures;
let out: string;

beforeAll(async () => {
  console.info(`video tools: ${describeVideoTools(videoTools())}`); // from PATH, else the npm packages
  out = await mkdtemp(join(tmpdir(), "bench-out-"));
  served = await serveFixtures(["midas_256", "yolo11x_320", "clip_text"]);
});

afterAll(async () => {
  await served?.close();
});

async function lastRun(stdout: string): Promise<string> {
  const m = /wrote (\S+)summary\.json/.exec(stdout) ?? /wrote (\S+)\/summary\.json/.exec(stdout);
  if (!m) throw new Error(`no summary path in:\n${stdout}`);
  return m[1]!.replace(/\/$/, "");
}

describe("npm run bench against serve-local", () => {
  const runs: string[] = [];

  it("measures each model at each concurrency and leaves consistent files", async () => {
    const r = await runScript("scripts/bench.ts", ["--url", served.server.url, "--models", "midas_256,yolo11x_320", "--repeats", "6", "--warmup", "1", "--concurrency", "1,2", "--out", out]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/midas_256\s*│\s*256\s*│\s*1\s*│\s*6\/6/);
    const dir = await lastRun(r.stdout);
    runs.push(dir);
    expect(dir).toMatch(/bench-\d{8}-\d{6}(-\d+)?$/);
    const s = JSON.parse(await readFile(join(dir, "summary.json"), "utf8")) as BenchSummary;
    expect(s).toMatchObject({ kind: "triton-deploy.bench", status: "complete", url: served.server.url, config: { models: ["midas_256", "yolo11x_320"], repeats: 6, warmup: 1, concurrency: [1, 2] } });
    expect(s.measurements.map((m) => [m.model, m.concurrency, m.size])).toEqual([["midas_256", 1, 256], ["midas_256", 2, 256], ["yolo11x_320", 1, 320], ["yolo11x_320", 2, 320]]);
    const lines = (await readFile(join(dir, "results.jsonl"), "utf8")).trim().split("\n").map((l) => JSON.parse(l) as ResultLine);
    for (const m of s.measurements) {
      expect(m).toMatchObject({ status: "ok", requests: 6, ok: 6, errors: 0 });
      const l = m.latencyMs!;
      expect(l.count).toBe(6);
      expect(m.samplesMs).toHaveLength(6);
      expect(l.min).toBeLessThanOrEqual(l.p50);
      expect(l.p50).toBeLessThanOrEqual(l.p95);
      expect(l.p95).toBeLessThanOrEqual(l.p99);
      expect(l.p99).toBeLessThanOrEqual(l.max);
      expect(m.throughput).toBeGreaterThan(0);
      const mine = lines.filter((x) => x.model === m.model && x.concurrency === m.concurrency);
      expect(mine).toHaveLength(6);
      expect(mine.every((x) => x.ok && x.runId === s.runId)).toBe(true);
      expect(mine.map((x) => x.latencyMs).sort((a, b) => a - b)).toEqual([...m.samplesMs].sort((a, b) => a - b));
    }
    expect(s.measurements[0]!.inputBytes).toBe(256 * 256 * 3); // UINT8 [1,256,256,3] into the ensemble
    // serve-local has no GPU metrics: the memory step says so and touches nothing
    expect(s.memory).toMatchObject({ status: "skipped" });
    expect(existsSync(join(dir, "measured-memory.json"))).toBe(false);
    const html = await readFile(join(dir, "report.html"), "utf8");
    expect(html).toContain("p50 latency by model and branch size, concurrency 2");
  });

  it("--compare prints the change between two runs", async () => {
    const r = await runScript("scripts/bench.ts", ["--url", served.server.url, "--models", "midas_256", "--repeats", "3", "--warmup", "0", "--out", out, "--no-memory"]);
    expect(r.code, r.stderr).toBe(0);
    runs.push(await lastRun(r.stdout));
    const c = await runScript("scripts/bench.ts", ["--compare", runs[0]!, runs[1]!]);
    expect(c.code, c.stderr).toBe(0);
    expect(c.stdout).toMatch(/midas_256\s*│\s*1\s*│\s*[\d.]+ → [\d.]+\s*│\s*[+-][\d.]+ %/);
    expect(c.stdout).toMatch(/yolo11x_320\s*│\s*1\s*│\s*[\d.]+ → —/);
  });

  it("Ctrl-C mid-run keeps a valid partial summary marked interrupted, and exits 1", async () => {
    const dir = await mkdtemp(join(tmpdir(), "bench-int-"));
    const child = spawn(process.execPath, ["--import", "tsx", "scripts/bench.ts", "--url", served.server.url, "--models", "clip_text,midas_256,yolo11x_320", "--repeats", "400", "--warmup", "0", "--out", dir, "--no-memory"], { cwd: REPO_ROOT, stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((r) => child.on("close", (code) => r(code)));
    // wait for the first finished measurement in summary.json, then interrupt
    let summaryFile = "";
    for (let i = 0; i < 300 && !summaryFile; i++) {
      await new Promise((r) => setTimeout(r, 100));
      const runs = existsSync(dir) ? await readdir(dir) : [];
      const f = runs[0] ? join(dir, runs[0], "summary.json") : "";
      if (f && existsSync(f) && (JSON.parse(await readFile(f, "utf8")) as BenchSummary).measurements.length > 0) summaryFile = f;
    }
    expect(summaryFile, "no measurement finished in 30 s").not.toBe("");
    child.kill("SIGINT");
    expect(await exited).toBe(1);
    expect(stderr).toContain("interrupted; the partial summary is in");
    const s = JSON.parse(await readFile(summaryFile, "utf8")) as BenchSummary;
    expect(s.status).toBe("interrupted");
    expect(s.measurements.length).toBeGreaterThanOrEqual(1);
    expect(s.measurements.length).toBeLessThan(3);
    expect(s.measurements[0]).toMatchObject({ model: "clip_text", status: "ok", ok: 400 });
    const lines = (await readFile(join(dirname(summaryFile), "results.jsonl"), "utf8")).trim().split("\n");
    expect(lines.length).toBeGreaterThanOrEqual(400);
    expect(existsSync(join(dirname(summaryFile), "report.html"))).toBe(true);
  });

  it("an unknown model exits 2 naming it and the server's models; nothing listening exits 1", async () => {
    const unknown = await runScript("scripts/bench.ts", ["--url", served.server.url, "--models", "midas_999", "--out", out]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("unknown model 'midas_999': the server's repository has no such model");
    expect(unknown.stderr).toContain("midas_256");
    const port = await closedPort();
    const gone = await runScript("scripts/bench.ts", ["--url", `http://127.0.0.1:${port}`, "--out", out]);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toContain(`cannot reach a KServe-v2 server at http://127.0.0.1:${port}`);
    expect(gone.stderr).not.toMatch(/\n\s+at /);
  });
});

describe("npm run e2e against serve-local", () => {
  it("--help names the ffmpeg and ffprobe it would run, and where they come from", async () => {
    const r = await runScript("scripts/e2e.ts", ["--help"]);
    expect(r.code).toBe(0);
    const t = videoTools();
    expect(r.stdout).toMatch(/--ffmpeg <path>\s+ffmpeg binary \(env FFMPEG_PATH/);
    expect(r.stdout).toContain(`  ffmpeg  ${t.ffmpeg.path} (${t.ffmpeg.source}, ${t.ffmpeg.version})`);
    expect(r.stdout).toContain(`  ffprobe ${t.ffprobe.path} (${t.ffprobe.source}, ${t.ffprobe.version})`);
  });

  it("runs a generated video pipelined and sequential and reports FPS, p95, jitter and CV", async () => {
    const video = await makeTestVideo({ file: join(out, "testsrc2-426x240.mp4"), width: 426, height: 240, fps: 25, seconds: 1 });
    const r = await runScript("scripts/e2e.ts", ["--url", served.server.url, "--video", video, "--both", "--num-frames", "4", "--stride", "2", "--components", "midas,yolo11", "--out", out]);
    expect(r.code, r.stderr).toBe(0);
    // the first line names the binaries it runs
    expect(r.stdout.split("\n")[0]).toBe(describeVideoTools(videoTools()));
    expect(r.stdout).toContain("offline.pipelinedOverSequential");
    const s = JSON.parse(await readFile(join(await lastRun(r.stdout), "summary.json"), "utf8")) as E2eSummary;
    expect(s.tools).toEqual(videoTools());
    expect(s.routing.resolved_model_mapping).toEqual({ midas: "midas_256", yolo11: "yolo11x_320" });
    expect(s.passes.map((p) => p.name)).toEqual(["offline pipelined", "offline sequential"]);
    for (const p of s.passes) {
      // 25 frames, clips of frames 8k + {0, 2, 4, 6}: 3 clips; per clip 4 depth + 4 detection calls
      expect(p.figures).toMatchObject({ clips: 3, frames: 12 });
      expect(p.requests).toBe(3 * 8);
      expect(p.figures.latencyMs.p50).toBeLessThanOrEqual(p.figures.latencyMs.p95);
    }
  });
});
