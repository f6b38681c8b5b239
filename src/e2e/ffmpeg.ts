// Video in through ffmpeg: ffprobe for the stream's size and rate, and a separate ffmpeg process
// that decodes to raw RGB24 on its stdout, read frame by frame. Decoding runs in that process, so it
// overlaps whatever this one does while frames wait in the pipe and the queues.
//
// Each tool is found in this order: a flag (--ffmpeg / --ffprobe), its environment variable
// (FFMPEG_PATH / FFPROBE_PATH), the system PATH, then the static binary an npm dependency ships
// (@ffmpeg-installer/ffmpeg and @ffprobe-installer/ffprobe pull the one for this platform through
// optionalDependencies; the binary is in the tarball, so no install script has to run). A machine
// with Node and `npm ci` behind it therefore needs no system ffmpeg.
import { spawn, spawnSync, type ChildProcessByStdio } from "node:child_process";
import { accessSync, constants, readFileSync, statSync } from "node:fs";
import { stat } from "node:fs/promises";
import { createRequire } from "node:module";
import { delimiter, dirname, join } from "node:path";
import type { Readable } from "node:stream";
import { UserError } from "../errors.ts";
import type { RgbFrame } from "../pipeline/frame.ts";

export type VideoToolName = "ffmpeg" | "ffprobe";

/** Per tool: the flag and environment variable that name it, and the npm package that ships it. */
export const VIDEO_TOOLS = {
  ffmpeg: { flag: "--ffmpeg", env: "FFMPEG_PATH", pkg: "@ffmpeg-installer/ffmpeg" },
  ffprobe: { flag: "--ffprobe", env: "FFPROBE_PATH", pkg: "@ffprobe-installer/ffprobe" },
} as const satisfies Record<VideoToolName, { flag: string; env: string; pkg: string }>;

export interface VideoTool {
  name: VideoToolName;
  /** What is run. */
  path: string;
  /** Where it came from: the flag, the environment variable, "PATH", or the npm package and version. */
  source: string;
  /** The build, from `-version` (e.g. "N-47683-g0e8eb07980-static"). */
  version: string;
}

export interface VideoTools {
  ffmpeg: VideoTool;
  ffprobe: VideoTool;
}

/** Binaries named on the command line (the flags); either may be left out. */
export interface VideoToolChoice {
  ffmpeg?: string;
  ffprobe?: string;
}

/** Where the lookup reads from; tests replace them. */
export interface ToolLookup {
  env?: NodeJS.ProcessEnv;
  /** The binary the npm package ships, or why there is none. */
  packaged?: (name: VideoToolName) => { path: string; source: string } | { missing: string };
}

const require = createRequire(import.meta.url);

/** The binary @ffmpeg-installer/ffmpeg or @ffprobe-installer/ffprobe resolves for this platform. */
export function packagedBinary(name: VideoToolName): { path: string; source: string } | { missing: string } {
  const pkg = VIDEO_TOOLS[name].pkg;
  try {
    const m = require(pkg) as { path: string };
    // the per-platform package the binary is in (e.g. @ffmpeg-installer/linux-x64), with its npm version
    const platformPkg = JSON.parse(readFileSync(join(dirname(m.path), "package.json"), "utf8")) as { name: string; version: string };
    return { path: m.path, source: `npm package ${platformPkg.name}@${platformPkg.version}` };
  } catch (e) {
    return { missing: (e instanceof Error ? e.message : String(e)).split("\n")[0]! };
  }
}

/** The first executable file called `name` in the PATH directories. */
function onPath(name: string, pathEnv: string): string | undefined {
  for (const dir of pathEnv.split(delimiter)) {
    if (!dir) continue;
    const file = join(dir, name);
    try {
      accessSync(file, constants.X_OK);
      if (statSync(file).isFile()) return file;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** Runs `file -version`: its build on success, else why it does not run. */
function versionOf(file: string): { version: string } | { error: string } {
  const r = spawnSync(file, ["-version"], { encoding: "utf8", timeout: 20_000 });
  if (r.error) return { error: (r.error as NodeJS.ErrnoException).code ?? r.error.message };
  if (r.status !== 0) return { error: `exit ${r.status ?? r.signal}` };
  return { version: /version (\S+)/.exec(r.stdout)?.[1] ?? "unknown" };
}

const found = new Map<string, VideoTool>();

/** Finds one tool (flag, environment variable, PATH, npm package) and checks that it runs; with the default lookup, cached per flag, variable and PATH. */
export function resolveVideoTool(name: VideoToolName, flag?: string, lookup: ToolLookup = {}): VideoTool {
  const env = lookup.env ?? process.env;
  const { flag: flagName, env: envName, pkg } = VIDEO_TOOLS[name];
  const key = lookup.env || lookup.packaged ? undefined : JSON.stringify([name, flag, env[envName], env.PATH]);
  const hit = key === undefined ? undefined : found.get(key);
  if (hit) return hit;
  const named = flag ? { path: flag, source: flagName } : env[envName] ? { path: env[envName], source: envName } : undefined;
  let tool: VideoTool | undefined;
  if (named) {
    const v = versionOf(named.path);
    if ("error" in v) {
      throw new UserError({ field: named.source, message: `${name} '${named.path}' does not run (${v.error})`, hint: `point ${named.source} at a working ${name}, or leave it unset to use PATH or the npm package ${pkg}` }, 2);
    }
    tool = { name, ...named, version: v.version };
  } else {
    const tried: string[] = [];
    const system = onPath(name, env.PATH ?? "");
    const candidates: { path: string; source: string }[] = system ? [{ path: system, source: "PATH" }] : [];
    if (!system) tried.push("not on PATH");
    const packaged = (lookup.packaged ?? packagedBinary)(name);
    if ("missing" in packaged) tried.push(`npm package ${pkg}: ${packaged.missing}`);
    else candidates.push(packaged);
    for (const c of candidates) {
      const v = versionOf(c.path);
      if ("version" in v) {
        tool = { name, ...c, version: v.version };
        break;
      }
      tried.push(`${c.path} (${c.source}) does not run: ${v.error}${v.error === "EACCES" ? ` (not executable: chmod u+x ${c.path})` : ""}`);
    }
    if (!tool) {
      throw new UserError({ message: `${name} not found: ${tried.join("; ")}`, hint: `run npm ci (it installs ${pkg}, which ships the binary), put ${name} on PATH (Debian: apt-get install ffmpeg), or set ${envName}` }, 2);
    }
  }
  if (key !== undefined) found.set(key, tool);
  return tool;
}

/** ffmpeg and ffprobe, each from its flag, environment variable, PATH or npm package; a UserError saying what to do when one is missing. */
export function videoTools(choice: VideoToolChoice = {}, lookup: ToolLookup = {}): VideoTools {
  return { ffmpeg: resolveVideoTool("ffmpeg", choice.ffmpeg, lookup), ffprobe: resolveVideoTool("ffprobe", choice.ffprobe, lookup) };
}

/** One line naming the binaries a run uses, e.g. for a command's first line. */
export function describeVideoTools(t: VideoTools): string {
  return [t.ffmpeg, t.ffprobe].map((x) => `${x.name} ${x.path} (${x.source}, ${x.version})`).join("; ");
}

/** Help text: the lookup order and the binaries it finds now (or why not), for `--help`. */
export function videoToolsHelp(): string {
  const { ffmpeg: a, ffprobe: b } = VIDEO_TOOLS;
  const lines = [
    `ffmpeg and ffprobe, the first found of: ${a.flag} / ${b.flag}, ${a.env} / ${b.env}, PATH,`,
    `the npm packages ${a.pkg} / ${b.pkg}. Without flags, these run:`,
  ];
  for (const name of ["ffmpeg", "ffprobe"] as const) {
    try {
      const t = resolveVideoTool(name);
      lines.push(`  ${name.padEnd(8)}${t.path} (${t.source}, ${t.version})`);
    } catch (e) {
      lines.push(`  ${name.padEnd(8)}${e instanceof Error ? e.message : String(e)}`);
    }
  }
  return lines.join("\n");
}

export interface VideoInfo {
  file: string;
  codec: string;
  width: number;
  height: number;
  /** Frames per second (r_frame_rate). */
  fps: number;
  /** Frame count when the container states it, else estimated from duration × fps. */
  frames?: number;
  durationS?: number;
}

function rate(text: string | undefined): number | undefined {
  if (!text) return undefined;
  const [n, d] = text.split("/").map(Number);
  const v = d ? n! / d : n!;
  return Number.isFinite(v) && v > 0 ? v : undefined;
}

/** Reads the first video stream's facts with ffprobe; a file that is not a video is a usage error naming it. */
export async function probeVideo(file: string, tools: VideoTools = videoTools()): Promise<VideoInfo> {
  try {
    await stat(file);
  } catch (e) {
    throw new UserError({ file, message: `cannot read the video: ${(e as NodeJS.ErrnoException).code ?? String(e)}`, hint: "pass --video FILE with an existing video file" }, 2);
  }
  const r = spawnSync(tools.ffprobe.path, ["-v", "error", "-select_streams", "v:0", "-show_entries", "stream=codec_name,width,height,r_frame_rate,avg_frame_rate,nb_frames,duration:format=duration", "-of", "json", file], { encoding: "utf8" });
  const notVideo = (why: string) => new UserError({ file, message: `not a video ffmpeg can decode: ${why}`, hint: "pass a video file (e.g. .mp4, .mkv) with a video stream" }, 2);
  if (r.status !== 0) throw notVideo(firstLine(r.stderr) || `ffprobe exit ${r.status}`);
  let json: { streams?: { codec_name?: string; width?: number; height?: number; r_frame_rate?: string; avg_frame_rate?: string; nb_frames?: string; duration?: string }[]; format?: { duration?: string } };
  try {
    json = JSON.parse(r.stdout);
  } catch {
    throw notVideo("ffprobe gave no readable answer");
  }
  const s = json.streams?.[0];
  if (!s || !s.width || !s.height) throw notVideo("it has no video stream");
  const fps = rate(s.avg_frame_rate) ?? rate(s.r_frame_rate);
  if (!fps) throw notVideo("the video stream has no frame rate");
  const durationS = Number(s.duration ?? json.format?.duration);
  const stated = Number(s.nb_frames);
  const frames = Number.isInteger(stated) && stated > 0 ? stated : Number.isFinite(durationS) ? Math.round(durationS * fps) : undefined;
  return { file, codec: s.codec_name ?? "?", width: s.width, height: s.height, fps, ...(frames !== undefined ? { frames } : {}), ...(Number.isFinite(durationS) ? { durationS } : {}) };
}

function firstLine(s: string): string {
  return s.split("\n").map((l) => l.trim()).find((l) => l.length > 0) ?? "";
}

export interface DecodeOptions {
  /** The ffmpeg binary. @default videoTools().ffmpeg */
  ffmpeg?: VideoTool;
  /** Stop after this many frames (the last one a clip needs). */
  maxFrames?: number;
  /** ffmpeg decoder threads. @default ffmpeg's own choice */
  threads?: number;
}

/** ffmpeg's arguments for decoding `video` to raw RGB24 on stdout. */
export function ffmpegDecodeArgs(video: VideoInfo, opts: DecodeOptions = {}): string[] {
  const args = ["-v", "error", "-nostdin"];
  if (opts.threads !== undefined) args.push("-threads", String(opts.threads));
  args.push("-i", video.file, "-an", "-sn", "-dn");
  if (opts.maxFrames !== undefined) args.push("-frames:v", String(opts.maxFrames));
  args.push("-f", "rawvideo", "-pix_fmt", "rgb24", "-");
  return args;
}

/** Decoded frames in order: `next()` gives the next one, undefined at the end, and rejects when decoding fails. */
export interface FrameSource {
  next(): Promise<RgbFrame | undefined>;
  close(): Promise<void>;
  /** Frames handed out so far. */
  readonly count: number;
  /** Milliseconds the caller spent waiting inside next(). */
  readonly waitMs: number;
}

/**
 * Frames of `video`, in order, as RGB24, read on this thread. `next()` resolves with the next frame, or undefined at the
 * end; it rejects when ffmpeg fails, with its message. Bytes are read only as fast as `next()` is
 * called, so a caller that stops asking pauses the decoder (the pipe fills and ffmpeg blocks).
 */
export class FrameDecoder implements FrameSource {
  private readonly child: ChildProcessByStdio<null, Readable, Readable>;
  private readonly frameBytes: number;
  private stderr = "";
  private ended = false;
  private failure: Error | undefined;
  private exit: Promise<number | null>;
  private wake: (() => void) | undefined;
  /** Frames handed out so far. */
  count = 0;
  /** Milliseconds spent waiting inside next() for bytes (the decode stage's time as seen from here). */
  waitMs = 0;

  constructor(readonly video: VideoInfo, opts: DecodeOptions = {}) {
    this.frameBytes = video.width * video.height * 3;
    this.child = spawn((opts.ffmpeg ?? resolveVideoTool("ffmpeg")).path, ffmpegDecodeArgs(video, opts), { stdio: ["ignore", "pipe", "pipe"] });
    this.child.stderr.setEncoding("utf8");
    this.child.stderr.on("data", (d: string) => {
      if (this.stderr.length < 65536) this.stderr += d;
    });
    const poke = () => {
      const w = this.wake;
      this.wake = undefined;
      w?.();
    };
    this.child.stdout.on("readable", poke);
    this.child.stdout.on("end", () => {
      this.ended = true;
      poke();
    });
    this.child.on("error", (e) => {
      this.failure = e;
      poke();
    });
    this.exit = new Promise((resolve) => this.child.on("close", (code) => resolve(code)));
  }

  async next(): Promise<RgbFrame | undefined> {
    const t0 = performance.now();
    try {
      for (;;) {
        if (this.failure) throw this.decodeError(this.failure.message);
        const chunk = this.child.stdout.read(this.frameBytes) as Buffer | null;
        if (chunk && chunk.length === this.frameBytes) {
          this.count++;
          return { width: this.video.width, height: this.video.height, data: new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length) };
        }
        if (chunk) throw this.decodeError(`the stream ended inside frame ${this.count} (${chunk.length} of ${this.frameBytes} bytes)`);
        if (this.ended) {
          const code = await this.exit;
          if (code !== 0 && code !== null) throw this.decodeError(firstLine(this.stderr) || `ffmpeg exit ${code}`);
          return undefined;
        }
        await new Promise<void>((r) => (this.wake = r));
      }
    } finally {
      this.waitMs += performance.now() - t0;
    }
  }

  private decodeError(why: string): UserError {
    return new UserError({ file: this.video.file, message: `decoding failed after ${this.count} frame(s): ${why}`, hint: "check the file plays (ffmpeg -i FILE -f null -)" }, 1);
  }

  /** Stops ffmpeg (a run that needs no more frames, or one that failed). */
  async close(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill("SIGTERM");
    this.child.stdout.destroy();
    await this.exit;
  }
}
