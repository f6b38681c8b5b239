// The Python step host's framing, as serve-local relies on it: replies far larger than a pipe's
// buffer (they arrive in many pieces), several outputs of odd kinds in one reply (empty, 0-d, BOOL,
// INT64), requests queued back to back without their replies mixing, and a model error that leaves
// the process serving.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PythonStep, PythonStepError } from "../src/python/step-host.ts";

const MODEL_PY = `
import numpy as np
import triton_python_backend_utils as pb_utils

class TritonPythonModel:
    def initialize(self, args):
        self.name = args["model_name"]

    def execute(self, requests):
        responses = []
        for request in requests:
            x = pb_utils.get_input_tensor_by_name(request, "x").as_numpy()
            if x.size and x[0] < 0:
                responses.append(pb_utils.InferenceResponse(output_tensors=[], error=pb_utils.TritonError("negative input")))
                continue
            big = np.tile(x.astype(np.float32), 64)
            responses.append(pb_utils.InferenceResponse(output_tensors=[
                pb_utils.Tensor("big", big),
                pb_utils.Tensor("empty", np.zeros((0, 3), dtype=np.float32)),
                pb_utils.Tensor("scalar", np.array(x.size, dtype=np.int64)),
                pb_utils.Tensor("flags", (x % 2 == 0)[:5]),
            ]))
        return responses
`;

let dir: string;
let step: PythonStep;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "serve-python-step-"));
  await writeFile(path.join(dir, "model.py"), MODEL_PY);
  step = await PythonStep.start(path.join(dir, "model.py"), { model_name: "framing", model_config: "{}" });
});

afterAll(async () => {
  await step?.close();
  await rm(dir, { recursive: true, force: true });
});

const input = (n: number, seed: number) => {
  const x = Int32Array.from({ length: n }, (_, i) => (i * 7 + seed) % 1000);
  return { x, tensor: { name: "x", dtype: "INT32" as const, shape: [n], data: new Uint8Array(x.buffer) } };
};

describe("the Python step host", () => {
  it("returns a 16 MiB output, an empty, a 0-d, and a BOOL output in one reply, byte for byte", async () => {
    const { x, tensor } = input(65_536, 3); // big: 64 × 65,536 float32 = 16 MiB, far over a pipe's 64 KiB
    const out = await step.execute([tensor]);
    expect(out.map((t) => [t.name, t.dtype, t.shape])).toEqual([
      ["big", "FP32", [64 * 65_536]],
      ["empty", "FP32", [0, 3]],
      ["scalar", "INT64", []],
      ["flags", "BOOL", [5]],
    ]);
    const big = new Float32Array(out[0]!.data.buffer, out[0]!.data.byteOffset, out[0]!.data.byteLength / 4);
    expect(big.length).toBe(64 * x.length);
    for (const i of [0, 1, x.length - 1, x.length, 31 * x.length + 12_345, big.length - 1]) expect(big[i]).toBe(x[i % x.length]);
    expect(out[1]!.data.byteLength).toBe(0);
    expect(new BigInt64Array(out[2]!.data.buffer, out[2]!.data.byteOffset, 1)[0]).toBe(65_536n);
    expect([...out[3]!.data]).toEqual([...x.slice(0, 5)].map((v) => (v % 2 === 0 ? 1 : 0)));
  });

  it("keeps replies of requests sent back to back apart", async () => {
    const sent = [1, 2, 3, 4, 5, 6].map((seed) => input(20_000 + seed * 1_001, seed));
    const replies = await Promise.all(sent.map((s) => step.execute([s.tensor], ["big", "scalar"])));
    replies.forEach((r, i) => {
      const n = sent[i]!.x.length;
      const [bigT, scalarT] = ["big", "scalar"].map((name) => r.find((t) => t.name === name)!);
      expect(Number(new BigInt64Array(scalarT!.data.buffer, scalarT!.data.byteOffset, 1)[0])).toBe(n);
      const big = new Float32Array(bigT!.data.buffer, bigT!.data.byteOffset, bigT!.data.byteLength / 4);
      expect(big.length).toBe(64 * n);
      expect(big[big.length - 1]).toBe(sent[i]!.x[n - 1]);
    });
  });

  it("reports the model's own error and keeps serving", async () => {
    const bad = { name: "x", dtype: "INT32" as const, shape: [2], data: new Uint8Array(Int32Array.from([-1, 5]).buffer) };
    await expect(step.execute([bad])).rejects.toThrow(PythonStepError);
    await expect(step.execute([bad])).rejects.toThrow(/negative input/);
    const { tensor } = input(10, 1);
    expect((await step.execute([tensor], ["scalar"])).length).toBeGreaterThan(0);
    expect(step.alive).toBe(true);
  });
});
