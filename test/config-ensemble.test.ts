import { describe, expect, it } from "vitest";
import { checkEnsemble, parseModelConfig, type ModelConfig } from "../src/config/index.ts";
import type { Problem } from "../src/errors.ts";

// A MiDaS-like pipeline: raw UINT8 NHWC image → Python preprocess → ONNX model → depth.
const preprocess = (): ModelConfig => ({
  name: "preprocess_midas_256",
  backend: "python",
  max_batch_size: 0,
  input: [{ name: "INPUT", data_type: "TYPE_UINT8", dims: [1, 256, 256, 3] }],
  output: [{ name: "OUTPUT", data_type: "TYPE_FP32", dims: [1, 3, 256, 256] }],
  instance_group: [{ count: 1, kind: "KIND_CPU" }],
});
const onnx = (): ModelConfig => ({
  name: "midas_256_onnx",
  platform: "onnxruntime_onnx",
  max_batch_size: 0,
  input: [{ name: "input", data_type: "TYPE_FP32", dims: [1, 3, 256, 256] }],
  output: [{ name: "depth", data_type: "TYPE_FP32", dims: [1, 256, 256] }],
});
const ensemble = (): ModelConfig => ({
  name: "midas_256",
  platform: "ensemble",
  max_batch_size: 0,
  input: [{ name: "INPUT__0", data_type: "TYPE_UINT8", dims: [1, 256, 256, 3] }],
  output: [{ name: "OUTPUT__0", data_type: "TYPE_FP32", dims: [1, 256, 256] }],
  ensemble_scheduling: {
    step: [
      { model_name: "preprocess_midas_256", model_version: -1, input_map: { INPUT: "INPUT__0" }, output_map: { OUTPUT: "input_pre" } },
      { model_name: "midas_256_onnx", model_version: -1, input_map: { input: "input_pre" }, output_map: { depth: "OUTPUT__0" } },
    ],
  },
});
const repo = (...cfgs: ModelConfig[]) => new Map(cfgs.map((c) => [c.name!, c]));
const models = () => repo(preprocess(), onnx());
const steps = (e: ModelConfig) => e.ensemble_scheduling!.step!;

/** The problems as `field: message` lines, for readable assertions. */
const check = (e: ModelConfig, m = models()) => checkEnsemble(e, m).map((p: Problem) => `${p.field}: ${p.message}`);

describe("checkEnsemble", () => {
  it("accepts a well-formed two-step ensemble", () => {
    expect(check(ensemble())).toEqual([]);
  });

  it("accepts steps listed out of data-flow order, as Triton does", () => {
    const e = ensemble();
    steps(e).reverse();
    expect(check(e)).toEqual([]);
  });

  it("reports a step model that is not in the repository", () => {
    const e = ensemble();
    steps(e)[1]!.model_name = "midas_265_onnx";
    expect(checkEnsemble(e, models())[0]).toMatchObject({
      field: "ensemble_scheduling.step[1].model_name",
      message: 'step model "midas_265_onnx" is not in the repository',
      hint: "models present: midas_256_onnx, preprocess_midas_256",
    });
  });

  it("reports an input_map key that is not an input of the step model", () => {
    const e = ensemble();
    steps(e)[1]!.input_map = { input: "input_pre", mask: "INPUT__0" };
    expect(check(e)).toEqual(['ensemble_scheduling.step[1].input_map["mask"]: "mask" is not an input of midas_256_onnx']);
  });

  it("reports a model input left unmapped, unless it is optional", () => {
    const m = models();
    m.get("midas_256_onnx")!.input!.push({ name: "scale", data_type: "TYPE_FP32", dims: [1] });
    expect(check(ensemble(), m)).toEqual(['ensemble_scheduling.step[1].input_map: input "scale" of midas_256_onnx is not mapped to any ensemble tensor']);
    m.get("midas_256_onnx")!.input![1]!.optional = true;
    expect(check(ensemble(), m)).toEqual([]);
  });

  it("reports an input_map value that is neither an ensemble input nor produced by a step", () => {
    const e = ensemble();
    steps(e)[1]!.input_map = { input: "input_preprocessed" };
    expect(check(e)).toEqual([
      'ensemble_scheduling.step[0].output_map["OUTPUT"]: tensor "input_pre" is neither consumed by a step nor an ensemble output (Triton refuses unused tensors)',
      'ensemble_scheduling.step[1].input_map["input"]: "input_preprocessed" is neither an ensemble input nor produced by any step',
    ]);
  });

  it("reports an output_map key that is not an output of the step model", () => {
    const e = ensemble();
    steps(e)[1]!.output_map = { disparity: "OUTPUT__0" };
    expect(check(e)).toEqual(['ensemble_scheduling.step[1].output_map["disparity"]: "disparity" is not an output of midas_256_onnx']);
  });

  it("reports an ensemble input no step consumes", () => {
    const e = ensemble();
    e.input!.push({ name: "INPUT__1", data_type: "TYPE_UINT8", dims: [1, 256, 256, 3] });
    expect(check(e)).toEqual(['input[1]: ensemble input "INPUT__1" is not consumed by any step']);
  });

  it("reports an ensemble output no step produces", () => {
    const e = ensemble();
    e.output!.push({ name: "OUTPUT__1", data_type: "TYPE_FP32", dims: [1] });
    expect(check(e)).toEqual(['output[1]: ensemble output "OUTPUT__1" is not produced by any step']);
  });

  it("reports a tensor produced by two steps, naming both", () => {
    const e = ensemble();
    steps(e)[0]!.output_map = { OUTPUT: "OUTPUT__0" };
    steps(e)[1]!.input_map = { input: "OUTPUT__0" };
    expect(check(e)).toContain(
      'ensemble_scheduling.step[1].output_map["depth"]: tensor "OUTPUT__0" is produced twice: by step[0] (preprocess_midas_256) output "OUTPUT" and by step[1] (midas_256_onnx) output "depth"',
    );
  });

  it("reports a step that writes over an ensemble input", () => {
    const e = ensemble();
    steps(e)[0]!.output_map = { OUTPUT: "INPUT__0" };
    expect(check(e)).toContain('ensemble_scheduling.step[0].output_map["OUTPUT"]: "INPUT__0" is an ensemble input, so no step may produce it');
  });

  it("reports a data type mismatch with both sides", () => {
    const e = ensemble();
    e.input![0]!.data_type = "TYPE_FP32";
    expect(check(e)).toEqual([
      'ensemble_scheduling.step[0].input_map["INPUT"]: data type mismatch on tensor "INPUT__0": ensemble input "INPUT__0" is TYPE_FP32, input "INPUT" of preprocess_midas_256 (step[0]) is TYPE_UINT8',
    ]);
  });

  it("reports a shape mismatch with both sides, between steps and at the ensemble output", () => {
    const m = models();
    m.get("midas_256_onnx")!.input![0]!.dims = [1, 3, 384, 384];
    m.get("midas_256_onnx")!.output![0]!.dims = [1, 384, 384];
    expect(check(ensemble(), m)).toEqual([
      'ensemble_scheduling.step[1].output_map["depth"]: shape mismatch on tensor "OUTPUT__0": output "depth" of midas_256_onnx (step[1]) is [1, 384, 384], ensemble output "OUTPUT__0" is [1, 256, 256]',
      'ensemble_scheduling.step[1].input_map["input"]: shape mismatch on tensor "input_pre": output "OUTPUT" of preprocess_midas_256 (step[0]) is [1, 3, 256, 256], input "input" of midas_256_onnx (step[1]) is [1, 3, 384, 384]',
    ]);
  });

  it("lets -1 match any size, and a batching model's dims match with the batch dimension", () => {
    const m = models();
    m.get("midas_256_onnx")!.input![0]!.dims = [1, 3, -1, -1];
    const batching = { ...m.get("midas_256_onnx")!, max_batch_size: 4, output: [{ name: "depth", data_type: "TYPE_FP32" as const, dims: [256, 256] }] };
    expect(check(ensemble(), m)).toEqual([]);
    const e = ensemble();
    e.output![0]!.dims = [-1, 256, 256];
    expect(check(e, repo(preprocess(), { ...batching, input: [{ name: "input", data_type: "TYPE_FP32", dims: [3, 256, 256] }] }))).toEqual([]);
  });

  it("reports steps that form a cycle", () => {
    const e = ensemble();
    const m = models();
    m.get("preprocess_midas_256")!.input!.push({ name: "FEEDBACK", data_type: "TYPE_FP32", dims: [1, 256, 256] });
    steps(e)[0]!.input_map!.FEEDBACK = "depth_loop";
    steps(e)[1]!.output_map!.depth = "depth_loop";
    m.get("midas_256_onnx")!.output!.push({ name: "depth_copy", data_type: "TYPE_FP32", dims: [1, 256, 256] });
    steps(e)[1]!.output_map!.depth_copy = "OUTPUT__0";
    const problems = check(e, m);
    expect(problems).toContain("ensemble_scheduling.step: the steps form a cycle: step[0] (preprocess_midas_256) → step[1] (midas_256_onnx) → step[0] (preprocess_midas_256)");
  });

  it("reports a step that consumes its own output", () => {
    const e = ensemble();
    steps(e)[1]!.input_map = { input: "OUTPUT__0" };
    steps(e)[0]!.output_map = { OUTPUT: "OUTPUT__0_unused" };
    expect(check(e)).toContain("ensemble_scheduling.step: the steps form a cycle: step[1] (midas_256_onnx) → step[1] (midas_256_onnx)");
  });

  it("reports what Triton refuses on the ensemble itself", () => {
    const e: ModelConfig = { ...ensemble(), platform: "onnxruntime_onnx", instance_group: [{ kind: "KIND_CPU" }], optimization: {}, max_batch_size: 8 };
    expect(check(e)).toEqual([
      'platform: platform is "onnxruntime_onnx", but an ensemble needs "ensemble"',
      "instance_group: an ensemble must not have an instance_group (Triton refuses it)",
      "optimization: an ensemble must not have an optimization block (Triton refuses it)",
    ]);
    const m = repo(preprocess(), { ...onnx(), max_batch_size: 2 });
    expect(check({ ...ensemble(), max_batch_size: 8 }, m)).toContain("ensemble_scheduling.step[1].model_name: the ensemble allows max_batch_size 8 but midas_256_onnx only 2");
  });

  it("reports a missing scheduling block, no steps, and steps without maps", () => {
    expect(check({ ...ensemble(), ensemble_scheduling: undefined })).toEqual(["ensemble_scheduling: there is no ensemble_scheduling block"]);
    expect(check({ ...ensemble(), ensemble_scheduling: { step: [] } })).toContain("ensemble_scheduling.step: the ensemble has no steps");
    const e = ensemble();
    steps(e).push({ model_name: "" });
    expect(check(e)).toEqual(
      expect.arrayContaining([
        "ensemble_scheduling.step[2].model_name: the step has no model_name",
        "ensemble_scheduling.step[2].input_map: the step maps no inputs (Triton requires an input_map)",
        "ensemble_scheduling.step[2].output_map: the step maps no outputs (Triton requires an output_map)",
      ]),
    );
  });

  it("points at line:column when the ensemble was parsed from config.pbtxt", () => {
    const text = `name: "midas_256"
platform: "ensemble"
max_batch_size: 0
input [ { name: "INPUT__0" data_type: TYPE_UINT8 dims: [ 1, 256, 256, 3 ] } ]
output [ { name: "OUTPUT__0" data_type: TYPE_FP32 dims: [ 1, 256, 256 ] } ]
ensemble_scheduling {
  step [
    {
      model_name: "preprocess_midas_256"
      input_map { key: "INPUT" value: "INPUT__0" }
      output_map { key: "OUTPUT" value: "input_pre" }
    },
    {
      model_name: "midas_256_onnx"
      input_map { key: "input" value: "input_prep" }
      output_map { key: "depth" value: "OUTPUT__0" }
    }
  ]
}
`;
    const problems = checkEnsemble(parseModelConfig(text, "triton/models/midas_256/config.pbtxt"), models());
    expect(problems).toContainEqual(
      expect.objectContaining({ file: "triton/models/midas_256/config.pbtxt", line: 15, column: 17, field: 'ensemble_scheduling.step[1].input_map["input"]' }),
    );
    expect(problems).toContainEqual(expect.objectContaining({ line: 11, column: 18, field: 'ensemble_scheduling.step[0].output_map["OUTPUT"]' }));
  });
});
