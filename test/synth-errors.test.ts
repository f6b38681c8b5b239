// Bad input gets a clear error (file, line:column or field, what to do) and loses nothing: every case
// first writes a good repository, then breaks one input and checks the repository is untouched.
import { readFile, rm, symlink, writeFile, mkdir } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { UserError } from "../src/errors.ts";
import { writeOnnxModel } from "../src/onnx/build.ts";
import { makeWorkspace, snapshot, type Workspace } from "./support/synth-workspace.ts";

let ws: Workspace | undefined;
afterEach(async () => {
  await ws?.cleanup();
  ws = undefined;
});

/** Writes a good repository, applies `breakIt`, and returns the UserError synth-repo then throws. */
async function failure(breakIt: (w: Workspace) => Promise<void>): Promise<UserError> {
  ws = await makeWorkspace();
  await ws.synth();
  const before = await snapshot(ws.out);
  await breakIt(ws);
  const err = await ws.synth().then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, "synth-repo should have refused").toBeInstanceOf(UserError);
  expect(await snapshot(ws.out), "the previous repository must be untouched").toEqual(before);
  return err as UserError;
}

const midasOnnx = (w: Workspace) => join(w.onnxRoot, "midas", "midas_small_256.onnx");

/** A new export written over an old one, as exporters that write a new file and rename do. */
async function replaceWith(file: string, change: (old: Buffer) => Buffer): Promise<void> {
  const bytes = change(await readFile(file));
  await rm(file);
  await writeFile(file, bytes);
}

describe("synth-repo refuses bad specs, naming file:line:column, the field and the fix", () => {
  it("an unknown key", async () => {
    const e = await failure((w) => w.editSpec("midas.yaml", "  - name: midas_256\n", "  - name: midas_256\n    colour: red\n"));
    expect(e.message).toMatch(/specs\/midas\.yaml:13:5 branches\[0\]\.colour: unknown field 'colour'/);
    expect(e.message).toMatch(/fix: remove it or fix its spelling/);
  });

  it("a wrong type", async () => {
    const e = await failure((w) => w.editSpec("midas.yaml", "size: 256", "size: big"));
    expect(e.message).toMatch(/midas\.yaml:13:11 branches\[0\]\.size: expected number, got string "big"/);
  });

  it("an unknown dtype", async () => {
    const e = await failure((w) => w.editSpec("clip_text.yaml", "{ name: input_ids, dtype: INT64", "{ name: input_ids, dtype: LONG"));
    expect(e.message).toMatch(/clip_text\.yaml:\d+:\d+ branches\[0\]\.onnx\.inputs\[0\]\.dtype: expected one of .*"INT64".*got string "LONG"/);
  });

  it("a missing required field", async () => {
    const e = await failure((w) => w.editSpec("clip_text.yaml", /\n    memory: .*\n/, "\n"));
    expect(e.message).toMatch(/clip_text\.yaml:\d+:\d+ branches\[0\]\.memory: missing required field/);
  });

  it("broken YAML and a duplicate key", async () => {
    const e = await failure((w) => w.editSpec("raft.yaml", "component: core_optical_flow", "component: core_optical_flow\ncomponent: again\nbad: [1, 2"));
    expect(e.message).toMatch(/raft\.yaml:5:1: YAML: Map keys must be unique$/m);
    expect(e.message).toMatch(/raft\.yaml:7:1: YAML: Flow sequence .* end with a \]/);
  });

  it("the same branch name twice (across files)", async () => {
    const e = await failure((w) => w.editSpec("raft.yaml", "name: raft_512", "name: midas_512"));
    expect(e.message).toMatch(/raft\.yaml:45:11 branches\[2\]\.name: model name 'midas_512' is already used by branch 'midas_512' \(.*midas\.yaml\); 'preprocess_midas_512' is already used/);
  });

  it("a model name that collides with another branch's generated name", async () => {
    const e = await failure((w) => w.editSpec("places365.yaml", "names: { preprocess: preprocess_places365_448 }", "names: { preprocess: preprocess_places365_336 }"));
    expect(e.message).toMatch(/model name 'preprocess_places365_336' is already used by branch 'places365_resnet50_336'/);
  });

  it("names with '/' or '..'", async () => {
    const slash = await failure((w) => w.editSpec("midas.yaml", "name: midas_256", "name: midas/256"));
    expect(slash.message).toMatch(/midas\.yaml:12:11 branches\[0\]\.name: a model name may hold letters, digits/);
    await ws!.cleanup();
    const dots = await failure((w) => w.editSpec("midas.yaml", "name: midas_256", "name: midas..256"));
    expect(dots.message).toMatch(/branches\[0\]\.name: .*may not contain '\.\.'/);
  });

  it("a size that disagrees with the ONNX dims", async () => {
    const e = await failure((w) => w.editSpec("midas.yaml", "size: 256", "size: 320"));
    expect(e.message).toMatch(/midas\.yaml:16:50 branches\[0\]\.onnx\.inputs\[0\]\.dims: size 320 disagrees with the ONNX input dims \[1,3,256,256\] \(expected \[1,3,320,320\], NCHW\)/);
  });

  it("an ONNX file path that leaves the ONNX root", async () => {
    const e = await failure((w) => w.editSpec("midas.yaml", "file: midas/midas_small_256.onnx", "file: ../../etc/model.onnx"));
    expect(e.message).toMatch(/branches\[0\]\.onnx\.file: '\.\.\/\.\.\/etc\/model\.onnx' must be a path relative to the ONNX root/);
  });
});

describe("synth-repo refuses bad ONNX exports before writing anything", () => {
  it("a missing ONNX file", async () => {
    const e = await failure((w) => rm(midasOnnx(w)));
    expect(e.message).toMatch(/midas\.yaml:\d+:\d+ branches\[0\]\.onnx\.file: branch midas_256: ONNX file .*midas_small_256\.onnx does not exist/);
    expect(e.message).toMatch(/npm run fixtures/);
  });

  it("a truncated ONNX file", async () => {
    // a new file at the export's path (the repository keeps its own copy of the old one)
    const e = await failure((w) => replaceWith(join(w.onnxRoot, "yolo11x", "yolo11x_640.onnx"), (b) => b.subarray(0, 20_000)));
    expect(e.message).toMatch(/yolo11x_640\.onnx.*truncated or not an ONNX file/);
  });

  it("a file that is not ONNX at all", async () => {
    const e = await failure((w) => replaceWith(join(w.onnxRoot, "clip", "openai_clip_ViT-B_32_text_77.onnx"), () => Buffer.from("<html>not found</html>")));
    expect(e.message).toMatch(/openai_clip_ViT-B_32_text_77\.onnx/);
    expect(e.message).toMatch(/not an ONNX file/);
  });

  it("an ONNX file with a dynamic batch axis, showing both sides", async () => {
    const e = await failure((w) =>
      writeOnnxModel(midasOnnx(w), {
        inputs: [{ name: "input", dtype: "FP32", dims: ["batch", 3, 256, 256] }],
        outputs: [{ name: "depth", dtype: "FP32", dims: ["batch", 256, 256] }],
        nodes: [{ op: "ReduceMean", inputs: ["input"], outputs: ["depth"], attributes: { axes: { type: "ints", value: [1] }, keepdims: { type: "int", value: 0 } } }],
      }).then(() => undefined),
    );
    expect(e.problems).toHaveLength(1); // one symbol, one message
    expect(e.message).toMatch(/midas\.yaml:\d+:\d+ branches\[0\]\.onnx\.inputs\[0\]\.dims\[0\]: "input": the symbol "batch" leaves input "input" dims\[0\] \(spec: 1\), output "depth" dims\[0\] \(spec: 1\) dynamic in the file; inputs must have fixed dims/);
  });

  it("a tensor named differently in the spec: one message with one fix, the spec's name", async () => {
    const e = await failure((w) => w.editSpec("midas.yaml", "inputs: [{ name: input, dtype: FP32, dims: [1, 3, 256, 256] }]", "inputs: [{ name: image, dtype: FP32, dims: [1, 3, 256, 256] }]"));
    expect(e.problems).toHaveLength(1);
    expect(e.message).toMatch(/midas\.yaml:\d+:\d+ branches\[0\]\.onnx\.inputs\[0\]\.name: spec says input "image", the file calls this input "input" \(FP32 \[1, 3, 256, 256\]\)/);
    expect(e.problems[0]!.hint).toBe('set branches[0].onnx.inputs[0].name to "input" in the spec; the ensemble\'s contract names stay as they are');
  });

  it("an external-data file that is missing", async () => {
    const e = await failure((w) => rm(join(w.onnxRoot, "raft", "raft_small_384.onnx.data")));
    expect(e.message).toMatch(/raft_small_384\.onnx initializer .* external data file "raft_small_384\.onnx\.data" does not exist/);
  });

  it("an external-data reference that points outside the ONNX root", async () => {
    const e = await failure(async (w) => {
      await writeFile(join(w.root, "outside.data"), Buffer.alloc(64));
      await writeOnnxModel(midasOnnx(w), {
        inputs: [{ name: "input", dtype: "FP32", dims: [1, 3, 256, 256] }],
        outputs: [{ name: "depth", dtype: "FP32", dims: [1, 256, 256] }],
        initializers: [{ name: "w", dtype: "FP32", dims: [1], data: new Float32Array([1]) }],
        externalData: { location: "../../outside.data" },
        nodes: [{ op: "ReduceMean", inputs: ["input"], outputs: ["depth"], attributes: { axes: { type: "ints", value: [1] }, keepdims: { type: "int", value: 0 } } }],
      });
    });
    expect(e.message).toMatch(/external data location "\.\.\/\.\.\/outside\.data" resolves to .*outside the ONNX root/);
  });

  it("a symlinked export that leaves the ONNX root", async () => {
    const e = await failure(async (w) => {
      const elsewhere = join(w.root, "elsewhere");
      await mkdir(elsewhere);
      const target = join(elsewhere, "midas.onnx");
      await writeFile(target, await readFile(midasOnnx(w)));
      await rm(midasOnnx(w));
      await symlink(target, midasOnnx(w));
    });
    expect(e.message).toMatch(/midas_small_256\.onnx is a symlink to .*elsewhere\/midas\.onnx, outside the ONNX root/);
  });

  it("an output directory that is a file", async () => {
    ws = await makeWorkspace();
    const file = join(ws.root, "not-a-dir");
    await writeFile(file, "keep me");
    const err = await ws.synth({ outDir: file }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as UserError).message).toMatch(/not-a-dir: the output path exists and is not a directory/);
    expect(await readFile(file, "utf8")).toBe("keep me");
  });

  it("reports every broken branch at once", async () => {
    const e = await failure(async (w) => {
      await rm(midasOnnx(w));
      await replaceWith(join(w.onnxRoot, "yolo11x", "yolo11x_320.onnx"), (b) => Buffer.concat([b, Buffer.from([0x0a, 0xff, 0xff, 0xff, 0x0f])]));
    });
    expect(e.problems.length).toBeGreaterThanOrEqual(2);
    expect(e.message).toMatch(/midas_256/);
    expect(e.message).toMatch(/yolo11x_320/);
  });
});
