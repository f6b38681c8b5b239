// Fixture models stand in for missing exports: they must carry the spec's exact I/O, compute their
// documented function (checked against the TypeScript reference through ONNX Runtime), and never
// replace a real export.
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import * as ort from "onnxruntime-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dtypeInfo } from "../src/dtype.ts";
import { buildFixtureModel } from "../src/fixtures/build.ts";
import { chooseFixtureFunction, fixtureReference, YOLO_CLASSES, type FixtureBranch } from "../src/fixtures/functions.ts";
import { deterministicTensor, firstMismatch } from "../src/fixtures/tensor.ts";
import { ensureFixtures } from "../src/fixtures/write.ts";
import { encodeOnnxModel, writeOnnxModel, type TensorData } from "../src/onnx/build.ts";
import { checkExternalData, checkOnnxAgainstSpec, readOnnxIO } from "../src/onnx/read-io.ts";
import type { Branch, TensorSpec } from "../src/spec/schema.ts";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "fixtures-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const fp32 = (name: string, dims: number[]): TensorSpec => ({ name, dtype: "FP32", dims });
const image = (name: string, s: number) => fp32(name, [1, 3, s, s]);

/** A ready branch as the spec parser would produce it (defaults filled in). */
function branch(name: string, file: string, inputs: TensorSpec[], outputs: TensorSpec[], over: Partial<Branch> = {}): Branch {
  return {
    name,
    size: inputs[0]?.dims[2] ?? 1,
    status: "ready",
    serving: "ensemble",
    onnx: { file, inputs, outputs },
    preprocess: { kind: "none" },
    memory: { residentMiB: 1, peakMiB: 1, source: "test" },
    ...over,
  };
}

// The catalog's signatures (design §4), at real sizes where that stays fast.
const CATALOG = {
  midas_256: branch("midas_256", "midas/midas_small_256.onnx", [image("input", 256)], [fp32("depth", [1, 256, 256])]),
  raft_256: branch("raft_256", "raft/raft_small_256.onnx", [image("input0", 256), image("input1", 256)], [fp32("flow", [1, 2, 256, 256])]),
  clip_image_224: branch("clip_image_224", "clip/openai_clip_ViT-B_32_image_224.onnx", [image("pixel_values", 224)], [fp32("image_embeds", [1, 512])]),
  clip_text: branch("clip_text", "clip/openai_clip_ViT-B_32_text_77.onnx", [{ name: "input", dtype: "INT64", dims: [1, 77] }], [fp32("emb_seq", [1, 77, 512])]),
  places365_resnet50_224: branch("places365_resnet50_224", "places365/resnet50_224.onnx", [image("input", 224)], [fp32("logits", [1, 365])]),
  yolo11x_320: branch("yolo11x_320", "yolo11x/yolo11x_320.onnx", [image("images", 320)], [fp32("output0", [1, 84, 2100])], { serving: "direct" }),
  odd: branch("odd", "misc/odd.onnx", [{ name: "a", dtype: "UINT8", dims: [2, 5] }, { name: "b", dtype: "INT64", dims: [3] }], [
    { name: "x", dtype: "FP16", dims: [2, 2] },
    { name: "y", dtype: "INT32", dims: [4] },
    fp32("z", [1]),
  ]),
};

async function runOrt(source: string | Uint8Array, b: FixtureBranch, inputs: TensorData[]): Promise<TensorData[]> {
  const session = typeof source === "string" ? await ort.InferenceSession.create(source) : await ort.InferenceSession.create(source);
  const feeds: Record<string, ort.Tensor> = {};
  b.onnx.inputs.forEach((t, i) => {
    feeds[t.name] = new ort.Tensor(dtypeInfo(t.dtype).ort as "float32", inputs[i] as Float32Array, t.dims);
  });
  const out = await session.run(feeds);
  return b.onnx.outputs.map((t) => {
    const got = out[t.name] as ort.Tensor;
    expect(got.dims).toEqual(t.dims);
    return got.data as TensorData;
  });
}

function expectMatchesReference(b: FixtureBranch, functionId: ReturnType<typeof chooseFixtureFunction>, inputs: TensorData[], actual: TensorData[]): void {
  const want = fixtureReference(functionId, b.onnx, inputs);
  b.onnx.outputs.forEach((t, i) => {
    const miss = firstMismatch(t.dtype, actual[i] as TensorData, want[i] as TensorData);
    expect(miss, `${b.name} output ${t.name}`).toBeUndefined();
  });
}

describe("fixture functions", () => {
  it("chooses by signature and, where the signature is ambiguous, by the branch name", () => {
    const ids = Object.fromEntries(Object.entries(CATALOG).map(([k, b]) => [k, chooseFixtureFunction(b)]));
    expect(ids).toEqual({
      midas_256: "depth.channel_mean.v1",
      raft_256: "flow.channel_mean_diff.v1",
      clip_image_224: "embedding.channel_mean_weighted.v1",
      clip_text: "token_embedding.scaled_id.v1",
      places365_resnet50_224: "logits.channel_mean_plus_bias.v1",
      yolo11x_320: "detections.yolo_grid.v1",
      odd: "generic.input_mean.v1",
    });
    // The YOLO rule holds at every catalog size: N = 21·S²/1024.
    for (const [s, n] of [[640, 8400], [960, 18900]] as const) {
      expect(chooseFixtureFunction(branch(`yolo11x_${s}`, "y.onnx", [image("images", s)], [fp32("output0", [1, 84, n])]))).toBe("detections.yolo_grid.v1");
    }
  });

  it.each(Object.entries(CATALOG))("the %s fixture run by ONNX Runtime equals its TypeScript reference", async (_name, b) => {
    const { functionId, model } = buildFixtureModel(b, { externalData: false });
    const bytes = encodeOnnxModel(model).onnx;
    // Images in [0, 1) like a preprocessed input, so means are away from zero.
    const inputs = b.onnx.inputs.map((t, i) => deterministicTensor(t, 11 + i, { lo: 0, hi: 1 }));
    expectMatchesReference(b, functionId, inputs, await runOrt(bytes, b, inputs));
    // A constant image is where float32 accumulation drifts most (see meanInDouble in build.ts).
    const flat = b.onnx.inputs.map((t, i) => (t.dtype === "FP32" ? new Float32Array((inputs[i] as Float32Array).length).fill(0.9) : (inputs[i] as TensorData)));
    expectMatchesReference(b, functionId, flat, await runOrt(bytes, b, flat));
  });

  it("the comparison catches a wrong number", () => {
    const b = CATALOG.places365_resnet50_224;
    const inputs = [deterministicTensor(b.onnx.inputs[0] as TensorSpec, 1)];
    const [good] = fixtureReference("logits.channel_mean_plus_bias.v1", b.onnx, inputs) as [Float32Array];
    const bad = good.slice();
    bad[200] = (bad[200] as number) * (1 + 1e-4);
    expect(firstMismatch("FP32", bad, good)).toMatchObject({ index: 200 });
    // Same shape, other function: embedding and logits differ, so the id is what tells them apart.
    const [other] = fixtureReference("embedding.channel_mean_weighted.v1", b.onnx, inputs) as [Float32Array];
    expect(firstMismatch("FP32", other, good)).toBeDefined();
  });

  it("YOLO fixture: a decode + NMS client finds three people in a bright image and nothing in a dark one", async () => {
    const b = CATALOG.yolo11x_320;
    const { functionId, model } = buildFixtureModel(b);
    const bytes = encodeOnnxModel(model).onnx;
    const n = 2100;
    const detect = async (level: number) => {
      const [out] = (await runOrt(bytes, b, [new Float32Array(3 * 320 * 320).fill(level)])) as [Float32Array];
      expectMatchesReference(b, functionId, [new Float32Array(3 * 320 * 320).fill(level)], [out]);
      const found: { cls: number; score: number; cx: number; cy: number; w: number }[] = [];
      for (let a = 0; a < n; a++) {
        let cls = 0;
        for (let k = 1; k < YOLO_CLASSES; k++) if ((out[(4 + k) * n + a] as number) > (out[(4 + cls) * n + a] as number)) cls = k;
        const score = out[(4 + cls) * n + a] as number;
        if (score > 0.25) found.push({ cls, score, cx: out[a] as number, cy: out[n + a] as number, w: out[2 * n + a] as number });
      }
      return found;
    };
    const bright = await detect(0.9);
    expect(bright.map((d) => [d.cls, d.cx, d.cy, d.w])).toEqual([[0, 80, 80, 96], [0, 240, 80, 96], [0, 176, 240, 96]]);
    expect(bright.map((d) => d.score)).toEqual([Math.fround(0.9 * 0.9), 0.9 * 0.8, 0.9 * 0.7].map((v) => expect.closeTo(v, 5)));
    expect(await detect(0.1)).toEqual([]);
  });
});

describe("fixture files", () => {
  it("midas and raft fixtures keep their weights in <file>.data, and load from disk through it", async () => {
    const root = path.join(dir, "ext-root");
    for (const b of [CATALOG.midas_256, CATALOG.raft_256]) {
      const file = path.join(root, b.onnx.file);
      const { functionId, model } = buildFixtureModel(b);
      await writeOnnxModel(file, model);
      const io = await readOnnxIO(file);
      expect(new Set(io.externalData.map((r) => r.location))).toEqual(new Set([`${path.basename(file)}.data`]));
      expect(await checkExternalData(io, file, root)).toEqual([]);
      expect(checkOnnxAgainstSpec(io, b.onnx, { file })).toEqual({ problems: [], open: [] });
      expect(io.metadata).toMatchObject({ "triton_deploy.fixture": "true", "triton_deploy.fixture_function": functionId, "triton_deploy.branch": b.name });
      const inputs = b.onnx.inputs.map((t, i) => deterministicTensor(t, 3 + i, { lo: 0, hi: 1 }));
      expectMatchesReference(b, functionId, inputs, await runOrt(file, b, inputs));
    }
  });

  it("ensureFixtures writes missing files, leaves current ones, rewrites stale ones and never touches a real export", async () => {
    const root = path.join(dir, "ensure-root");
    const real = CATALOG.places365_resnet50_224;
    const realFile = path.join(root, real.onnx.file);
    // A "real export": same I/O, no fixture metadata.
    const { model } = buildFixtureModel(real);
    await writeOnnxModel(realFile, { ...model, metadata: { producer: "pytorch" } });
    const realBytes = await readFile(realFile);
    const garbage = branch("clip_image_336", "clip/broken.onnx", [image("x", 336)], [fp32("y", [1, 512])]);
    await mkdir(path.join(root, "clip"), { recursive: true });
    await writeFile(path.join(root, garbage.onnx.file), "not onnx");
    const planned = branch("raft_512", "raft/raft_small_512.onnx", [image("input0", 512), image("input1", 512)], [fp32("flow", [1, 2, 512, 512])], { status: "planned" });
    const branches = [CATALOG.midas_256, CATALOG.clip_text, real, garbage, planned];

    const first = await ensureFixtures(branches, root);
    const abs = (b: Branch) => path.join(root, b.onnx.file);
    expect(first.written).toEqual([abs(CATALOG.midas_256), abs(CATALOG.clip_text)]);
    expect(first.skippedReal).toEqual([realFile, abs(garbage)]);
    expect(first.unchanged).toEqual([]);
    await expect(stat(abs(planned))).rejects.toThrow();

    const mtime = (await stat(abs(CATALOG.clip_text))).mtimeMs;
    const second = await ensureFixtures(branches, root);
    expect(second).toEqual({ written: [], unchanged: [abs(CATALOG.midas_256), abs(CATALOG.clip_text)], skippedReal: [realFile, abs(garbage)] });
    expect((await stat(abs(CATALOG.clip_text))).mtimeMs).toBe(mtime);

    // The spec changed its output dims: the fixture is stale and is rewritten to match.
    const changed = { ...CATALOG.clip_text, onnx: { ...CATALOG.clip_text.onnx, outputs: [fp32("emb_seq", [1, 77, 768])] } };
    const third = await ensureFixtures([changed, real], root);
    expect(third.written).toEqual([abs(CATALOG.clip_text)]);
    expect((await readOnnxIO(abs(CATALOG.clip_text))).outputs[0]?.dims).toEqual([1, 77, 768]);

    // The real export, even though its I/O matches nothing new, is byte for byte what it was.
    expect(Buffer.compare(await readFile(realFile), realBytes)).toBe(0);
    expect(await readFile(abs(garbage), "utf8")).toBe("not onnx");
  });

  it("ensureFixtures rewrites a fixture an older builder wrote (same I/O and function id, other bytes)", async () => {
    const root = path.join(dir, "older-root");
    const b = CATALOG.places365_resnet50_224;
    const { model } = buildFixtureModel(b);
    const older = { ...model, initializers: (model.initializers ?? []).map((init, i) => (init.dtype === "FP32" && i === (model.initializers ?? []).findIndex((x) => x.dtype === "FP32") ? { ...init, data: new Float32Array(init.data.length) } : init)) };
    await writeOnnxModel(path.join(root, b.onnx.file), older);
    const r = await ensureFixtures([b], root);
    expect(r.written).toEqual([path.join(root, b.onnx.file)]);
    expect(Buffer.compare(await readFile(path.join(root, b.onnx.file)), Buffer.from(encodeOnnxModel(model).onnx))).toBe(0);
    expect((await ensureFixtures([b], root)).unchanged).toHaveLength(1);
  });

  it("ensureFixtures refuses an ONNX path that climbs out of the root", async () => {
    const b = branch("midas_escape", "../escape.onnx", [image("input", 8)], [fp32("depth", [1, 8, 8])]);
    await expect(ensureFixtures([b], path.join(dir, "r"))).rejects.toThrow(/not a path inside the ONNX root/);
  });
});
