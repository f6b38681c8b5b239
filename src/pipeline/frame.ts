// Frames as the pipeline sees them after decoding: packed RGB bytes, row by row. Synthetic frames
// are deterministic (a gradient background and a bright square that moves with the frame index), so
// every run, every server and every test sees the same pixels, and frame t and t+1 differ.

/** A decoded video frame: `width × height` pixels, RGB, row-major (HWC), one byte per channel. */
export interface RgbFrame {
  width: number;
  height: number;
  /** `width · height · 3` bytes: (row · width + column) · 3 + channel. */
  data: Uint8Array;
}

export function checkFrameSize(width: number, height: number): void {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) {
    throw new RangeError(`a frame needs positive integer sides, got ${width}×${height}`);
  }
}

export function emptyFrame(width: number, height: number, fill = 0): RgbFrame {
  checkFrameSize(width, height);
  const data = new Uint8Array(width * height * 3); // zeroed by the allocation
  return { width, height, data: fill === 0 ? data : data.fill(fill) };
}

/** Side of the moving square: a sixth of the shorter side, at least 2 px. */
export function squareSide(width: number, height: number): number {
  return Math.max(2, Math.round(Math.min(width, height) / 6));
}

/** Top-left corner of the moving square in frame `t`: it travels right and down by a quarter side per frame. */
export function squareOrigin(width: number, height: number, t: number): { x: number; y: number } {
  const side = squareSide(width, height);
  const step = Math.max(1, Math.round(side / 4));
  const spanX = Math.max(1, width - side);
  const spanY = Math.max(1, height - side);
  return { x: (Math.floor(width / 4) + t * step) % spanX, y: (Math.floor(height / 3) + t * step) % spanY };
}

/**
 * Frame `t` of the synthetic clip at `width × height`:
 * - background: R = 255·x/(W−1), G = 255·y/(H−1) (floored), B = 64 + ((x + y) >> 3 & 63);
 * - a square of side `squareSide` filled with (250, 250, 250) at `squareOrigin(t)`.
 */
export function syntheticFrame(width: number, height: number, t = 0): RgbFrame {
  const frame = emptyFrame(width, height);
  const { data } = frame;
  const wx = width > 1 ? 255 / (width - 1) : 0;
  const hy = height > 1 ? 255 / (height - 1) : 0;
  for (let y = 0; y < height; y++) {
    const g = Math.floor(y * hy);
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      data[i] = Math.floor(x * wx);
      data[i + 1] = g;
      data[i + 2] = 64 + (((x + y) >> 3) & 63);
    }
  }
  const side = squareSide(width, height);
  const o = squareOrigin(width, height, t);
  for (let y = o.y; y < Math.min(height, o.y + side); y++) {
    for (let x = o.x; x < Math.min(width, o.x + side); x++) data.fill(250, (y * width + x) * 3, (y * width + x) * 3 + 3);
  }
  return frame;
}

/** A named analysis resolution (the routing metric is taken from it). */
export interface NamedResolution {
  name: string;
  width: number;
  height: number;
}

/** Landscape 16:9 sizes of the usual names; widths as encoders write them (854, not 853.3). */
const NAMED: Record<string, [number, number]> = {
  "144p": [256, 144],
  "240p": [426, 240],
  "360p": [640, 360],
  "480p": [854, 480],
  "540p": [960, 540],
  "720p": [1280, 720],
  "1080p": [1920, 1080],
  "1440p": [2560, 1440],
  "2160p": [3840, 2160],
};

/** What verify-ready runs by default: 240p … 1080p landscape, and 1080×1920 portrait. */
export const DEFAULT_RESOLUTIONS = ["240p", "360p", "480p", "720p", "1080p", "1080x1920"] as const;

/** `240p` … `2160p` (16:9 landscape) or `WxH` (e.g. `1080x1920` for portrait). */
export function parseResolution(text: string): NamedResolution {
  const s = text.trim().toLowerCase();
  const named = NAMED[s];
  if (named) return { name: s, width: named[0], height: named[1] };
  const m = /^(\d{1,5})[x×](\d{1,5})$/.exec(s);
  if (m) {
    const width = Number(m[1]);
    const height = Number(m[2]);
    if (width > 0 && height > 0 && width <= 16384 && height <= 16384) return { name: `${width}x${height}`, width, height };
  }
  throw new RangeError(`unknown resolution '${text}': use one of ${Object.keys(NAMED).join(", ")} or WIDTHxHEIGHT (1..16384), e.g. 1080x1920`);
}
