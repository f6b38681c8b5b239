// Reading an ONNX file's I/O without its weights: the header walk must agree with a full decode,
// report what makes a model unservable, and fail with a message that says what is wrong and where.
import { mkdir, mkdtemp, readFile, rm, symlink, truncate, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { UserError } from "../src/errors.ts";
import { encodeOnnxModel, f32, writeOnnxModel, type OnnxModelSpec } from "../src/onnx/build.ts";
import { buildNormalizeGraph } from "../src/onnx/preprocess-graph.ts";
import { checkExternalData, checkOnnxAgainstSpec, readOnnxIO, readOnnxIOFull, type WalkStats } from "../src/onnx/read-io.ts";
import { buildFixtureModel } from "../src/fixtures/build.ts";
import type { FixtureBranch } from "../src/fixtures/functions.ts";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "onnx-read-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const image = (name: string, s: number) => ({ name, dtype: "FP32" as const, dims: [1, 3, s, s] });
const FIXTURES: FixtureBranch[] = [
  { name: "midas_32", onnx: { file: "midas/m.onnx", inputs: [image("input", 32)], outputs: [{ name: "depth", dtype: "FP32", dims: [1, 32, 32] }] } },
  { name: "raft_32", onnx: { file: "raft/r.onnx", inputs: [image("input0", 32), image("input1", 32)], outputs: [{ name: "flow", dtype: "FP32", dims: [1, 2, 32, 32] }] } },
  { name: "clip_text", onnx: { file: "clip/t.onnx", inputs: [{ name: "input", dtype: "INT64", dims: [1, 77] }], outputs: [{ name: "emb_seq", dtype: "FP32", dims: [1, 77, 512] }] } },
  { name: "yolo11x_64", onnx: { file: "y.onnx", inputs: [image("images", 64)], outputs: [{ name: "output0", dtype: "FP32", dims: [1, 84, 84] }] } },
];

/** One identity-like model with whatever inputs/initializers a test needs. */
function identityModel(over: Partial<OnnxModelSpec> = {}): OnnxModelSpec {
  return {
    inputs: [{ name: "x", dtype: "FP32", dims: [1, 4] }],
    outputs: [{ name: "y", dtype: "FP32", dims: [1, 4] }],
    nodes: [{ op: "Identity", inputs: ["x"], outputs: ["y"] }],
    ...over,
  };
}

async function writeModel(name: string, spec: OnnxModelSpec): Promise<string> {
  const file = path.join(dir, name);
  await writeOnnxModel(file, spec);
  return file;
}

async function expectUserError(p: Promise<unknown>, ...fragments: string[]): Promise<UserError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(UserError);
  const ue = e as UserError;
  expect(ue.exitCode).toBe(2);
  for (const f of fragments) expect(ue.message).toContain(f);
  return ue;
}

describe("header walk", () => {
  it.each(FIXTURES.map((b) => [b.name, b] as const))("equals the full protobufjs decode on the %s fixture", async (_name, b) => {
    const file = await writeModel(`${b.name}.onnx`, buildFixtureModel(b).model);
    const walked = await readOnnxIO(file);
    expect(walked).toEqual(await readOnnxIOFull(file));
    expect(walked.inputs.map((t) => t.name)).toEqual(b.onnx.inputs.map((t) => t.name));
    expect(walked.outputs[0]?.dims).toEqual(b.onnx.outputs[0]?.dims);
    expect(walked.metadata["triton_deploy.fixture"]).toBe("true");
    expect(walked.opsets).toEqual([{ domain: "", version: 17 }]);
    expect(walked.irVersion).toBe(8);
  });

  it("equals the full decode on the normalize graph", async () => {
    const file = path.join(dir, "normalize.onnx");
    const bytes = buildNormalizeGraph({
      inputs: [{ name: "INPUT__0", dtype: "UINT8", dims: [1, 8, 8, 3] }],
      outputs: [{ name: "out", dtype: "FP32", dims: [1, 3, 8, 8] }],
      divisor: 255,
      mean: [0.5, 0.5, 0.5],
      std: [0.5, 0.5, 0.5],
    });
    await writeFile(file, bytes);
    expect(await readOnnxIO(file)).toEqual(await readOnnxIOFull(file));
  });

  it("reports dynamic dims: a dim_param by name, a missing value as null, -1 as -1", async () => {
    const file = await writeModel("dynamic.onnx", identityModel({
      inputs: [{ name: "x", dtype: "FP32", dims: ["batch", 3, null, -1] }],
      outputs: [{ name: "y", dtype: "FP32", dims: ["batch", 3, null, -1] }],
    }));
    const io = await readOnnxIO(file);
    expect(io.inputs[0]?.dims).toEqual(["batch", 3, null, -1]);
    expect(io).toEqual(await readOnnxIOFull(file));
  });

  it("leaves out graph inputs that are initializers (constants, not model inputs)", async () => {
    const file = await writeModel("init-input.onnx", identityModel({
      inputs: [{ name: "x", dtype: "FP32", dims: [1, 4] }, { name: "w", dtype: "FP32", dims: [1, 4] }],
      nodes: [{ op: "Add", inputs: ["x", "w"], outputs: ["y"] }],
      initializers: [f32("w", [1, 4], [1, 2, 3, 4])],
    }));
    const io = await readOnnxIO(file);
    expect(io.inputs.map((t) => t.name)).toEqual(["x"]);
    expect(io).toEqual(await readOnnxIOFull(file));
  });

  it("lists external-data references with location, offset and length", async () => {
    const file = await writeModel("ext.onnx", identityModel({
      nodes: [{ op: "Add", inputs: ["x", "a"], outputs: ["s"] }, { op: "Add", inputs: ["s", "b"], outputs: ["y"] }],
      initializers: [f32("a", [1, 4], [1, 2, 3, 4]), f32("b", [1, 4], [5, 6, 7, 8])],
      externalData: { location: "ext.onnx.data" },
    }));
    const io = await readOnnxIO(file);
    expect(io.externalData).toEqual([
      { tensor: "a", location: "ext.onnx.data", offset: 0, length: 16 },
      { tensor: "b", location: "ext.onnx.data", offset: 16, length: 16 },
    ]);
    expect(io).toEqual(await readOnnxIOFull(file));
    expect((await readFile(path.join(dir, "ext.onnx.data"))).length).toBe(32);
  });

  it("seeks past large initializers instead of reading them", async () => {
    const big = new Float32Array(4 * 1024 * 1024); // 16 MiB inline raw_data, twice
    const file = await writeModel("big.onnx", identityModel({
      initializers: [{ name: "w1", dtype: "FP32", dims: [big.length], data: big }, { name: "w2", dtype: "FP32", dims: [big.length], data: big }],
    }));
    const stats: WalkStats = { reads: 0 };
    const io = await readOnnxIO(file, stats);
    expect(io.inputs.map((t) => t.name)).toEqual(["x"]);
    expect(stats.reads).toBeLessThanOrEqual(6);
  });
});

describe("bad files", () => {
  it("a missing file names the path and what to do", async () => {
    const missing = path.join(dir, "nope.onnx");
    const e = await expectUserError(readOnnxIO(missing), missing, "not found");
    expect(e.problems[0]?.hint).toMatch(/fixtures|export/);
  });

  it("a truncated file says so, with the byte offset", async () => {
    const file = await writeModel("cut.onnx", identityModel({ initializers: [f32("unused", [64], new Array(64).fill(1))] }));
    const size = (await readFile(file)).length;
    await truncate(file, Math.floor(size / 2));
    await expectUserError(readOnnxIO(file), "truncated or not an ONNX file", "byte offset", file);
    await expectUserError(readOnnxIOFull(file), "truncated or not an ONNX file");
  });

  it("a text file or random bytes are not ONNX", async () => {
    const text = path.join(dir, "readme.onnx");
    await writeFile(text, "hello, this is not a model\n".repeat(20));
    await expectUserError(readOnnxIO(text), "truncated or not an ONNX file", "byte offset");
    const noise = path.join(dir, "noise.onnx");
    await writeFile(noise, Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 2654435761) >>> 24)));
    await expectUserError(readOnnxIO(noise), "truncated or not an ONNX file");
    const empty = path.join(dir, "empty.onnx");
    await writeFile(empty, "");
    await expectUserError(readOnnxIO(empty), "truncated or not an ONNX file", "empty");
  });

  it("a model without a graph is refused", async () => {
    const file = path.join(dir, "nograph.onnx");
    await writeFile(file, Buffer.from([0x08, 0x08])); // ir_version = 8, nothing else
    await expectUserError(readOnnxIO(file), "no graph");
    await expectUserError(readOnnxIOFull(file), "no graph");
  });
});

describe("checkOnnxAgainstSpec", () => {
  const where = { file: "models/optimized/midas/m.onnx", specFile: "model-specs/midas.yaml", field: "branches[0].onnx" };
  const specOf = (dims: number[]) => ({ inputs: [{ name: "x", dtype: "FP32" as const, dims }], outputs: [{ name: "y", dtype: "FP32" as const, dims }] });

  it("agrees when names, dtypes and dims match", async () => {
    const io = await readOnnxIO(await writeModel("ok.onnx", identityModel()));
    expect(checkOnnxAgainstSpec(io, specOf([1, 4]), where)).toEqual({ problems: [], open: [] });
  });

  it("refuses a symbolic input dim with one message per symbol, naming every dim it stands for, and hints that work", async () => {
    const io = await readOnnxIO(await writeModel("dyn2.onnx", identityModel({
      inputs: [{ name: "x", dtype: "FP32", dims: ["batch", 4] }],
      outputs: [{ name: "y", dtype: "FP32", dims: ["batch", null] }],
    })));
    const { problems, open } = checkOnnxAgainstSpec(io, specOf([1, 4]), where);
    expect(open).toEqual([]); // with an open input nothing can be established: the input's message says it all
    expect(problems.map((p) => p.field)).toEqual(["branches[0].onnx.inputs[0].dims[0]"]);
    expect(problems[0]?.message).toBe('"x": the symbol "batch" leaves input "x" dims[0] (spec: 1), output "y" dims[0] (spec: 1) dynamic in the file; inputs must have fixed dims (ONNX file models/optimized/midas/m.onnx)');
    expect(problems[0]?.file).toBe("model-specs/midas.yaml");
    const hint = problems[0]!.hint!;
    expect(hint).toContain("torch.onnx.export(..., dynamo=False) without dynamic_axes");
    expect(hint).toContain("torch.onnx.export(..., dynamo=True) without dynamic_shapes");
    expect(hint).toContain("[('x', 0, 1), ('y', 0, 1)]");
    expect(hint).toContain("load_external_data=False");
    expect(hint).not.toContain("make_dynamic_shape_fixed");
  });

  it("a dimension without a value or with -1 on an input: one message each", async () => {
    const io = await readOnnxIO(await writeModel("dyn3.onnx", identityModel({ inputs: [{ name: "x", dtype: "FP32", dims: [null, -1] }], outputs: [{ name: "y", dtype: "FP32", dims: [1, 4] }] })));
    const { problems } = checkOnnxAgainstSpec(io, specOf([1, 4]), where);
    expect(problems.map((p) => p.message.split(" (ONNX file")[0])).toEqual([
      '"x": dimension 0 is dynamic in the file (it has no value): spec says [1, 4], the file has [?, -1]; inputs must have fixed dims',
      '"x": dimension 1 is dynamic in the file (it is -1): spec says [1, 4], the file has [?, -1]; inputs must have fixed dims',
    ]);
  });

  it("an open output with fixed inputs is no problem yet: it is handed on to be established", async () => {
    const io = await readOnnxIO(await writeModel("open-out.onnx", identityModel({ outputs: [{ name: "y", dtype: "FP32", dims: ["Squeezey_dim_0", "Squeezey_dim_0"] }] })));
    const { problems, open } = checkOnnxAgainstSpec(io, specOf([1, 4]), where);
    expect(problems).toEqual([]);
    expect(open.map((o) => [o.index, o.spec.name, o.file.dims])).toEqual([[0, "y", ["Squeezey_dim_0", "Squeezey_dim_0"]]]);
    // A fixed dim that disagrees is still a plain mismatch, not something to establish.
    const bad = await readOnnxIO(await writeModel("open-out2.onnx", identityModel({ outputs: [{ name: "y", dtype: "FP32", dims: ["n", 5] }] })));
    const r = checkOnnxAgainstSpec(bad, specOf([1, 4]), where);
    expect(r.open).toEqual([]);
    expect(r.problems.map((p) => p.message)).toEqual(['"y": spec says dims [1, 4], the file has [n, 5] (ONNX file models/optimized/midas/m.onnx)']);
  });

  it("a misnamed tensor is one message with one fix: the spec's name", async () => {
    const io = await readOnnxIO(await writeModel("names.onnx", identityModel()));
    const { problems } = checkOnnxAgainstSpec(io, { inputs: [{ name: "pixel_values", dtype: "FP32", dims: [1, 4] }], outputs: specOf([1, 4]).outputs }, where);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ field: "branches[0].onnx.inputs[0].name", hint: 'set branches[0].onnx.inputs[0].name to "x" in the spec; the ensemble\'s contract names stay as they are' });
    expect(problems[0]?.message).toContain('spec says input "pixel_values", the file calls this input "x" (FP32 [1, 4])');
    expect(problems[0]?.message).not.toContain("does not declare");
  });

  it("a misnamed tensor that a contract refers to by name: the fix names both places", async () => {
    const io = await readOnnxIO(await writeModel("names2.onnx", identityModel()));
    const contract = { inputs: [{ name: "INPUT__0", dtype: "UINT8" as const, dims: [1, 4], onnx: "pixel_values" }], outputs: [{ name: "OUTPUT__0", dtype: "FP32" as const, dims: [1, 4] }] };
    const { problems } = checkOnnxAgainstSpec(io, { inputs: [{ name: "pixel_values", dtype: "FP32", dims: [1, 4] }], outputs: specOf([1, 4]).outputs, contract }, where);
    expect(problems.map((p) => p.hint)).toEqual(['set branches[0].onnx.inputs[0].name to "x" in the spec, and branches[0].contract.inputs[0].onnx (which names it) too; the ensemble\'s contract names stay as they are']);
  });

  it("a spec tensor the file lacks, and a file tensor the spec lacks, when nothing pairs them", async () => {
    const io = await readOnnxIO(await writeModel("extra.onnx", identityModel({
      inputs: [{ name: "x", dtype: "FP32", dims: [1, 4] }, { name: "z", dtype: "FP32", dims: [1, 4] }],
      nodes: [{ op: "Add", inputs: ["x", "z"], outputs: ["y"] }],
    })));
    expect(checkOnnxAgainstSpec(io, specOf([1, 4]), where).problems.map((p) => [p.field, p.hint])).toEqual([["branches[0].onnx.inputs", 'declare "z" in the spec\'s onnx.inputs']]);
    const one = await readOnnxIO(await writeModel("one.onnx", identityModel()));
    const spec2 = { inputs: [{ name: "x", dtype: "FP32" as const, dims: [1, 4] }, { name: "mask", dtype: "FP32" as const, dims: [1, 4] }], outputs: specOf([1, 4]).outputs };
    expect(checkOnnxAgainstSpec(one, spec2, where).problems.map((p) => p.message.split(";")[0])).toEqual(['spec says input "mask", the file has no such input']);
  });

  it("shows both dtypes and both shapes on a mismatch", async () => {
    const io = await readOnnxIO(await writeModel("types.onnx", identityModel({
      inputs: [{ name: "x", dtype: "INT64", dims: [1, 4] }],
      outputs: [{ name: "y", dtype: "INT64", dims: [1, 4] }],
      nodes: [{ op: "Identity", inputs: ["x"], outputs: ["y"] }],
    })));
    const { problems } = checkOnnxAgainstSpec(io, specOf([1, 3, 4]), where);
    expect(problems.map((p) => p.message)).toContain('"x": spec says dtype FP32, the file has INT64 (ONNX INT64) (ONNX file models/optimized/midas/m.onnx)');
    expect(problems.some((p) => p.message.includes("spec says dims [1, 3, 4], the file has [1, 4]"))).toBe(true);
  });
});

describe("checkExternalData", () => {
  let root: string;
  const twoWeights = (location: string): OnnxModelSpec =>
    identityModel({
      nodes: [{ op: "Add", inputs: ["x", "a"], outputs: ["y"] }],
      initializers: [f32("a", [1, 4], [1, 2, 3, 4])],
      externalData: { location },
    });

  beforeAll(async () => {
    root = path.join(dir, "root");
    await mkdir(path.join(root, "m"), { recursive: true });
  });

  async function check(name: string, location: string): Promise<string[]> {
    const file = path.join(root, "m", name);
    await writeOnnxModel(file, twoWeights(location));
    const problems = await checkExternalData(await readOnnxIO(file), file, root);
    return problems.map((p) => p.message);
  }

  it("accepts a data file beside the model", async () => {
    expect(await check("ok.onnx", "ok.onnx.data")).toEqual([]);
  });

  it("refuses a missing data file", async () => {
    const file = path.join(root, "m", "gone.onnx");
    await writeOnnxModel(file, twoWeights("gone.onnx.data"));
    await rm(path.join(root, "m", "gone.onnx.data"));
    const [msg] = (await checkExternalData(await readOnnxIO(file), file, root)).map((p) => p.message);
    expect(msg).toContain('"gone.onnx.data" does not exist');
  });

  it("refuses ../ that leaves the ONNX root", async () => {
    // Inside m/ ../ is still in root: allowed. Two levels up leaves it.
    expect(await check("up1.onnx", "../up1.data")).toEqual([]);
    const [msg] = await check("up2.onnx", "../../outside.data");
    expect(msg).toContain("outside the ONNX root");
  });

  it("refuses an absolute location", async () => {
    const [msg] = await check("abs.onnx", path.join(dir, "abs.data"));
    expect(msg).toContain("absolute path");
  });

  it("refuses a symlink that leaves the root", async () => {
    const outside = path.join(dir, "outside-real.data");
    await writeFile(outside, Buffer.alloc(64));
    const file = path.join(root, "m", "link.onnx");
    await writeOnnxModel(file, twoWeights("link.onnx.data"));
    await rm(path.join(root, "m", "link.onnx.data"));
    await symlink(outside, path.join(root, "m", "link.onnx.data"));
    const problems = await checkExternalData(await readOnnxIO(file), file, root);
    expect(problems.map((p) => p.message).join()).toContain("is a symlink to");
  });

  it("refuses a data file shorter than offset + length", async () => {
    const file = path.join(root, "m", "short.onnx");
    await writeOnnxModel(file, twoWeights("short.onnx.data"));
    await truncate(path.join(root, "m", "short.onnx.data"), 10);
    const problems = await checkExternalData(await readOnnxIO(file), file, root);
    expect(problems[0]?.message).toContain("is 10 bytes, but tensor \"a\" needs bytes up to 16");
  });

  it("the encoder's external file holds what the references say", () => {
    const { externalFiles } = encodeOnnxModel(twoWeights("x.data"));
    expect(externalFiles.map((f) => [f.location, f.bytes.length])).toEqual([["x.data", 16]]);
  });
});
