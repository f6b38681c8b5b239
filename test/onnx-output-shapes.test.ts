// What torch's exporters write, rebuilt in code (no torch needed): the TorchScript exporter's
// symbolic output dims after a Squeeze with every input fixed (DPT's depth: [Squeezedepth_dim_0,
// Squeezedepth_dim_0, Squeezedepth_dim_2], one symbol for sizes 1 and 384), opset 18 with the
// weights in a 0600 external-data file, and a symbolic input dim. synth-repo accepts the first once
// ONNX Runtime has established the shape (cached by the file's hash), never copies or inlines the
// data, and keeps refusing the last with hints that work.
import { existsSync } from "node:fs";
import { chmod, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { UserError } from "../src/errors.ts";
import { attr, f32, i64, writeOnnxModel, type OnnxModelSpec } from "../src/onnx/build.ts";
import { ORT_VERSION, OutputShapeCache } from "../src/onnx/output-shapes.ts";
import { readOnnxIO } from "../src/onnx/read-io.ts";
import { makeWorkspace, REPO_ROOT, snapshot, type Workspace } from "./support/synth-workspace.ts";

let cacheDir: string;
beforeAll(async () => {
  cacheDir = await mkdtemp(join(tmpdir(), "td-shape-cache-"));
  process.env.TRITON_DEPLOY_CACHE_DIR = cacheDir;
});
afterAll(async () => {
  delete process.env.TRITON_DEPLOY_CACHE_DIR;
  await rm(cacheDir, { recursive: true, force: true });
});

let ws: Workspace | undefined;
afterEach(async () => {
  await ws?.cleanup();
  ws = undefined;
});

const S = 256;
const SQUEEZED = ["Squeezedepth_dim_0", "Squeezedepth_dim_0", "Squeezedepth_dim_2"];
const midasFile = (w: Workspace) => join(w.onnxRoot, "midas", "midas_small_256.onnx");

/**
 * A depth head as TorchScript's exporter writes it at opset 18: input FP32 [1,3,S,S] fixed, a conv
 * (weights in `<file>.data`) to [1,1,S/stride,S/stride], Squeeze(axes=[1]) to the depth map, and the
 * graph output declared with the symbols the exporter invents where its shape inference gave up.
 */
function squeezedDepth(o: { stride?: number; outputDims?: (string | number | null)[]; inputDims?: (string | number)[] } = {}): OnnxModelSpec {
  const stride = o.stride ?? 1;
  return {
    opset: 18,
    producerName: "pytorch",
    inputs: [{ name: "input", dtype: "FP32", dims: o.inputDims ?? [1, 3, S, S] }],
    outputs: [{ name: "depth", dtype: "FP32", dims: o.outputDims ?? SQUEEZED }],
    initializers: [f32("head.weight", [1, 3, 1, 1], [0.25, 0.5, 0.25]), f32("head.bias", [1], [0.5]), i64("axes", [1], [1])],
    externalData: { location: "midas_small_256.onnx.data" },
    nodes: [
      { op: "Conv", inputs: ["input", "head.weight", "head.bias"], outputs: ["head"], attributes: { kernel_shape: attr.ints([1, 1]), strides: attr.ints([stride, stride]) } },
      { op: "Squeeze", inputs: ["head", "axes"], outputs: ["depth"] },
    ],
  };
}

/** Writes the export as torch + onnx.save_model(save_as_external_data=True) leave it: data file 0600. */
async function writeExport(w: Workspace, spec: OnnxModelSpec): Promise<void> {
  await rm(midasFile(w));
  await rm(`${midasFile(w)}.data`, { force: true });
  await writeOnnxModel(midasFile(w), spec);
  await chmod(`${midasFile(w)}.data`, 0o600);
}

async function refusal(w: Workspace): Promise<UserError> {
  const err = await w.synth().then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, "synth-repo should have refused").toBeInstanceOf(UserError);
  return err as UserError;
}

describe("symbolic output dims with fixed inputs (torch's TorchScript exporter)", () => {
  it("are accepted once ONNX Runtime establishes the spec's shape; the export's files are read in place, never copied or inlined", async () => {
    ws = await makeWorkspace();
    await writeExport(ws, squeezedDepth());
    const io = await readOnnxIO(midasFile(ws));
    expect(io.outputs[0]!.dims).toEqual(SQUEEZED);
    expect(io.externalData.map((r) => r.location)).toEqual(["midas_small_256.onnx.data", "midas_small_256.onnx.data"]);
    const exportsBefore = await snapshot(join(ws.onnxRoot, "midas"));
    const { report } = await ws.synth();
    expect(report!.written).toContain("midas_256_onnx/config.pbtxt");
    // cloned where the filesystem can, copied where it cannot (the default never links)
    expect([...report!.cloned, ...report!.copied]).toEqual(expect.arrayContaining(["midas_256_onnx/1/model.onnx", "midas_256_onnx/1/midas_small_256.onnx.data"]));
    expect(await snapshot(join(ws.onnxRoot, "midas")), "nothing written beside the export, nothing rewritten").toEqual(exportsBefore);
    // The config keeps the spec's fixed dims, as Triton needs them.
    expect(await readFile(join(ws.out, "midas_256_onnx", "config.pbtxt"), "utf8")).toMatch(/name: "depth"\n\s*data_type: TYPE_FP32\n\s*dims: \[ 1, 256, 256 \]/);
    // Warm: the answer comes from the cache (keyed by the file's hash); the cache file is not even rewritten.
    const cacheFile = join(cacheDir, "onnx-output-shapes.json");
    const cached = await stat(cacheFile);
    expect(Object.values(JSON.parse(await readFile(cacheFile, "utf8")).shapes)).toEqual([{ declared: { depth: [1, S, S] }, computed: { depth: [1, S, S] } }]);
    await ws.synth();
    expect((await stat(cacheFile)).mtimeMs).toBe(cached.mtimeMs);
  });

  it("the cache is keyed by the file's hash: a second load answers without ONNX Runtime, a changed export is asked again", async () => {
    ws = await makeWorkspace();
    await writeExport(ws, squeezedDepth());
    const dir = await mkdtemp(join(tmpdir(), "td-shape-cache-unit-"));
    try {
      const io = await readOnnxIO(midasFile(ws));
      const cold = await OutputShapeCache.load(dir);
      const shapes = await cold.establish(midasFile(ws), io.inputs);
      expect(shapes).toEqual({ declared: { depth: [1, S, S] }, computed: { depth: [1, S, S] } });
      expect(cold.probes).toBe(1);
      await cold.save();
      const warm = await OutputShapeCache.load(dir);
      expect(await warm.establish(midasFile(ws), io.inputs)).toEqual(shapes);
      expect(warm.probes).toBe(0);
      await writeExport(ws, squeezedDepth({ stride: 2 }));
      expect((await warm.establish(midasFile(ws), io.inputs)).computed).toEqual({ depth: [1, S / 2, S / 2] });
      expect(warm.probes).toBe(1);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("a computed shape that differs from the spec is refused, showing the spec, the declared and the computed dims", async () => {
    ws = await makeWorkspace();
    await writeExport(ws, squeezedDepth({ stride: 2 }));
    const e = await refusal(ws);
    expect(e.problems).toHaveLength(1);
    expect(e.message).toMatch(
      /midas\.yaml:\d+:\d+ branches\[0\]\.onnx\.outputs\[0\]\.dims: "depth": spec says dims \[1, 256, 256\], the file declares \[Squeezedepth_dim_0, Squeezedepth_dim_0, Squeezedepth_dim_2\] and ONNX Runtime computes \[1, 128, 128\] from the fixed inputs/,
    );
  });

  it("dims ONNX Runtime computes but does not fix at load are refused, one message per symbol, because Triton compares output dims exactly", async () => {
    // onnxruntime_backend r24.08 src/onnxruntime.cc ValidateOutputs: CompareDimsSupported(..., compare_exact = true);
    // a dim ORT leaves symbolic after optimizing reaches it as -1 and fails the load against the config's 256.
    ws = await makeWorkspace();
    await writeExport(ws, {
      opset: 18,
      inputs: [{ name: "input", dtype: "FP32", dims: [1, 3, S, S] }],
      outputs: [{ name: "depth", dtype: "FP32", dims: ["Reshapedepth_dim_0", "Reshapedepth_dim_0", "Reshapedepth_dim_2"] }],
      initializers: [f32("scale", [1], [1]), i64("base", [3], [1, S, S]), i64("channel_axis", [1], [1])],
      externalData: { location: "midas_small_256.onnx.data" },
      nodes: [
        // The target shape depends on the input's values (zero at the probe), so no optimizer can fold it.
        // Opset 18: ReduceMean takes its axes as an input, no longer as an attribute.
        { op: "ReduceMean", inputs: ["input", "channel_axis"], outputs: ["mean"], attributes: { keepdims: attr.int(0) } },
        { op: "Mul", inputs: ["mean", "scale"], outputs: ["scaled"] },
        { op: "ReduceMin", inputs: ["input"], outputs: ["lowest"], attributes: { keepdims: attr.int(0) } },
        { op: "Cast", inputs: ["lowest"], outputs: ["zero"], attributes: { to: attr.int(7) } },
        { op: "Add", inputs: ["base", "zero"], outputs: ["shape"] },
        { op: "Reshape", inputs: ["scaled", "shape"], outputs: ["depth"] },
      ],
    });
    const e = await refusal(ws);
    expect(e.problems.map((p) => p.field)).toEqual(["branches[0].onnx.outputs[0].dims[0]", "branches[0].onnx.outputs[0].dims[2]"]);
    expect(e.problems[0]!.message).toMatch(/^the symbol "Reshapedepth_dim_0" leaves output "depth" dims\[0\] \(computed: 1\), output "depth" dims\[1\] \(computed: 256\) open: .*Triton 24\.08 compares output dims exactly, so it would not load the model/);
    const hint = e.problems[0]!.hint!;
    expect(hint).toContain("[('depth', 0, 1), ('depth', 1, 256), ('depth', 2, 256)]");
    expect(hint).toContain("torch.onnx.export(..., dynamo=True)");
    expect(hint).not.toContain("make_dynamic_shape_fixed");
  });

  it("a model ONNX Runtime cannot run on zero inputs is refused with what ONNX Runtime said", async () => {
    ws = await makeWorkspace();
    await writeExport(ws, {
      opset: 18,
      inputs: [{ name: "input", dtype: "FP32", dims: [1, 3, S, S] }],
      outputs: [{ name: "depth", dtype: "FP32", dims: ["n", "h", "w"] }],
      initializers: [f32("scale", [1], [1]), i64("shape", [3], [1, 7, 9])],
      externalData: { location: "midas_small_256.onnx.data" },
      nodes: [
        { op: "Mul", inputs: ["input", "scale"], outputs: ["scaled"] },
        { op: "Reshape", inputs: ["scaled", "shape"], outputs: ["depth"] },
      ],
    });
    const e = await refusal(ws);
    expect(e.problems).toHaveLength(1);
    expect(e.message).toMatch(/branches\[0\]\.onnx\.outputs\[0\]\.dims: "depth": the file declares \[n, h, w\], and ONNX Runtime could not establish the shape from the fixed inputs: /);
    expect(e.problems[0]!.hint).toMatch(/set the output dims in the file, weights untouched: python3 -c .*load_external_data=False/);
  });
});

describe("an export ONNX Runtime cannot load", () => {
  it("is refused with ONNX Runtime's words and no set-dims command: fixed dims would not make it load, in Triton either", async () => {
    ws = await makeWorkspace();
    // opset 18, weights in external data, an operator no runtime implements: fixed input, symbolic output
    await writeExport(ws, {
      ...squeezedDepth(),
      nodes: [
        { op: "Conv", inputs: ["input", "head.weight", "head.bias"], outputs: ["head"], attributes: { kernel_shape: attr.ints([1, 1]) } },
        { op: "DepthHeadThatNoRuntimeHas", inputs: ["head", "axes"], outputs: ["depth"] },
      ],
    });
    const e = await refusal(ws);
    expect(e.problems).toHaveLength(1);
    const [p] = e.problems;
    expect(p!.field).toBe("branches[0].onnx.file");
    expect(e.message).toMatch(/midas\.yaml:\d+:\d+ branches\[0\]\.onnx\.file: ONNX Runtime cannot load the export \(asked to establish the open output dims of "depth" \[Squeezedepth_dim_0, Squeezedepth_dim_0, Squeezedepth_dim_2\]\): .*DepthHeadThatNoRuntimeHas/);
    expect(p!.hint).toMatch(/^Triton's ONNX Runtime backend would not load it either, whatever its dims say: .*onnxruntime-node \d+\.\d+\.\d+ here.*ort\.InferenceSession\('.*midas_small_256\.onnx'\)"$/);
    expect(p!.hint).not.toMatch(/set the output dims|load_external_data|dim_value/);
    // a file that loads but cannot run keeps the set-dims fix: see "a model ONNX Runtime cannot run on zero inputs"
  });
});

describe("the output-shape cache", () => {
  const cacheFile = (dir: string) => join(dir, "onnx-output-shapes.json");
  async function withCacheDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
    const dir = await mkdtemp(join(tmpdir(), "td-shape-cache-own-"));
    const before = process.env.TRITON_DEPLOY_CACHE_DIR;
    process.env.TRITON_DEPLOY_CACHE_DIR = dir;
    try {
      return await fn(dir);
    } finally {
      process.env.TRITON_DEPLOY_CACHE_DIR = before;
      await rm(dir, { recursive: true, force: true });
    }
  }

  it("keeps answers only for the onnxruntime-node version that gave them", async () => {
    ws = await makeWorkspace();
    await writeExport(ws, squeezedDepth());
    const io = await readOnnxIO(midasFile(ws));
    await withCacheDir(async (dir) => {
      const cold = await OutputShapeCache.load(dir);
      await cold.establish(midasFile(ws!), io.inputs);
      await cold.save();
      const saved = JSON.parse(await readFile(cacheFile(dir), "utf8")) as { onnxruntime: string };
      expect(saved.onnxruntime).toBe(ORT_VERSION);
      expect(ORT_VERSION).toBe(JSON.parse(await readFile(join(REPO_ROOT, "node_modules", "onnxruntime-node", "package.json"), "utf8")).version);
      await writeFile(cacheFile(dir), JSON.stringify({ ...saved, onnxruntime: "1.0.0" }));
      const other = await OutputShapeCache.load(dir);
      await other.establish(midasFile(ws!), io.inputs);
      expect(other.probes, "an answer from another ONNX Runtime is asked again").toBe(1);
      expect(other.hashedBytes, "the file's hash is still good").toBe(0);
    });
  });

  it("a dry run asks ONNX Runtime but writes no cache", async () => {
    ws = await makeWorkspace();
    await writeExport(ws, squeezedDepth());
    await withCacheDir(async (dir) => {
      await ws!.synth({ dryRun: true });
      expect(existsSync(cacheFile(dir))).toBe(false);
      await expect(ws!.synth({ dryRun: true, outDir: join(ws!.root, "never") })).resolves.toBeDefined();
      expect(existsSync(cacheFile(dir))).toBe(false);
      await ws!.synth();
      expect(existsSync(cacheFile(dir))).toBe(true);
    });
  });

  it("counts its hashing in hashedBytes, and the repository adopts its hashes: a cold run reads each export once", async () => {
    ws = await makeWorkspace();
    await writeExport(ws, squeezedDepth());
    await withCacheDir(async () => {
      const { plan, report } = await ws!.synth();
      const sources = plan.files.flatMap((f) => (f.kind === "source" ? [f.source] : []));
      let total = 0;
      for (const f of sources) total += (await stat(f)).size;
      expect(report!.hashedBytes).toBe(total);
      expect((await ws!.synth()).report).toMatchObject({ changed: false, hashedBytes: 0 });
    });
  });

  it("with --link, linking moves the export's ctime without making the next run hash it again", async () => {
    ws = await makeWorkspace();
    await writeExport(ws, squeezedDepth());
    await withCacheDir(async (dir) => {
      const first = await ws!.synth({ link: true });
      expect(first.report!.linked).toContain("midas_256_onnx/1/model.onnx");
      const shapesFile = await stat(cacheFile(dir));
      const warm = await ws!.synth({ link: true });
      expect(warm.report).toMatchObject({ changed: false, hashedBytes: 0 });
      expect((await stat(cacheFile(dir))).mtimeMs, "nothing new to remember").toBe(shapesFile.mtimeMs);
      // a change of the tree re-links (carry-over link, old tree removed): still nothing hashed after it
      await ws!.editSpec("raft.yaml", "std: [0.5, 0.5, 0.5]", "std: [0.25, 0.25, 0.25]");
      const changed = await ws!.synth({ link: true });
      expect(changed.report!.changed).toBe(true);
      expect((await ws!.synth({ link: true })).report).toMatchObject({ changed: false, hashedBytes: 0 });
    });
  });
});

describe("symbolic input dims stay refused", () => {
  it("one message per symbol, naming the input and output dims it covers, with the exporter settings and the in-place fix", async () => {
    ws = await makeWorkspace();
    await writeExport(ws, squeezedDepth({ inputDims: ["batch", 3, S, S], outputDims: ["batch", S, S] }));
    const e = await refusal(ws);
    expect(e.problems).toHaveLength(1);
    expect(e.message).toMatch(
      /midas\.yaml:\d+:\d+ branches\[0\]\.onnx\.inputs\[0\]\.dims\[0\]: "input": the symbol "batch" leaves input "input" dims\[0\] \(spec: 1\), output "depth" dims\[0\] \(spec: 1\) dynamic in the file; inputs must have fixed dims/,
    );
    const hint = e.problems[0]!.hint!;
    expect(hint).toMatch(/^re-export with fixed input shapes: torch\.onnx\.export\(\.\.\., dynamo=False\) without dynamic_axes, or torch\.onnx\.export\(\.\.\., dynamo=True\) without dynamic_shapes; or set the dims in the file, weights untouched: python3 -c /);
    expect(hint).toContain("[('input', 0, 1), ('depth', 0, 1)]");
  });
});
