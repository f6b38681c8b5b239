// The video pipeline end to end on a generated video (ffmpeg's lavfi testsrc2), against an in-process
// server that answers with the right shapes: decode, routing by the video's resolution, clip
// sampling, pipelined and sequential passes, paced realtime, the files a run leaves, and every bad
// input a user can bring (not a video, too small, unreachable server, unknown component, a model that
// fails). ffmpeg and ffprobe come from PATH when a system has them, else from the npm packages that
// ship them; one test hides them from PATH and runs the whole thing through the packaged binaries.
import { chmod, mkdir, mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { median } from "../src/bench/stats.ts";
import { runE2e, type E2eOptions } from "../src/e2e/e2e.ts";
import { describeVideoTools, resolveVideoTool, videoTools, type ToolLookup } from "../src/e2e/ffmpeg.ts";
import { makeTestVideo } from "../src/e2e/test-video.ts";
import { loadCatalog, type Catalog } from "../src/spec/catalog.ts";
import { fakeE2eServer } from "./support/bench-fakes.ts";

let dir: string;
let video: string;
let catalog: Catalog;

beforeAll(async () => {
  console.info(`video tools: ${describeVideoTools(videoTools())}`); // fails the suite saying what to do when one is missing
  dir = await mkdtemp(join(tmpdir(), "e2e-video-"));
  catalog = await loadCatalog("model-specs");
  video = await makeTestVideo({ file: join(dir, "testsrc2-640x360.mp4"), width: 640, height: 360, fps: 25, seconds: 2 });
});

const base = (): Omit<E2eOptions, "passes"> => ({ videoFile: video, catalog, sampling: { start: 0, numFrames: 4, stride: 2 }, outDir: join(dir, "out") });

describe("video e2e", () => {
  it("pipelined and sequential passes route 640×360 to the large branches and agree on what they did", async () => {
    const server = fakeE2eServer(catalog, { delayMs: 2 });
    const run = await runE2e(server, { ...base(), passes: [{ mode: "offline", pipelined: true }, { mode: "offline", pipelined: false }] });
    const s = run.summary;
    expect(s.status).toBe("complete");
    expect(s.video).toMatchObject({ width: 640, height: 360, fps: 25, frames: 50 });
    expect(s.routing.resolved_model_mapping).toEqual({ clip_image: "clip_image_224", clip_text: "clip_text", midas: "midas_512", places365: "places365_resnet50_448", raft: "raft_512", yolo11: "yolo11x_640" });
    // 50 frames, clips of frames k·8 + {0, 2, 4, 6}: 6 whole clips of 4 frames
    // per clip: 4 × (depth, detections, places, CLIP image) + 3 optical-flow pairs = 19 requests
    for (const p of s.passes) {
      expect(p.figures).toMatchObject({ clips: 6, frames: 24 });
      expect(p.requests).toBe(6 * 19);
      const l = p.figures.latencyMs;
      expect(l.count).toBe(6);
      expect(l.p50).toBeLessThanOrEqual(l.p95);
      expect(l.p95).toBeLessThanOrEqual(l.p99);
      expect(p.figures.instantFps).toHaveLength(4); // clips 2…5; the first interval is the fill
      expect(p.figures.fillIntervalFps).toBeGreaterThan(0);
      expect(p.figures.meanFps).toBeCloseTo(24 / (p.figures.wallMs / 1000), 6);
      expect(p.framesDecoded).toBe(50); // no --max-clips: to the end of the video
      // CPU account: this process did the preprocessing (on a thread or not) and HTTP; ffmpeg decoded
      expect(p.cpu.clientS).toBeGreaterThan(0);
      expect(p.cpu.decodeS).toBeGreaterThan(0);
      expect(p.cpu.totalS).toBeCloseTo(p.cpu.clientS + p.cpu.decodeS!, 9);
    }
    expect(s.passes[0]!.queueMax!.prepared).toBeLessThanOrEqual(1);
    expect(s.passes[0]!.queueMax!.frames).toBeLessThanOrEqual(8);
    expect(s.ratios["offline.pipelinedOverSequential"]).toBeGreaterThan(0);
    // warm-up: 29 prompts + one image call, then one synthetic clip as long as the passes' (19
    // requests) on this thread (for the sequential pass) and one on the preprocess thread (pipelined)
    expect(s.setup).toMatchObject({ prompts: 29, warmupRequests: 30 + 19 + 19 });
    expect(server.requests.get("clip_text")).toBe(29);

    // files: summary.json as returned, one line per clip per pass, a self-contained report
    expect(JSON.parse(await readFile(run.store.summaryFile, "utf8"))).toMatchObject({ kind: "triton-deploy.e2e", runId: s.runId, status: "complete" });
    const lines = (await readFile(run.store.resultsFile, "utf8")).trim().split("\n").map((l) => JSON.parse(l));
    expect(lines).toHaveLength(12);
    expect(lines.filter((l) => l.pass === "offline pipelined").map((l) => l.index).sort()).toEqual([0, 1, 2, 3, 4, 5]);
    const html = await readFile(run.htmlFile, "utf8");
    expect(html).toContain("Instantaneous FPS per clip");
    expect(html).not.toMatch(/<script|\b(src|href)=/);
  });

  it("realtime releases frames at the given pace: the run lasts as long as the frames span; offline does not wait", async () => {
    // 8 clips of 2 frames cover frames 0…15; paced at 10 FPS the last is released 1.5 s after the first
    const opts = { ...base(), sampling: { start: 0, numFrames: 2, stride: 1, maxClips: 8 }, components: ["midas"], paceFps: 10 };
    const run = await runE2e(fakeE2eServer(catalog, { delayMs: 1 }), { ...opts, passes: [{ mode: "realtime", pipelined: true }, { mode: "offline", pipelined: true }] });
    const [rt, off] = run.summary.passes;
    expect(rt!.figures.wallMs).toBeGreaterThanOrEqual(1500 - 2);
    // 2 frames every 200 ms: 10 FPS (median: a busy machine makes bursts)
    expect(median(rt!.figures.instantFps)).toBeGreaterThan(6);
    expect(median(rt!.figures.instantFps)).toBeLessThan(16);
    // offline takes what it needs (ffmpeg's start-up, then a few ms per clip), not the frames' span
    expect(off!.figures.wallMs).toBeLessThan(rt!.figures.wallMs);
  });

  it("bad input: not a video, a video below the smallest branch, an unknown component, no server", async () => {
    const server = fakeE2eServer(catalog);
    const text = join(dir, "notes.mp4");
    await writeFile(text, "this is not a video\n");
    await expect(runE2e(server, { ...base(), videoFile: text, passes: [{ mode: "offline", pipelined: true }] })).rejects.toThrow(/notes\.mp4: not a video ffmpeg can decode/);
    await expect(runE2e(server, { ...base(), videoFile: join(dir, "missing.mp4"), passes: [{ mode: "offline", pipelined: true }] })).rejects.toThrow(/cannot read the video: ENOENT/);

    const tiny = await makeTestVideo({ file: join(dir, "tiny.mp4"), width: 160, height: 120, fps: 10, seconds: 1 });
    const small = runE2e(server, { ...base(), videoFile: tiny, passes: [{ mode: "offline", pipelined: true }] });
    await expect(small).rejects.toThrow(/the video is 160×120: its longer side 160 px is below the smallest branch of .*midas \(smallest branch 256 px\).*never upscales/);
    await expect(small).rejects.toMatchObject({ exitCode: 2 });

    await expect(runE2e(server, { ...base(), components: ["sonar"], passes: [{ mode: "offline", pipelined: true }] })).rejects.toThrow(/unknown component or family 'sonar'/);

    const gone = { ...server, url: "http://127.0.0.1:1", readyModels: () => fetch("http://127.0.0.1:1/v2/repository/index").then(() => new Set<string>()) };
    await expect(runE2e(gone, { ...base(), passes: [{ mode: "offline", pipelined: true }] })).rejects.toThrow(/cannot reach a KServe-v2 server at http:\/\/127\.0\.0\.1:1/);
  });

  it("a model that fails mid-run stops the run with its message and leaves a failed summary", async () => {
    const run = runE2e(fakeE2eServer(catalog, { failModel: "midas_512" }), { ...base(), components: ["midas", "yolo11"], passes: [{ mode: "offline", pipelined: true }] });
    // the warm-up meets the failure first
    await expect(run).rejects.toThrow(/the video run failed: HTTP 500: midas_512: CUDA out of memory/);
    await expect(run).rejects.toMatchObject({ exitCode: 1 });
  });
});

describe("ffmpeg and ffprobe without a system install", () => {
  /** A stand-in binary that answers -version with `version`. */
  async function fakeTool(at: string, name: string, version: string, mode = 0o755): Promise<string> {
    await mkdir(at, { recursive: true });
    const file = join(at, name);
    await writeFile(file, `#!/bin/sh\necho "${name} version ${version} Copyright"\n`);
    await chmod(file, mode);
    return file;
  }

  it("with both hidden from PATH, generates, probes and decodes the video through the binaries the npm packages ship", async () => {
    const saved = { PATH: process.env.PATH, FFMPEG_PATH: process.env.FFMPEG_PATH, FFPROBE_PATH: process.env.FFPROBE_PATH };
    const empty = join(dir, "empty-bin");
    await mkdir(empty, { recursive: true });
    process.env.PATH = empty;
    delete process.env.FFMPEG_PATH;
    delete process.env.FFPROBE_PATH;
    try {
      const tools = videoTools();
      expect(tools.ffmpeg.source).toMatch(/^npm package @ffmpeg-installer\/[a-z0-9]+-[a-z0-9]+@\d/);
      expect(tools.ffprobe.source).toMatch(/^npm package @ffprobe-installer\/[a-z0-9]+-[a-z0-9]+@\d/);
      expect(tools.ffmpeg.path).toContain(join("node_modules", "@ffmpeg-installer"));
      const file = await makeTestVideo({ file: join(dir, "packaged-426x240.mkv"), width: 426, height: 240, fps: 25, seconds: 1 });
      const lines: string[] = [];
      const run = await runE2e(fakeE2eServer(catalog), { videoFile: file, catalog, sampling: { start: 0, numFrames: 4, stride: 2 }, components: ["midas", "yolo11"], outDir: join(dir, "out"), passes: [{ mode: "offline", pipelined: true }, { mode: "offline", pipelined: false }], log: (l) => lines.push(l) });
      expect(lines[0]).toBe(describeVideoTools(tools)); // the first line of a run names them
      expect(run.summary.tools).toEqual(tools);
      expect(run.summary.video).toMatchObject({ width: 426, height: 240, fps: 25, codec: "mpeg4" });
      for (const p of run.summary.passes) {
        expect(p.framesDecoded).toBe(25);
        expect(p.figures).toMatchObject({ clips: 3, frames: 12 });
      }
    } finally {
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
  });

  it("takes the flag, else the environment variable, else PATH, else the npm package", async () => {
    const root = join(dir, "lookup-order");
    const onPath = await fakeTool(join(root, "path-bin"), "ffmpeg", "from-path");
    const fromEnv = await fakeTool(join(root, "env-bin"), "ffmpeg", "from-env");
    const fromFlag = await fakeTool(join(root, "flag-bin"), "ffmpeg", "from-flag");
    const packaged = await fakeTool(join(root, "pkg"), "ffmpeg", "from-package");
    const lookup = (env: NodeJS.ProcessEnv): ToolLookup => ({ env, packaged: () => ({ path: packaged, source: "npm package test/ffmpeg@1.0.0" }) });
    const PATH = join(root, "path-bin");
    expect(resolveVideoTool("ffmpeg", fromFlag, lookup({ PATH, FFMPEG_PATH: fromEnv }))).toMatchObject({ path: fromFlag, source: "--ffmpeg", version: "from-flag" });
    expect(resolveVideoTool("ffmpeg", undefined, lookup({ PATH, FFMPEG_PATH: fromEnv }))).toMatchObject({ path: fromEnv, source: "FFMPEG_PATH", version: "from-env" });
    expect(resolveVideoTool("ffmpeg", undefined, lookup({ PATH }))).toMatchObject({ path: onPath, source: "PATH", version: "from-path" });
    expect(resolveVideoTool("ffmpeg", undefined, lookup({ PATH: join(root, "nothing") }))).toMatchObject({ path: packaged, source: "npm package test/ffmpeg@1.0.0", version: "from-package" });
    // a broken system ffmpeg on PATH: the packaged one is used
    const broken = join(root, "broken-bin");
    await mkdir(broken, { recursive: true });
    await writeFile(join(broken, "ffmpeg"), "#!/bin/sh\nexit 3\n");
    await chmod(join(broken, "ffmpeg"), 0o755);
    expect(resolveVideoTool("ffmpeg", undefined, lookup({ PATH: broken })).source).toBe("npm package test/ffmpeg@1.0.0");
  });

  it("says what to do when a named binary does not run, or none is found anywhere", async () => {
    const root = join(dir, "lookup-errors");
    const env = { PATH: join(root, "nothing") };
    const gone: ToolLookup = { env, packaged: () => ({ missing: "Cannot find module '@ffprobe-installer/ffprobe'" }) };
    expect(() => resolveVideoTool("ffprobe", undefined, gone)).toThrow(/ffprobe not found: not on PATH; npm package @ffprobe-installer\/ffprobe: Cannot find module[^]*fix: run npm ci \(it installs @ffprobe-installer\/ffprobe, which ships the binary\), put ffprobe on PATH .*or set FFPROBE_PATH/);
    expect(() => resolveVideoTool("ffmpeg", undefined, { env: { ...env, FFMPEG_PATH: join(root, "no-such-ffmpeg") }, packaged: () => ({ missing: "-" }) })).toThrow(/FFMPEG_PATH: ffmpeg '.*no-such-ffmpeg' does not run \(ENOENT\)[^]*fix: point FFMPEG_PATH at a working ffmpeg/);
    expect(() => resolveVideoTool("ffmpeg", join(root, "no-such-ffmpeg"), gone)).toThrow(/--ffmpeg: ffmpeg '.*' does not run \(ENOENT\)/);
    // a packaged binary whose tarball lost its exec bit (npm runs no install script here to restore it)
    const plain = await fakeTool(join(root, "pkg"), "ffprobe", "x", 0o644);
    expect(() => resolveVideoTool("ffprobe", undefined, { env, packaged: () => ({ path: plain, source: "npm package test" }) })).toThrow(`does not run: EACCES (not executable: chmod u+x ${plain})`);
  });
});
