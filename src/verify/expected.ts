// Exact expected outputs where a model is a fixture (src/fixtures/README.md): the ONNX export under
// the ONNX root carries the fixture mark and function id, so the numbers an entry model must return
// are the fixture function applied to what the ONNX model receives, i.e. the caller's inputs after
// the ensemble's preprocess step y = (x / divisor − mean) / std, NHWC → NCHW, in float32 as the
// Python and ONNX steps compute it. Real exports have no oracle: they get shape, dtype and finiteness.
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import type { DType } from "../dtype.ts";
import { FIXTURE_METADATA } from "../fixtures/build.ts";
import { FIXTURE_FUNCTIONS, fixtureReference, type FixtureFunctionId } from "../fixtures/functions.ts";
import { firstMismatch } from "../fixtures/tensor.ts";
import { readOnnxIO } from "../onnx/read-io.ts";
import type { Tensor, TensorData } from "../pipeline/tensor.ts";
import type { CatalogBranch } from "../spec/catalog.ts";
import { contractPairs } from "../spec/rules.ts";
import type { NormalizePreprocess, TensorSpec } from "../spec/schema.ts";

/** Relative tolerance on fixture numbers (plus an absolute floor for values near zero). */
export const FIXTURE_TOLERANCE = { rel: 1e-4, abs: 1e-5 } as const;

export interface FixtureModel {
  branch: string;
  entry: string;
  file: string;
  functionId: FixtureFunctionId;
}

const KNOWN_IDS = new Set<string>(Object.values(FIXTURE_FUNCTIONS));

/** Float32 reference of the normalize step: UINT8 NHWC [1,H,W,C] → FP32 NCHW [1,C,H,W]. */
export function normalizeReference(x: Uint8Array, dims: readonly number[], p: Pick<NormalizePreprocess, "divisor" | "mean" | "std">): Float32Array {
  const [, h = 1, w = 1, c = 3] = dims;
  const hw = h * w;
  const fr = Math.fround;
  const d = fr(p.divisor);
  const mean = p.mean.map(fr);
  const std = p.std.map(fr);
  const out = new Float32Array(c * hw);
  for (let q = 0; q < hw; q++) {
    for (let k = 0; k < c; k++) out[k * hw + q] = fr(fr(fr(x[q * c + k]! / d) - mean[k]!) / std[k]!);
  }
  return out;
}

export class FixtureOracle {
  private constructor(
    private readonly byEntry: Map<string, { model: FixtureModel; cb: CatalogBranch }>,
    /** Notes for the report: files that were not found or not readable. */
    readonly notes: string[],
  ) {}

  /** An oracle that knows no fixture (no --onnx-root). */
  static none(): FixtureOracle {
    return new FixtureOracle(new Map(), []);
  }

  /** Reads each branch's export under `onnxRoot` (header only) and keeps the ones marked as fixtures. */
  static async load(branches: readonly CatalogBranch[], onnxRoot: string): Promise<FixtureOracle> {
    const byEntry = new Map<string, { model: FixtureModel; cb: CatalogBranch }>();
    const notes: string[] = [];
    for (const cb of branches) {
      const file = resolve(onnxRoot, cb.branch.onnx.file);
      if (!existsSync(file)) {
        notes.push(`${cb.branch.name}: no export at ${file}; numbers not checked`);
        continue;
      }
      let metadata: Record<string, string>;
      try {
        metadata = (await readOnnxIO(file)).metadata;
      } catch (e) {
        notes.push(`${cb.branch.name}: ${file} is not readable as ONNX (${e instanceof Error ? e.message.split("\n")[0] : String(e)}); numbers not checked`);
        continue;
      }
      if (metadata[FIXTURE_METADATA.fixture] !== "true") continue;
      const id = metadata[FIXTURE_METADATA.function] ?? "";
      if (!KNOWN_IDS.has(id)) {
        notes.push(`${cb.branch.name}: fixture function '${id}' is unknown to this version; numbers not checked`);
        continue;
      }
      byEntry.set(cb.models.entry, { model: { branch: cb.branch.name, entry: cb.models.entry, file, functionId: id as FixtureFunctionId }, cb });
    }
    return new FixtureOracle(byEntry, notes);
  }

  fixtureOf(entry: string): FixtureModel | undefined {
    return this.byEntry.get(entry)?.model;
  }

  get size(): number {
    return this.byEntry.size;
  }

  /** The outputs `entry` must return for these inputs (entry tensor names), or undefined when it is no fixture. */
  expected(entry: string, inputs: readonly Tensor[]): Tensor[] | undefined {
    const hit = this.byEntry.get(entry);
    if (!hit) return undefined;
    const b = hit.cb.branch;
    const input = (name: string): Tensor => {
      const t = inputs.find((i) => i.name === name);
      if (!t) throw new Error(`${entry}: input ${name} not sent`);
      return t;
    };
    let onnxInputs: TensorData[];
    let outputNames: { onnx: TensorSpec; name: string }[];
    if (b.serving === "ensemble" && b.contract) {
      const pairs = contractPairs(b.contract.inputs, b.onnx.inputs);
      onnxInputs = b.onnx.inputs.map((o) => {
        const pair = pairs.find((p) => p.onnx?.name === o.name);
        if (!pair) throw new Error(`${entry}: no contract input feeds ONNX input ${o.name}`);
        const sent = input(pair.contract.name);
        return b.preprocess.kind === "normalize" ? normalizeReference(sent.data as Uint8Array, pair.contract.dims, b.preprocess) : sent.data;
      });
      outputNames = contractPairs(b.contract.outputs, b.onnx.outputs).map((p) => ({ onnx: p.onnx!, name: p.contract.name }));
    } else {
      onnxInputs = b.onnx.inputs.map((o) => input(o.name).data);
      outputNames = b.onnx.outputs.map((o) => ({ onnx: o, name: o.name }));
    }
    const values = fixtureReference(hit.model.functionId, { inputs: b.onnx.inputs, outputs: b.onnx.outputs }, onnxInputs);
    return outputNames.map((o) => ({ name: o.name, datatype: o.onnx.dtype, shape: [...o.onnx.dims], data: values[b.onnx.outputs.indexOf(o.onnx)]! }));
  }
}

/** First element outside the tolerance, as a sentence naming the tensor, index and both values; undefined when all agree. */
export function numbersDiffer(model: string, fn: string, dtype: DType, name: string, actual: TensorData, expected: TensorData): string | undefined {
  const m = firstMismatch(dtype, actual, expected, FIXTURE_TOLERANCE);
  if (!m) return undefined;
  if (m.index < 0) return `${model}: output ${name} holds ${m.actual} values, the fixture gives ${m.expected}`;
  return `${model}: output ${name}[${m.index}] = ${m.actual} on the server, fixture ${fn} gives ${m.expected} (tolerance ${FIXTURE_TOLERANCE.rel} relative + ${FIXTURE_TOLERANCE.abs})`;
}
