// The ONNX normalize step must give the same float32 numbers as the formula, operation by operation,
// because the Python step computes the same operations in numpy and the two are compared bit for bit.
import * as ort from "onnxruntime-node";
import { describe, expect, it } from "vitest";
import { UserError } from "../src/errors.ts";
import { buildNormalizeGraph, type NormalizeGraphOptions } from "../src/onnx/preprocess-graph.ts";
import { ModelProto, decodeAs, type Model } from "../src/onnx/schema.ts";

const fr = Math.fround;
const IMAGENET = { mean: [0.485, 0.456, 0.406] as const, std: [0.229, 0.224, 0.225] as const };

/** The formula in float32, step by step: ((float(x) / d) - mean[c]) / std[c], NHWC → NCHW. */
function expected(x: Uint8Array, h: number, w: number, o: Pick<NormalizeGraphOptions, "divisor" | "mean" | "std">): Float32Array {
  const out = new Float32Array(3 * h * w);
  for (let y = 0; y < h; y++) {
    for (let xx = 0; xx < w; xx++) {
      for (let c = 0; c < 3; c++) {
        const v = x[(y * w + xx) * 3 + c] as number;
        const scaled = fr(v / fr(o.divisor));
        const centered = fr(scaled - fr(o.mean[c] as number));
        out[c * h * w + y * w + xx] = fr(centered / fr(o.std[c] as number));
      }
    }
  }
  return out;
}

function pixels(h: number, w: number, seed: number): Uint8Array {
  // Every byte value appears when h*w*3 >= 256: the whole input domain is covered.
  return Uint8Array.from({ length: h * w * 3 }, (_, i) => (i * 7 + seed) % 256);
}

async function run(bytes: Uint8Array, feeds: Record<string, Uint8Array>, dims: number[]): Promise<Record<string, Float32Array>> {
  const session = await ort.InferenceSession.create(bytes);
  const tensors = Object.fromEntries(Object.entries(feeds).map(([k, v]) => [k, new ort.Tensor("uint8", v, dims)]));
  const out = await session.run(tensors);
  return Object.fromEntries(Object.entries(out).map(([k, t]) => [k, t.data as Float32Array]));
}

describe("buildNormalizeGraph", () => {
  it.each([
    ["MiDaS small (ImageNet mean/std)", { divisor: 255, ...IMAGENET }],
    ["DPT hybrid (mean 0.5, std 0.5)", { divisor: 255, mean: [0.5, 0.5, 0.5] as const, std: [0.5, 0.5, 0.5] as const }],
    ["CLIP mean/std", { divisor: 255, mean: [0.48145466, 0.4578275, 0.40821073] as const, std: [0.26862954, 0.26130258, 0.27577711] as const }],
  ])("ORT gives the formula's float32 values bit for bit: %s", async (_label, norm) => {
    const [h, w] = [16, 12];
    const bytes = buildNormalizeGraph({
      inputs: [{ name: "INPUT__0", dtype: "UINT8", dims: [1, h, w, 3] }],
      outputs: [{ name: "input", dtype: "FP32", dims: [1, 3, h, w] }],
      ...norm,
    });
    const x = pixels(h, w, 3);
    const got = (await run(bytes, { INPUT__0: x }, [1, h, w, 3])).input as Float32Array;
    const want = expected(x, h, w, norm);
    expect(got.length).toBe(want.length);
    const firstDiff = got.findIndex((v, i) => !Object.is(v, want[i]));
    expect(firstDiff, `first differing element ${firstDiff}: ${got[firstDiff]} vs ${want[firstDiff]}`).toBe(-1);
  });

  it("gives each input of a two-image model (RAFT) its own chain", async () => {
    const [h, w] = [8, 8];
    const norm = { divisor: 255, mean: [0.5, 0.5, 0.5] as const, std: [0.5, 0.5, 0.5] as const };
    const bytes = buildNormalizeGraph({
      inputs: [{ name: "INPUT0__0", dtype: "UINT8", dims: [1, h, w, 3] }, { name: "INPUT1__0", dtype: "UINT8", dims: [1, h, w, 3] }],
      outputs: [{ name: "input0", dtype: "FP32", dims: [1, 3, h, w] }, { name: "input1", dtype: "FP32", dims: [1, 3, h, w] }],
      ...norm,
    });
    const a = pixels(h, w, 1);
    const b = pixels(h, w, 100);
    const out = await run(bytes, { INPUT0__0: a, INPUT1__0: b }, [1, h, w, 3]);
    expect(Array.from(out.input0 as Float32Array)).toEqual(Array.from(expected(a, h, w, norm)));
    expect(Array.from(out.input1 as Float32Array)).toEqual(Array.from(expected(b, h, w, norm)));
  });

  it("uses exactly Transpose (on the bytes), Cast, Div, Sub, Div per input, in that order", () => {
    const bytes = buildNormalizeGraph({
      inputs: [{ name: "a", dtype: "UINT8", dims: [1, 4, 4, 3] }, { name: "b", dtype: "UINT8", dims: [1, 4, 4, 3] }],
      outputs: [{ name: "x", dtype: "FP32", dims: [1, 3, 4, 4] }, { name: "y", dtype: "FP32", dims: [1, 3, 4, 4] }],
      divisor: 255,
      ...IMAGENET,
    });
    const model = decodeAs<Model>(ModelProto, bytes);
    const ops = (model.graph?.node ?? []).map((n) => n.op_type);
    const chain = ["Transpose", "Cast", "Div", "Sub", "Div"];
    expect(ops).toEqual([...chain, ...chain]);
    expect(model.graph?.initializer?.map((t) => [t.name, (t.dims ?? []).map(Number)])).toEqual([["divisor", []], ["mean", [1, 3, 1, 1]], ["std", [1, 3, 1, 1]]]);
  });

  it("refuses an input that is not UINT8 [1,H,W,3] or an output of the wrong shape, naming the field", () => {
    const base = { divisor: 255, ...IMAGENET, where: { file: "model-specs/midas.yaml", field: "branches[0].preprocess" } };
    expect(() =>
      buildNormalizeGraph({ ...base, inputs: [{ name: "i", dtype: "FP32", dims: [1, 4, 4, 3] }], outputs: [{ name: "o", dtype: "FP32", dims: [1, 3, 4, 4] }] }),
    ).toThrow(/branches\[0\]\.preprocess\.inputs\[0\]: "i" is FP32 \[1, 4, 4, 3\], expected UINT8/);
    expect(() =>
      buildNormalizeGraph({ ...base, inputs: [{ name: "i", dtype: "UINT8", dims: [1, 4, 6, 3] }], outputs: [{ name: "o", dtype: "FP32", dims: [1, 3, 4, 4] }] }),
    ).toThrow(UserError);
    expect(() => buildNormalizeGraph({ ...base, inputs: [{ name: "i", dtype: "UINT8", dims: [1, 4, 4, 3] }], outputs: [] })).toThrow(/one output per input/);
  });
});
