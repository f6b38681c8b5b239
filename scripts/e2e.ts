// npm run e2e: a video through the deployment as the pipeline runs it (seed 002): ffmpeg decode →
// clips → route by resolution → preprocess → infer, pipelined (default) or --sequential, offline or
// realtime; FPS, p95 latency, jitter, CV of instantaneous FPS and the stage split. Flags only.
import { Option } from "commander";
import { command, HEADER_FLAG, headerFlag, numberFlag, runCli, serverHeaders } from "../src/cli.ts";
import { UserError } from "../src/errors.ts";
import { httpE2eServer } from "../src/bench/target.ts";
import { runE2e, type PassPlan } from "../src/e2e/e2e.ts";
import { VIDEO_TOOLS, videoToolsHelp } from "../src/e2e/ffmpeg.ts";
import { formatE2eTable } from "../src/e2e/report.ts";
import type { E2eMode } from "../src/e2e/run.ts";
import { loadCatalog } from "../src/spec/catalog.ts";

interface Flags {
  url: string;
  video: string;
  mode: E2eMode;
  sequential: boolean;
  both: boolean;
  start: string;
  numFrames: string;
  stride: string;
  hop?: string;
  maxClips?: string;
  components?: string[];
  paceFps?: string;
  framesQueue?: string;
  clipsQueue: string;
  decodeThreads?: string;
  ffmpeg?: string;
  ffprobe?: string;
  inFlight: string;
  preprocessOn: "thread" | "main";
  specs: string;
  out: string;
  header: Record<string, string>;
}

const list = (v: string, prev: string[] = []) => [...prev, ...v.split(",").map((s) => s.trim()).filter(Boolean)];

const program = command("e2e", "Run a video through a KServe-v2 server as the pipeline does and report FPS, p95 latency, jitter, CV of FPS and the stage split.")
  .option("--url <url>", "server (env TRITON_HTTP_URL)", process.env.TRITON_HTTP_URL ?? "http://localhost:8000")
  .option(HEADER_FLAG.flags, HEADER_FLAG.description, headerFlag, {} as Record<string, string>)
  .requiredOption("--video <file>", "video file (anything ffmpeg decodes)")
  .addOption(new Option("--mode <mode>", "offline: as fast as it can; realtime: frames released at the source frame rate").choices(["offline", "realtime"]).default("offline"))
  .option("--sequential", "no overlap: decode, preprocess and infer one clip at a time", false)
  .option("--both", "run pipelined, then sequential, and report the ratio", false)
  .option("--start <n>", "first frame of the first clip", "0")
  .option("--num-frames <n>", "frames per clip", "8")
  .option("--stride <n>", "distance between a clip's frames", "1")
  .option("--hop <n>", "distance between clip starts (default num-frames × stride)")
  .option("--max-clips <n>", "stop after this many clips")
  .option("--components <names>", "families or components to run, comma-separated (default: every family with a READY branch)", list)
  .option("--pace-fps <fps>", "realtime pace (default: the video's frame rate)")
  .option("--frames-queue <n>", "decoded-frame queue capacity (default 2 × num-frames)")
  .option("--clips-queue <n>", "complete-clip queue capacity", "2")
  .option("--decode-threads <n>", "ffmpeg decoder threads (default: ffmpeg's choice)")
  .option("--ffmpeg <path>", `ffmpeg binary (env ${VIDEO_TOOLS.ffmpeg.env}; default: PATH, else the npm package's)`)
  .option("--ffprobe <path>", `ffprobe binary (env ${VIDEO_TOOLS.ffprobe.env}; default: PATH, else the npm package's)`)
  .option("--in-flight <n>", "inference requests in flight when pipelined (sequential: always 1)", "1")
  .addOption(new Option("--preprocess-on <where>", "pipelined passes: run the flows (resize, letterbox, post-processing) on a worker thread or on the main thread").choices(["thread", "main"]).default("thread"))
  .option("--specs <dir>", "model spec directory", "model-specs")
  .option("--out <dir>", "parent of the run folder", "benchmarks/out")
  .addHelpText("after", () => `\n${videoToolsHelp()}`);

await runCli(async () => {
  program.parse();
  const f = program.opts<Flags>();
  if (f.sequential && f.both) throw new UserError({ message: "--sequential and --both exclude each other" }, 2);
  const numFrames = numberFlag("--num-frames", f.numFrames, 1);
  const passes: PassPlan[] = f.both ? [{ mode: f.mode, pipelined: true }, { mode: f.mode, pipelined: false }] : [{ mode: f.mode, pipelined: !f.sequential }];
  const run = await runE2e(httpE2eServer(f.url, serverHeaders(f.header)), {
    videoFile: f.video,
    catalog: await loadCatalog(f.specs),
    passes,
    sampling: {
      start: numberFlag("--start", f.start, 0),
      numFrames,
      stride: numberFlag("--stride", f.stride, 1),
      ...(f.hop !== undefined ? { hop: numberFlag("--hop", f.hop, 1) } : {}),
      ...(f.maxClips !== undefined ? { maxClips: numberFlag("--max-clips", f.maxClips, 1) } : {}),
    },
    ...(f.components ? { components: f.components } : {}),
    ...(f.paceFps !== undefined ? { paceFps: numberFlag("--pace-fps", f.paceFps, 0.001, false) } : {}),
    queues: { frames: f.framesQueue !== undefined ? numberFlag("--frames-queue", f.framesQueue, 1) : 2 * numFrames, clips: numberFlag("--clips-queue", f.clipsQueue, 1) },
    ...(f.decodeThreads !== undefined ? { decodeThreads: numberFlag("--decode-threads", f.decodeThreads, 1) } : {}),
    tools: { ...(f.ffmpeg ? { ffmpeg: f.ffmpeg } : {}), ...(f.ffprobe ? { ffprobe: f.ffprobe } : {}) },
    inFlight: numberFlag("--in-flight", f.inFlight, 1),
    preprocessOn: f.preprocessOn,
    outDir: f.out,
    log: (line) => process.stdout.write(`${line}\n`),
  });
  process.stdout.write(`\n${formatE2eTable(run.summary)}\n\nwrote ${run.store.summaryFile}\n      ${run.store.resultsFile} (one line per clip)\n      ${run.htmlFile}\n`);
  return 0;
});
