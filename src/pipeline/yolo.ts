// YOLOv8/11 post-processing in the client (seed 001: decode + NMS stay in core_object_detections).
// The export gives [1, 4 + C, N]: for each of N anchors the box (cx, cy, w, h) in the letterboxed
// square's pixels, then C class scores (already sigmoid-ed). Each anchor keeps its best class;
// candidates under the score threshold are dropped; NMS runs per class; boxes go back to the source.
import { boxToSource, type LetterboxGeometry } from "./letterbox.ts";

/** Box corners [x1, y1, x2, y2] in pixels. */
export type Box = [number, number, number, number];

export interface Detection {
  box: Box;
  score: number;
  classId: number;
  /** The anchor (column of the output) the detection came from. */
  anchor: number;
}

export interface DecodeOptions {
  /** Classes after the 4 box rows. @default 80 (COCO) */
  classes?: number;
  /** Minimum best-class score. @default 0.25 (Ultralytics' predict default) */
  scoreThreshold?: number;
}

export interface NmsOptions {
  /** Boxes of the same class overlapping more than this are suppressed. @default 0.45 */
  iouThreshold?: number;
  /** Kept at most, best first. @default 300 */
  maxDetections?: number;
}

/** The anchors' best-class candidates of an output [1, 4 + classes, anchors] (row-major). */
export function decodeYolo(output: ArrayLike<number>, anchors: number, opts: DecodeOptions = {}): Detection[] {
  const classes = opts.classes ?? 80;
  const threshold = opts.scoreThreshold ?? 0.25;
  if (output.length !== (4 + classes) * anchors) {
    throw new RangeError(`YOLO output has ${output.length} values; [1, ${4 + classes}, ${anchors}] needs ${(4 + classes) * anchors}`);
  }
  const out: Detection[] = [];
  for (let a = 0; a < anchors; a++) {
    let best = -Infinity;
    let classId = -1;
    for (let k = 0; k < classes; k++) {
      const s = output[(4 + k) * anchors + a]!;
      if (s > best) {
        best = s;
        classId = k;
      }
    }
    if (!(best >= threshold)) continue;
    const cx = output[a]!;
    const cy = output[anchors + a]!;
    const w = output[2 * anchors + a]!;
    const h = output[3 * anchors + a]!;
    out.push({ box: [cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], score: best, classId, anchor: a });
  }
  return out;
}

export function iou(a: Box, b: Box): number {
  const iw = Math.min(a[2], b[2]) - Math.max(a[0], b[0]);
  const ih = Math.min(a[3], b[3]) - Math.max(a[1], b[1]);
  if (iw <= 0 || ih <= 0) return 0;
  const inter = iw * ih;
  const area = (r: Box) => Math.max(0, r[2] - r[0]) * Math.max(0, r[3] - r[1]);
  return inter / (area(a) + area(b) - inter);
}

/**
 * Class-wise greedy NMS: best score first (ties: lower anchor first), a box is kept unless a kept
 * box of the same class overlaps it by more than the IoU threshold. Boxes of different classes
 * never suppress each other.
 */
export function nonMaxSuppression(dets: readonly Detection[], opts: NmsOptions = {}): Detection[] {
  const threshold = opts.iouThreshold ?? 0.45;
  const max = opts.maxDetections ?? 300;
  const sorted = [...dets].sort((a, b) => b.score - a.score || a.anchor - b.anchor);
  const kept: Detection[] = [];
  for (const d of sorted) {
    if (kept.length >= max) break;
    if (kept.some((k) => k.classId === d.classId && iou(k.box, d.box) > threshold)) continue;
    kept.push(d);
  }
  return kept;
}

/** Detections in the letterboxed square → source pixels (clipped to the frame). */
export function detectionsToSource(dets: readonly Detection[], g: LetterboxGeometry): Detection[] {
  return dets.map((d) => ({ ...d, box: boxToSource(d.box, g) }));
}

/** Anchors of a square YOLOv8/11 input of side S (strides 8, 16, 32): 21·S²/1024. */
export function yoloAnchors(size: number): number {
  return [8, 16, 32].reduce((n, s) => n + Math.floor(size / s) ** 2, 0);
}
