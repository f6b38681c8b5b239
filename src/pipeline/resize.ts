// Image resizing in TypeScript, so a client needs no native image library. Bilinear with half-pixel
// centres, the convention of OpenCV's INTER_LINEAR and PyTorch's align_corners=False:
//   src = (dst + 0.5) · (srcSize / dstSize) − 0.5, clamped to [0, srcSize − 1],
// each output byte rounded to nearest. Results can differ from OpenCV by ±1 (it uses 11-bit fixed
// point); everything here is deterministic, which is what checks need.
import { emptyFrame, type RgbFrame } from "./frame.ts";

interface Taps {
  lo: Int32Array;
  hi: Int32Array;
  /** Weight of `hi`; `lo` gets 1 − w. */
  w: Float64Array;
}

/** Source taps of every destination coordinate along one axis. */
function taps(src: number, dst: number): Taps {
  const lo = new Int32Array(dst);
  const hi = new Int32Array(dst);
  const w = new Float64Array(dst);
  const scale = src / dst;
  for (let d = 0; d < dst; d++) {
    const s = Math.min(Math.max((d + 0.5) * scale - 0.5, 0), src - 1);
    const i = Math.floor(s);
    lo[d] = i;
    hi[d] = Math.min(i + 1, src - 1);
    w[d] = s - i;
  }
  return { lo, hi, w };
}

/** Bilinear resize of an RGB frame to `width × height` (aspect ratio not kept; see letterbox.ts for that). */
export function resizeBilinear(frame: RgbFrame, width: number, height: number): RgbFrame {
  const out = emptyFrame(width, height);
  if (width === frame.width && height === frame.height) {
    out.data.set(frame.data);
    return out;
  }
  const tx = taps(frame.width, width);
  const ty = taps(frame.height, height);
  const src = frame.data;
  const dst = out.data;
  const rowBytes = frame.width * 3;
  for (let y = 0; y < height; y++) {
    const r0 = ty.lo[y]! * rowBytes;
    const r1 = ty.hi[y]! * rowBytes;
    const wy = ty.w[y]!;
    for (let x = 0; x < width; x++) {
      const c0 = tx.lo[x]! * 3;
      const c1 = tx.hi[x]! * 3;
      const wx = tx.w[x]!;
      const o = (y * width + x) * 3;
      for (let c = 0; c < 3; c++) {
        const top = src[r0 + c0 + c]! * (1 - wx) + src[r0 + c1 + c]! * wx;
        const bottom = src[r1 + c0 + c]! * (1 - wx) + src[r1 + c1 + c]! * wx;
        dst[o + c] = Math.round(top * (1 - wy) + bottom * wy);
      }
    }
  }
  return out;
}
