// The pipeline's client side, piece by piece, on hand-made inputs: frames, resize, letterbox
// geometry (never upscaling), YOLO decode + class-wise NMS back to source pixels, CLIP token ids and
// EOT selection, top-k, and the component flows over a fake Infer.
import { describe, expect, it } from "vitest";
import {
  boxToSource,
  clipTokenIds,
  CLIP_END_TOKEN,
  CLIP_START_TOKEN,
  componentBranch,
  decodeYolo,
  detectionsToSource,
  DEFAULT_RESOLUTIONS,
  eotIndex,
  iou,
  letterboxGeometry,
  letterboxImage,
  letterboxTensor,
  BufferPool,
  nchwFloat,
  nonMaxSuppression,
  tensorBuffers,
  parseResolution,
  PIPELINE_PROMPT_COUNT,
  resizeBilinear,
  runPipelineFrame,
  selectEotEmbedding,
  syntheticFrame,
  syntheticPrompts,
  topK,
  yoloAnchors,
  type Infer,
  type RgbFrame,
  type Tensor,
} from "../src/pipeline/index.ts";
import { fixtureReference, FIXTURE_FUNCTIONS } from "../src/fixtures/functions.ts";
import { loadCatalog, findBranch } from "../src/spec/catalog.ts";

const px = (f: RgbFrame, x: number, y: number) => [...f.data.subarray((y * f.width + x) * 3, (y * f.width + x) * 3 + 3)];

describe("synthetic frames", () => {
  it("are deterministic, differ between t and t+1, and hold a bright square", () => {
    const a = syntheticFrame(426, 240, 0);
    expect(syntheticFrame(426, 240, 0).data).toEqual(a.data);
    const b = syntheticFrame(426, 240, 1);
    const changed = a.data.reduce((n, v, i) => n + (v !== b.data[i] ? 1 : 0), 0);
    expect(changed).toBeGreaterThan(100);
    expect(a.data.filter((v) => v === 250).length).toBeGreaterThanOrEqual(40 * 40 * 3);
    expect(px(a, 0, 0)[0]).toBe(0);
    expect(px(a, 425, 0)[0]).toBe(255);
  });

  it("name the usual resolutions and portrait ones, and refuse nonsense", () => {
    expect(DEFAULT_RESOLUTIONS.map(parseResolution).map((r) => [r.width, r.height])).toEqual([[426, 240], [640, 360], [854, 480], [1280, 720], [1920, 1080], [1080, 1920]]);
    expect(parseResolution("1080×1920")).toMatchObject({ width: 1080, height: 1920 });
    expect(() => parseResolution("huge")).toThrow(/unknown resolution 'huge'/);
    expect(() => parseResolution("0x10")).toThrow(RangeError);
  });
});

describe("bilinear resize (half-pixel centres)", () => {
  const frame = (w: number, h: number, f: (x: number, y: number) => number): RgbFrame => {
    const data = new Uint8Array(w * h * 3);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) data.fill(f(x, y), (y * w + x) * 3, (y * w + x) * 3 + 3);
    return { width: w, height: h, data };
  };

  it("keeps a constant image constant and an identity resize exact", () => {
    const c = frame(37, 23, () => 77);
    expect(resizeBilinear(c, 256, 256).data.every((v) => v === 77)).toBe(true);
    const g = syntheticFrame(64, 48, 3);
    expect(resizeBilinear(g, 64, 48).data).toEqual(g.data);
  });

  it("halves a 4-pixel ramp into the means of neighbouring pairs", () => {
    const ramp = frame(4, 1, (x) => [0, 100, 200, 250][x]!);
    expect([...resizeBilinear(ramp, 2, 1).data].filter((_, i) => i % 3 === 0)).toEqual([50, 225]);
  });

  it("doubles with half-pixel centres and clamps at the edges", () => {
    const two = frame(2, 1, (x) => (x === 0 ? 0 : 200));
    // src = (d + 0.5)/2 − 0.5: −0.25 → 0 (clamped), 0.25, 0.75, 1.25 → 1 (clamped)
    expect([...resizeBilinear(two, 4, 1).data].filter((_, i) => i % 3 === 0)).toEqual([0, 50, 150, 200]);
  });

  /** The textbook formula, one output byte at a time, rounded with Math.round. */
  const direct = (f: RgbFrame, W: number, H: number): Uint8Array => {
    const tap = (src: number, dst: number, d: number) => {
      const s = Math.min(Math.max((d + 0.5) * (src / dst) - 0.5, 0), src - 1);
      const i = Math.floor(s);
      return { lo: i, hi: Math.min(i + 1, src - 1), w: s - i };
    };
    const out = new Uint8Array(W * H * 3);
    for (let y = 0; y < H; y++) {
      const ty = tap(f.height, H, y);
      for (let x = 0; x < W; x++) {
        const tx = tap(f.width, W, x);
        for (let c = 0; c < 3; c++) {
          const at = (yy: number, xx: number) => f.data[(yy * f.width + xx) * 3 + c]!;
          const top = at(ty.lo, tx.lo) * (1 - tx.w) + at(ty.lo, tx.hi) * tx.w;
          const bottom = at(ty.hi, tx.lo) * (1 - tx.w) + at(ty.hi, tx.hi) * tx.w;
          out[(y * W + x) * 3 + c] = Math.round(top * (1 - ty.w) + bottom * ty.w);
        }
      }
    }
    return out;
  };

  it("gives the bytes of the direct formula, up and down, in a pooled buffer full of old bytes too", () => {
    const noisy = (w: number, h: number, seed: number) => frame(w, h, (x, y) => ((x * 7919 + y * 104729 + seed * 31) ^ (x * y)) & 255);
    const pool = new BufferPool();
    for (const [w, h, W, H] of [[64, 36, 51, 51], [64, 36, 22, 22], [192, 108, 45, 45], [10, 5, 64, 64], [7, 3, 5, 9], [1, 1, 4, 4], [64, 36, 64, 35]] as const) {
      const f = noisy(w, h, W);
      const want = direct(f, W, H);
      expect(resizeBilinear(f, W, H).data).toEqual(want);
      pool.give(new Uint8Array(W * H * 3).fill(0xab).buffer);
      const pooled = resizeBilinear(f, W, H, pool);
      expect(pooled.data).toEqual(want);
    }
    expect(pool.reused).toBe(7);
  });
});

describe("buffer pool", () => {
  it("gives back buffers of the exact size asked, keeps a few of each, ignores detached ones", () => {
    const pool = new BufferPool(2);
    const a = new ArrayBuffer(16);
    pool.give(a);
    pool.give(a); // once only
    expect(pool.take(8)).not.toBe(a);
    expect(pool.take(16)).toBe(a);
    expect(pool.take(16)).not.toBe(a);
    const kept = [new ArrayBuffer(4), new ArrayBuffer(4), new ArrayBuffer(4)];
    for (const b of kept) pool.give(b);
    expect([pool.take(4), pool.take(4), pool.take(4)].filter((b) => kept.includes(b))).toHaveLength(2);
    const moved = new ArrayBuffer(32);
    structuredClone(moved, { transfer: [moved] });
    pool.give(moved);
    expect(pool.take(32)).not.toBe(moved);
    expect(pool.reused).toBe(3);
  });

  it("lists the distinct array buffers under tensors, for transfer lists", () => {
    const shared = new Float32Array(8);
    expect(tensorBuffers([{ data: shared.subarray(0, 4) }, { data: shared.subarray(4) }, { data: new Uint8Array(2) }])).toHaveLength(2);
  });
});

describe("letterbox (no upscale, pad 114)", () => {
  it("downscales a 1080p frame into 640 keeping the aspect ratio, centred", () => {
    expect(letterboxGeometry(1920, 1080, 640)).toEqual({ size: 640, srcWidth: 1920, srcHeight: 1080, scale: 1 / 3, width: 640, height: 360, padLeft: 0, padTop: 140 });
    expect(letterboxGeometry(1080, 1920, 960)).toMatchObject({ scale: 0.5, width: 540, height: 960, padLeft: 210, padTop: 0 });
  });

  it("never upscales a frame smaller than the branch: it is padded around", () => {
    const g = letterboxGeometry(200, 120, 320);
    expect(g).toMatchObject({ scale: 1, width: 200, height: 120, padLeft: 60, padTop: 100 });
    const f = syntheticFrame(200, 120, 0);
    const { image } = letterboxImage(f, 320);
    expect(px(image, 0, 0)).toEqual([114, 114, 114]);
    expect(px(image, 319, 319)).toEqual([114, 114, 114]);
    // the frame's pixels are copied unchanged, one to one
    expect(px(image, 60 + 17, 100 + 9)).toEqual(px(f, 17, 9));
    expect(px(image, 59, 150)).toEqual([114, 114, 114]);
    expect(px(image, 260, 150)).toEqual([114, 114, 114]);
  });

  it("gives FP32 NCHW in [0, 1] with the pad at 114/255", () => {
    const { data } = letterboxTensor(syntheticFrame(100, 50, 0), 64);
    // written straight into the planes: the same floats as letterboxing the bytes, then x / 255
    for (const [w, h, s, pad] of [[100, 50, 64, 114], [300, 301, 320, 0], [7, 64, 32, 255], [640, 360, 640, 114]] as const) {
      const f = syntheticFrame(w, h, 2);
      const want = nchwFloat(letterboxImage(f, s, pad).image, 255);
      const got = letterboxTensor(f, s, { pad }).data;
      expect(got.length).toBe(want.length);
      expect(got.findIndex((v, i) => !Object.is(v, want[i]))).toBe(-1); // (toEqual on a million floats takes seconds)
      expect(Array.from(want.subarray(0, 3))).toEqual([0, 1, 2].map((i) => Math.fround(letterboxImage(f, s, pad).image.data[i * 3]! / 255)));
    }
    expect(data.length).toBe(3 * 64 * 64);
    expect(data[0]).toBe(Math.fround(114 / 255));
    expect(Math.max(...data)).toBeLessThanOrEqual(1);
  });

  it("maps boxes back to source pixels, clipped to the frame", () => {
    const g = letterboxGeometry(1920, 1080, 640);
    expect(boxToSource([0, 140, 640, 500], g)).toEqual([0, 0, 1920, 1080]);
    expect(boxToSource([100, 200, 200, 300], g).map((v) => Math.round(v * 1000) / 1000)).toEqual([300, 180, 600, 480]);
    expect(boxToSource([-50, 0, 700, 600], g)).toEqual([0, 0, 1920, 1080]);
  });
});

describe("YOLO decode + class-wise NMS", () => {
  /** [1, 4+C, N] from anchors given as {cx, cy, w, h, scores}. */
  type Anchor = { box: [number, number, number, number]; scores: Record<number, number> };
  const output = (classes: number, anchors: Anchor[]) => {
    const n = anchors.length;
    const out = new Float32Array((4 + classes) * n);
    anchors.forEach((a, i) => {
      a.box.forEach((v, r) => (out[r * n + i] = v));
      for (const [k, s] of Object.entries(a.scores)) out[(4 + Number(k)) * n + i] = s;
    });
    return out;
  };

  const anchors: Anchor[] = [
    { box: [100, 100, 40, 40], scores: { 0: 0.9 } },
    { box: [102, 101, 40, 40], scores: { 0: 0.8 } }, // overlaps #0, same class: suppressed
    { box: [101, 100, 40, 40], scores: { 2: 0.7, 0: 0.1 } }, // overlaps, other class: kept
    { box: [300, 300, 20, 20], scores: { 0: 0.6 } }, // far away: kept
    { box: [50, 50, 10, 10], scores: { 5: 0.2 } }, // below 0.25
  ];

  it("decodes cx, cy, w, h and the best class of each anchor above the threshold", () => {
    const d = decodeYolo(output(6, anchors), 5, { classes: 6 });
    expect(d.map((x) => [x.anchor, x.classId, Math.round(x.score * 100)])).toEqual([[0, 0, 90], [1, 0, 80], [2, 2, 70], [3, 0, 60]]);
    expect(d[0]!.box).toEqual([80, 80, 120, 120]);
    expect(() => decodeYolo(new Float32Array(10), 5)).toThrow(/\[1, 84, 5\]/);
  });

  it("suppresses overlaps within a class only, best first", () => {
    const kept = nonMaxSuppression(decodeYolo(output(6, anchors), 5, { classes: 6 }), { iouThreshold: 0.45 });
    expect(kept.map((k) => k.anchor)).toEqual([0, 2, 3]);
    expect(iou([0, 0, 10, 10], [5, 0, 15, 10])).toBeCloseTo(1 / 3);
    expect(iou([0, 0, 10, 10], [20, 20, 30, 30])).toBe(0);
    expect(nonMaxSuppression(decodeYolo(output(6, anchors), 5, { classes: 6 }), { maxDetections: 2 })).toHaveLength(2);
  });

  it("finds the fixture's three people in a bright 1080p frame, in source pixels", () => {
    const s = 320;
    const frame: RgbFrame = { width: 1920, height: 1080, data: new Uint8Array(1920 * 1080 * 3).fill(230) };
    const { data, geometry } = letterboxTensor(frame, s);
    const [out] = fixtureReference(FIXTURE_FUNCTIONS.detections, { inputs: [{ name: "images", dtype: "FP32", dims: [1, 3, s, s] }], outputs: [{ name: "output0", dtype: "FP32", dims: [1, 84, yoloAnchors(s)] }] }, [data]);
    const dets = detectionsToSource(nonMaxSuppression(decodeYolo(out as Float32Array, yoloAnchors(s))), geometry);
    expect(dets.map((d) => d.classId)).toEqual([0, 0, 0]);
    // the fixture's first box spans 32..128 in the square; scale 1/6, pad above (320 − 180)/2 = 70:
    // x 32·6 … 128·6, y (32 − 70)·6 clipped to 0 … (128 − 70)·6
    expect(dets[0]!.box.map((v) => Math.round(v))).toEqual([192, 0, 768, 348]);
  });
});

describe("CLIP token ids and EOT selection", () => {
  it("wraps a prompt in start and end, zero-padded to 77", () => {
    const ids = clipTokenIds([320, 1125, 539]);
    expect(ids.length).toBe(77);
    expect([...ids.slice(0, 6)].map(Number)).toEqual([CLIP_START_TOKEN, 320, 1125, 539, CLIP_END_TOKEN, 0]);
    expect(ids.slice(5).every((v) => v === 0n)).toBe(true);
    expect(() => clipTokenIds(new Array(76).fill(1))).toThrow(/at most 75/);
    expect(() => clipTokenIds([49407])).toThrow(/BPE ids/);
  });

  it("takes the EOT row: the position of the largest id, not the last non-zero one", () => {
    const ids = clipTokenIds([5, 6]);
    expect(eotIndex(ids)).toBe(3);
    expect(eotIndex([1, 9, 3, 9])).toBe(1);
    const width = 4;
    const emb = Float32Array.from({ length: 77 * width }, (_, i) => Math.floor(i / width));
    expect([...selectEotEmbedding(emb, ids, width)]).toEqual([3, 3, 3, 3]);
    expect(() => selectEotEmbedding(emb, ids, 5)).toThrow(/\[1, 77, 5\]/);
  });

  it("makes 29 deterministic prompts whose EOT lands at different positions", () => {
    const p = syntheticPrompts();
    expect(p).toHaveLength(PIPELINE_PROMPT_COUNT);
    expect(syntheticPrompts()).toEqual(p);
    const eots = new Set(p.map((t) => eotIndex(clipTokenIds(t))));
    expect(eots.size).toBeGreaterThanOrEqual(10);
    expect(p.flat().every((t) => t >= 1 && t < CLIP_START_TOKEN)).toBe(true);
  });
});

describe("top-k", () => {
  it("ranks best first, ties to the lower index, NaN never", () => {
    expect(topK([0.1, 0.5, NaN, 0.5, 0.9, -1], 3)).toEqual([{ index: 4, value: 0.9 }, { index: 1, value: 0.5 }, { index: 3, value: 0.5 }]);
    expect(topK([1, 2], 5).map((r) => r.index)).toEqual([1, 0]);
    expect(topK([1, 2], 0)).toEqual([]);
    expect(() => topK([1], -1)).toThrow(RangeError);
  });
});

describe("component flows over a fake server", () => {
  it("call each routed branch as the pipeline does: 1 depth, 1 flow (2 frames), 1 + 29 CLIP, 1 YOLO, 1 Places", async () => {
    const catalog = await loadCatalog("model-specs");
    const names = ["midas_256", "raft_256", "clip_image_224", "clip_text", "yolo11x_320", "places365_resnet50_224"];
    const routed = names.map((n) => componentBranch(findBranch(catalog, n)!));
    const calls: { model: string; inputs: readonly Tensor[] }[] = [];
    const infer: Infer = async (model, inputs, outputs) => {
      calls.push({ model, inputs });
      const b = routed.find((r) => r.entry === model)!;
      return outputs.map((name) => {
        const spec = b.outputs.find((o) => o.name === name)!;
        const data = new Float32Array(spec.dims.reduce((a, c) => a * c, 1)).map((_, i) => (i % 365) / 365);
        return { name, datatype: spec.dtype, shape: [...spec.dims], data };
      });
    };
    const runs = await runPipelineFrame(infer, routed, { frame: syntheticFrame(426, 240, 0), next: syntheticFrame(426, 240, 1) });
    expect(runs.map((r) => [r.component, r.error])).toEqual([
      ["core_depth_midas", undefined], ["core_optical_flow", undefined], ["core_clip", undefined], ["core_object_detections", undefined], ["core_places365", undefined],
    ]);
    const count = (m: string) => calls.filter((c) => c.model === m).length;
    expect(names.map(count)).toEqual([1, 1, 1, PIPELINE_PROMPT_COUNT, 1, 1]);
    const raft = calls.find((c) => c.model === "raft_256")!;
    expect(raft.inputs.map((t) => [t.name, t.datatype, t.shape])).toEqual([["INPUT0__0", "UINT8", [1, 256, 256, 3]], ["INPUT1__0", "UINT8", [1, 256, 256, 3]]]);
    expect(raft.inputs[0]!.data).not.toEqual(raft.inputs[1]!.data);
    const text = calls.filter((c) => c.model === "clip_text").map((c) => c.inputs[0]!);
    expect(text[0]).toMatchObject({ name: "INPUT__0", datatype: "INT64", shape: [1, 77] });
    expect(text[0]!.data[0]).toBe(BigInt(CLIP_START_TOKEN));
    const yolo = calls.find((c) => c.model === "yolo11x_320")!.inputs[0]!;
    expect(yolo).toMatchObject({ name: "images", datatype: "FP32", shape: [1, 3, 320, 320] });
    const places = runs.find((r) => r.component === "core_places365")!.result;
    expect(places).toMatchObject({ kind: "places", top5: [{ index: 364 }, { index: 363 }, { index: 362 }, { index: 361 }, { index: 360 }] });
  });

  it("hand their inputs over: a transport that moves the buffers away and gives them back to the pool changes no result", async () => {
    const catalog = await loadCatalog("model-specs");
    const names = ["midas_256", "raft_256", "clip_image_224", "clip_text", "yolo11x_320", "places365_resnet50_224"];
    const routed = names.map((n) => componentBranch(findBranch(catalog, n)!));
    const answer = (model: string, inputs: readonly Tensor[], outputs: readonly string[]): Tensor[] => {
      const b = routed.find((r) => r.entry === model)!;
      let seed = 0;
      for (const t of inputs) for (let i = 0; i < t.data.length; i += 97) seed = (seed * 31 + Number(t.data[i])) % 1000003;
      return outputs.map((name) => {
        const spec = b.outputs.find((o) => o.name === name)!;
        const data = new Float32Array(spec.dims.reduce((a, c) => a * c, 1)).map((_, i) => ((i * 13 + seed) % 365) / 365);
        return { name, datatype: spec.dtype, shape: [...spec.dims], data };
      });
    };
    const frames = { frame: syntheticFrame(426, 240, 0), next: syntheticFrame(426, 240, 1) };
    const plain: Infer = async (model, inputs, outputs) => answer(model, inputs, outputs);
    const pool = new BufferPool();
    // like the preprocess thread: the inputs' buffers move away with the call (detached here) and come back after
    const moving: Infer = async (model, inputs, outputs) => {
      const out = answer(model, inputs, outputs);
      const moved = tensorBuffers(inputs);
      const back = structuredClone(moved, { transfer: moved });
      for (const b of back) pool.give(b);
      return out;
    };
    moving.buffers = pool;
    const want = await runPipelineFrame(plain, routed, frames);
    const first = await runPipelineFrame(moving, routed, frames);
    const second = await runPipelineFrame(moving, routed, frames);
    const results = (runs: typeof want) => runs.map((r) => [r.component, r.error, r.result]);
    expect(results(first)).toEqual(results(want));
    expect(results(second)).toEqual(results(want));
    expect(want.every((r) => r.error === undefined)).toBe(true);
    expect(pool.reused).toBeGreaterThanOrEqual(6); // the second frame's images and letterbox came from the first's
  });

  it("fail a component whose answer has the wrong shape or a NaN, naming model and tensor, and run the rest", async () => {
    const catalog = await loadCatalog("model-specs");
    const routed = ["midas_256", "places365_resnet50_224"].map((n) => componentBranch(findBranch(catalog, n)!));
    const infer: Infer = async (model, _inputs, outputs) =>
      model === "midas_256"
        ? [{ name: outputs[0]!, datatype: "FP32", shape: [1, 384, 384], data: new Float32Array(384 * 384) }]
        : [{ name: outputs[0]!, datatype: "FP32", shape: [1, 365], data: new Float32Array(365).fill(NaN) }];
    const runs = await runPipelineFrame(infer, routed, { frame: syntheticFrame(64, 64), next: syntheticFrame(64, 64, 1) });
    expect(runs[0]!.error).toBe("midas_256: output OUTPUT__0 shape [1, 384, 384], expected [1, 256, 256]");
    expect(runs[1]!.error).toBe("places365_resnet50_224: output OUTPUT__0 has a non-finite value (NaN) at flat index 0");
  });
});
