// Image resizing in TypeScript, so a client needs no native image library. Bilinear with half-pixel
// centres, the convention of OpenCV's INTER_LINEAR and PyTorch's align_corners=False:
//   src = (dst + 0.5) · (srcSize / dstSize) − 0.5, clamped to [0, srcSize − 1],
// each output byte rounded to nearest. Results can differ from OpenCV by ±1 (it uses 11-bit fixed
// point); everything here is deterministic, which is what checks need.
import { FRESH_BUFFERS, type Buffers } from "./buffers.ts";
import { checkFrameSize, type RgbFrame } from "./frame.ts";

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

/**
 * Bilinear resize of an RGB frame to `width × height` (aspect ratio not kept; see letterbox.ts for that).
 * Separable: each source row a destination row needs is interpolated along x once (two rows kept),
 * then pairs of those rows are blended along y. The arithmetic per value is the one of the direct
 * formula, (s00·(1−wx) + s01·wx)·(1−wy) + (s10·(1−wx) + s11·wx)·wy, rounded half up. The
 * output's bytes come from `buffers` (every one is written).
 */
export function resizeBilinear(frame: RgbFrame, width: number, height: number, buffers: Buffers = FRESH_BUFFERS): RgbFrame {
  checkFrameSize(width, height);
  const out: RgbFrame = { width, height, data: new Uint8Array(buffers.take(width * height * 3)) };
  if (width === frame.width && height === frame.height) {
    out.data.set(frame.data);
    return out;
  }
  const tx = taps(frame.width, width);
  const ty = taps(frame.height, height);
  const src = frame.data;
  const dst = out.data;
  const srcRow = frame.width * 3;
  const dstRow = width * 3;
  // byte offsets of each destination column's two source pixels within a row
  const c0 = new Int32Array(width);
  const c1 = new Int32Array(width);
  for (let x = 0; x < width; x++) {
    c0[x] = tx.lo[x]! * 3;
    c1[x] = tx.hi[x]! * 3;
  }
  const rows = [new Float64Array(dstRow), new Float64Array(dstRow)];
  const held = [-1, -1];
  /** Source row `r` interpolated along x, in one of the two slots (never the one holding `keep`). */
  const row = (r: number, keep: number): Float64Array => {
    const slot = held[0] === r ? 0 : held[1] === r ? 1 : held[0] === keep ? 1 : 0;
    const line = rows[slot]!;
    if (held[slot] !== r) {
      held[slot] = r;
      const base = r * srcRow;
      for (let x = 0, o = 0; x < width; x++, o += 3) {
        const wx = tx.w[x]!;
        const w0 = 1 - wx;
        const a = base + c0[x]!;
        const b = base + c1[x]!;
        line[o] = src[a]! * w0 + src[b]! * wx;
        line[o + 1] = src[a + 1]! * w0 + src[b + 1]! * wx;
        line[o + 2] = src[a + 2]! * w0 + src[b + 2]! * wx;
      }
    }
    return line;
  };
  for (let y = 0; y < height; y++) {
    const r0 = ty.lo[y]!;
    const r1 = ty.hi[y]!;
    const top = row(r0, r1);
    const bottom = r1 === r0 ? top : row(r1, r0);
    const wy = ty.w[y]!;
    const w0 = 1 - wy;
    const o = y * dstRow;
    // + 0.5 then truncate: Math.round for values ≥ 0.5 (exactly), several times faster than a Math.round call here
    for (let i = 0; i < dstRow; i++) dst[o + i] = (top[i]! * w0 + bottom[i]! * wy + 0.5) | 0;
  }
  return out;
}
