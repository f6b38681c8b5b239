// Video in through ffmpeg (Debian's package): ffprobe for the stream's size and rate, and a separate
// ffmpeg process that decodes to raw RGB24 on its stdout, read frame by frame. Decoding runs in that
// process, so it overlaps whatever this one does while frames wait in the pipe and the queues.
import { spawn, spawnSync, type ChildProcessByStdio } from "node:child_process";
import { stat } from "node:fs/promises";
import type { Readable } from "node:stream";
import { UserError } from "../errors.ts";
import type { RgbFrame } from "../pipeline/frame.ts";

/** What to run on a machine without ffmpeg (Debian/Ubuntu; .ci/run does the same). */
export const FFMPEG_INSTALL = "apt-get install -y --no-install-recommends ffmpeg";

/** PATH values under which both tools ran (a check costs two process starts). */
const foundOn = new Set<string>();

/** Throws a UserError naming the install command when ffmpeg or ffprobe is not on PATH. */
export function requireFfmpeg(): void {
  const path = process.env.PATH ?? "";
  if (foundOn.has(path)) return;
  for (const tool of ["ffmpeg", "ffprobe"]) {
    const r = spawnSync(tool, ["-version"], { stdio: "ignore" });
    if (r.error || r.status !== 0) {
      throw new UserError({ message: `${tool} is not installed or does not run (${r.error ? (r.error as NodeJS.ErrnoException).code : `exit ${r.status}`})`, hint: `install it: ${FFMPEG_INSTALL}` }, 2);
    }
  }
  foundOn.add(path);
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

/** Reads the first video stream's facts; a file that is not a video is a usage error naming it. */
export async function probeVideo(file: string): Promise<VideoInfo> {
  try {
    await stat(file);
  } catch (e) {
    throw new UserError({ file, message: `cannot read the video: ${(e as NodeJS.ErrnoException).code ?? String(e)}`, hint: "pass --video FILE with an existing video file" }, 2);
  }
  requireFfmpeg();
  const r = spawnSync("ffprobe", ["-v", "error", "-select_streams", "v:0", "-show_entries", "stream=codec_name,width,height,r_frame_rate,avg_frame_rate,nb_frames,duration:format=duration", "-of", "json", file], { encoding: "utf8" });
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
    this.child = spawn("ffmpeg", ffmpegDecodeArgs(video, opts), { stdio: ["ignore", "pipe", "pipe"] });
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
