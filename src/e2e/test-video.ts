// Generated test videos: ffmpeg's lavfi `testsrc2` (moving patterns, a frame counter) encoded with
// the built-in MPEG-4 part 2 encoder, which every ffmpeg build has (the packaged static build too). Tests and bench:e2e use these
// instead of committed media.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { UserError } from "../errors.ts";
import { resolveVideoTool, type VideoTool } from "./ffmpeg.ts";

const run = promisify(execFile);

export interface TestVideo {
  /** Output file; the extension picks the container (.mp4, .mkv, .avi). */
  file: string;
  width: number;
  height: number;
  fps: number;
  seconds: number;
}

/** Writes the video with `ffmpeg` (default: the one the lookup finds: flag, FFMPEG_PATH, PATH, npm package). */
export async function makeTestVideo(v: TestVideo, ffmpeg: VideoTool = resolveVideoTool("ffmpeg")): Promise<string> {
  const src = `testsrc2=size=${v.width}x${v.height}:rate=${v.fps}:duration=${v.seconds}`;
  try {
    await run(ffmpeg.path, ["-v", "error", "-nostdin", "-y", "-f", "lavfi", "-i", src, "-c:v", "mpeg4", "-q:v", "4", "-pix_fmt", "yuv420p", v.file]);
  } catch (e) {
    throw new UserError({ file: v.file, message: `ffmpeg could not write the test video: ${(e as { stderr?: string }).stderr?.trim() || String(e)}` }, 1);
  }
  return v.file;
}
