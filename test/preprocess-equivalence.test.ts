// The two forms of a preprocess step give the same numbers: the generated model.py run by real
// python3 with numpy, and the generated ONNX graph run by ONNX Runtime, on the same raw RGB input.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as ort from "onnxruntime-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { modelConfigToJson } from "../src/config/index.ts";
import { DEFAULT_ORT_SETTINGS } from "../src/config/ort-memory.ts";
import type { ContentFile } from "../src/repo/files.ts";
import { preprocessModelConfig } from "../src/repo/model-configs.ts";
import { PythonStep } from "../src/python/step-host.ts";
import { makeWorkspace, type Workspace } from "./support/synth-workspace.ts";

let ws: Workspace;
let tmp: string;
beforeAll(async () => {
  ws = await makeWorkspace();
  tmp = await mkdtemp(join(tmpdir(), "td-pre-"));
});
afterAll(async () => {
  await ws.cleanup();
  await rm(tmp, { recursive: true, force: true });
});

/** Raw RGB with every byte value present and no pattern aligned to channels. */
function rgb(dims: readonly number[], seed: number): Uint8Array {
  const n = dims.reduce((a, b) => a * b, 1);
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (i * 131 + seed * 17 + (i >> 7)) & 255;
  return out;
}

describe("preprocess step: Python backend vs ONNX graph", () => {
  for (const branch of ["midas_256", "midas_384", "raft_256", "clip_image_224", "places365_resnet50_224"]) {
    it(`${branch}: model.py (python3 + numpy) equals the ONNX graph (onnxruntime-node) bit for bit`, async () => {
      const py = await ws.synth({ dryRun: true, preprocess: "python" });
      const onnx = await ws.synth({ dryRun: true, preprocess: "onnx" });
      const cb = py.catalog.branches.find((b) => b.branch.name === branch)!;
      const step = cb.models.preprocess!;
      const modelPy = py.plan.files.find((f) => f.path === `${step}/1/model.py`) as ContentFile;
      const graph = onnx.plan.files.find((f) => f.path === `${step}/1/model.onnx`) as ContentFile;
      const file = join(tmp, `${step}.py`);
      await writeFile(file, modelPy.content);
      const cfg = preprocessModelConfig(cb, "python", DEFAULT_ORT_SETTINGS);

      const inputs = (cfg.input ?? []).map((t, i) => ({ name: t.name!, dims: t.dims!, data: rgb(t.dims!, i + 1) }));
      const python = await PythonStep.start(file, { model_config: JSON.stringify(modelConfigToJson(cfg)), model_name: step, model_version: "1" });
      let pyOut;
      try {
        pyOut = await python.execute(inputs.map((t) => ({ name: t.name, dtype: "UINT8", shape: t.dims, data: t.data })));
      } finally {
        await python.close();
      }
      const session = await ort.InferenceSession.create(graph.content);
      const feeds = Object.fromEntries(inputs.map((t) => [t.name, new ort.Tensor("uint8", t.data, t.dims)]));
      const ortOut = await session.run(feeds);
      await session.release();

      expect(pyOut.map((t) => t.name)).toEqual((cfg.output ?? []).map((t) => t.name));
      for (const t of pyOut) {
        const expected = ortOut[t.name]!;
        expect(t.shape, t.name).toEqual([...expected.dims]);
        expect(t.dtype).toBe("FP32");
        const a = new Float32Array(t.data.buffer, t.data.byteOffset, t.data.byteLength / 4);
        const b = expected.data as Float32Array;
        expect(a.length).toBe(b.length);
        let differing = 0;
        for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) differing++;
        expect(differing, `${t.name}: elements that differ`).toBe(0);
        // Not a vacuous comparison: the values are the input normalized, moved from NHWC to NCHW.
        const pp = cb.branch.preprocess;
        if (pp.kind !== "normalize") throw new Error("expected a normalize step");
        const x = inputs[pyOut.indexOf(t)]!.data;
        const plane = t.shape[2]! * t.shape[3]!;
        expect(a[plane]).toBeCloseTo((x[1]! / 255 - pp.mean[1]) / pp.std[1], 5); // channel 1, pixel 0
        expect(a[1]).toBeCloseTo((x[3]! / 255 - pp.mean[0]) / pp.std[0], 5); // channel 0, pixel 1
      }
    });
  }

  it("the Python step refuses a tensor of the wrong shape with a message, and keeps serving", async () => {
    const py = await ws.synth({ dryRun: true, preprocess: "python" });
    const cb = py.catalog.branches.find((b) => b.branch.name === "midas_256")!;
    const modelPy = py.plan.files.find((f) => f.path === "preprocess_midas_256/1/model.py") as ContentFile;
    const file = join(tmp, "bad-shape.py");
    await writeFile(file, modelPy.content);
    const cfg = preprocessModelConfig(cb, "python", DEFAULT_ORT_SETTINGS);
    const python = await PythonStep.start(file, { model_config: JSON.stringify(modelConfigToJson(cfg)) });
    try {
      await expect(python.execute([{ name: "INPUT__0", dtype: "UINT8", shape: [1, 8, 8, 3], data: new Uint8Array(192) }])).rejects.toThrow(
        /preprocess_midas_256: INPUT__0 must be UINT8 \[1, 256, 256, 3\], got uint8 \[1, 8, 8, 3\]/,
      );
      const ok = await python.execute([{ name: "INPUT__0", dtype: "UINT8", shape: [1, 256, 256, 3], data: rgb([1, 256, 256, 3], 3) }]);
      expect(ok[0]?.shape).toEqual([1, 3, 256, 256]);
    } finally {
      await python.close();
    }
  });
});
