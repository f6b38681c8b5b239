// YOLO's letterbox: fit the frame into the branch's square without changing its aspect ratio and
// never upscaling (seed 001: "upscale запрещён"), pad the rest with grey 114, then scale to [0, 1].
// The geometry is kept so detections can be mapped back to source pixels.
import { FRESH_BUFFERS, type Buffers } from "./buffers.ts";
import type { RgbFrame } from "./frame.ts";
import { resizeBilinear } from "./resize.ts";

export interface LetterboxGeometry {
  /** Side S of the square the model takes. */
  size: number;
  srcWidth: number;
  srcHeight: number;
  /** Source → square scale: min(S/W, S/H, 1); 1 for a frame that already fits (no upscaling). */
  scale: number;
  /** The frame's size inside the square: round(W·scale) × round(H·scale). */
  width: number;
  height: number;
  /** Padding left and above: floor((S − width) / 2), floor((S − height) / 2); the odd pixel goes right/below. */
  padLeft: number;
  padTop: number;
}

export function letterboxGeometry(srcWidth: number, srcHeight: number, size: number): LetterboxGeometry {
  if (![srcWidth, srcHeight, size].every((v) => Number.isInteger(v) && v > 0)) {
    throw new RangeError(`letterbox needs positive integer sizes, got ${srcWidth}×${srcHeight} into ${size}`);
  }
  const scale = Math.min(size / srcWidth, size / srcHeight, 1);
  const width = Math.min(size, Math.max(1, Math.round(srcWidth * scale)));
  const height = Math.min(size, Math.max(1, Math.round(srcHeight * scale)));
  return { size, srcWidth, srcHeight, scale, width, height, padLeft: Math.floor((size - width) / 2), padTop: Math.floor((size - height) / 2) };
}

/** The letterboxed S×S RGB image: the (downscaled) frame centred on a `pad`-grey square. */
export function letterboxImage(frame: RgbFrame, size: number, pad = 114): { image: RgbFrame; geometry: LetterboxGeometry } {
  const g = letterboxGeometry(frame.width, frame.height, size);
  const inner = g.width === frame.width && g.height === frame.height ? frame : resizeBilinear(frame, g.width, g.height);
  const data = new Uint8Array(size * size * 3).fill(pad);
  for (let y = 0; y < g.height; y++) {
    data.set(inner.data.subarray(y * g.width * 3, (y + 1) * g.width * 3), ((y + g.padTop) * size + g.padLeft) * 3);
  }
  return { image: { width: size, height: size, data }, geometry: g };
}

/**
 * The model input: the letterboxed image as FP32 NCHW [1, 3, S, S], each byte divided by `divisor`
 * in float32 (the YOLO export takes RGB in [0, 1]). Written straight into the planes: the padding
 * value filled per plane, the (downscaled) frame's pixels spread over them; the planes' memory
 * comes from `opts.buffers`.
 */
export function letterboxTensor(frame: RgbFrame, size: number, opts: { pad?: number; divisor?: number; buffers?: Buffers } = {}): { data: Float32Array; geometry: LetterboxGeometry } {
  const g = letterboxGeometry(frame.width, frame.height, size);
  const inner = g.width === frame.width && g.height === frame.height ? frame : resizeBilinear(frame, g.width, g.height);
  const lut = byteScale(opts.divisor ?? 255);
  const hw = size * size;
  const buffers = opts.buffers ?? FRESH_BUFFERS;
  const data = new Float32Array(buffers.take(3 * hw * 4)).fill(lut[opts.pad ?? 114]!);
  const src = inner.data;
  for (let c = 0; c < 3; c++) {
    for (let y = 0; y < g.height; y++) {
      const o = c * hw + (y + g.padTop) * size + g.padLeft;
      for (let x = 0, i = y * g.width * 3 + c; x < g.width; x++, i += 3) data[o + x] = lut[src[i]!]!;
    }
  }
  return { data, geometry: g };
}

/** The 256 float32 values x / divisor, x = 0 … 255: a lookup instead of a division per value. */
function byteScale(divisor: number): Float32Array {
  const d = Math.fround(divisor);
  const lut = new Float32Array(256);
  for (let x = 0; x < 256; x++) lut[x] = x / d;
  return lut;
}

/** RGB HWC bytes → FP32 NCHW [1, 3, H, W], x / divisor rounded to float32. */
export function nchwFloat(image: RgbFrame, divisor: number): Float32Array {
  const hw = image.width * image.height;
  const out = new Float32Array(3 * hw);
  const lut = byteScale(divisor);
  const src = image.data;
  for (let c = 0; c < 3; c++) {
    const plane = c * hw;
    for (let p = 0, i = c; p < hw; p++, i += 3) out[plane + p] = lut[src[i]!]!;
  }
  return out;
}

/** A box [x1, y1, x2, y2] in the letterboxed square → source pixels, clipped to the frame. */
export function boxToSource(box: readonly [number, number, number, number], g: LetterboxGeometry): [number, number, number, number] {
  // The inner image is round(W·scale) wide, so its exact per-axis scale is width/W, not `scale`.
  const sx = g.width / g.srcWidth;
  const sy = g.height / g.srcHeight;
  const clip = (v: number, hi: number) => Math.min(Math.max(v, 0), hi);
  return [
    clip((box[0] - g.padLeft) / sx, g.srcWidth),
    clip((box[1] - g.padTop) / sy, g.srcHeight),
    clip((box[2] - g.padLeft) / sx, g.srcWidth),
    clip((box[3] - g.padTop) / sy, g.srcHeight),
  ];
}
