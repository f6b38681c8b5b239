// onnxruntime models on the CPU: one InferenceSession per model version, created from the file path
// so ONNX Runtime resolves external-data files beside model.onnx. At load the session's inputs and
// outputs are checked against the config (names, dtypes, fixed dims), as Triton's ORT backend does,
// so a stale config fails at load with both values instead of at the first request.
import { existsSync } from "node:fs";
import { join } from "node:path";
import * as ort from "onnxruntime-node";
import { dtypeInfo, type DType } from "../dtype.ts";
import type { ModelConfig } from "../config/index.ts";
import type { Tensor, TensorData } from "../kserve/index.ts";
import type { Backend } from "./backend.ts";
import { LoadError } from "./model-dir.ts";
import { onnxSessionOptions } from "./onnx-session-options.ts";
import type { Signature, TensorSig } from "./signature.ts";

type OrtType = ort.Tensor.Type;

const ORT_TO_DTYPE = new Map<string, DType>(
  (["BOOL", "UINT8", "UINT16", "UINT32", "UINT64", "INT8", "INT16", "INT32", "INT64", "FP16", "FP32", "FP64"] as DType[]).map((d) => [dtypeInfo(d).ort!, d]),
);

interface ValueMeta {
  name: string;
  isTensor: boolean;
  type?: string;
  shape?: readonly (number | string)[];
}

function ortType(model: string, t: TensorSig): OrtType {
  const o = dtypeInfo(t.datatype).ort;
  if (!o || t.datatype === "BYTES") throw new LoadError(`model '${model}': tensor '${t.name}' is ${t.datatype}, which serve-local does not run through ONNX Runtime`);
  return o as OrtType;
}

function compareIo(model: string, role: "input" | "output", want: readonly TensorSig[], got: readonly ValueMeta[]): string[] {
  const problems: string[] = [];
  for (const w of want) {
    const m = got.find((g) => g.name === w.name);
    if (!m) {
      problems.push(`configuration expects ${role} '${w.name}', but the ONNX model has ${role}s ${got.map((g) => `'${g.name}'`).join(", ") || "none"}`);
      continue;
    }
    const dtype = m.type ? ORT_TO_DTYPE.get(m.type) : undefined;
    if (m.type && dtype !== w.datatype) problems.push(`${role} '${w.name}': configuration says ${w.datatype}, the ONNX model has ${m.type}`);
    const shape = m.shape;
    if (shape && shape.length > 0) {
      // Triton's ORT backend (onnxruntime_backend r24.08 src/onnxruntime_utils.cc CompareDimsSupported)
      // lets a dynamic model dim (-1) through on inputs but compares outputs exactly, so an output dim
      // ONNX Runtime still declares symbolic after optimizing fails the load against a fixed config dim.
      const exact = role === "output";
      const dim = (d: number | string) => (typeof d === "number" && d >= 0 ? d : -1);
      const mismatch = shape.length !== w.shape.length || shape.some((d, i) => (exact || dim(d) !== -1) && dim(d) !== w.shape[i]);
      if (mismatch) problems.push(`${role} '${w.name}': configuration dims [${w.shape.join(",")}], the ONNX model [${shape.join(",")}]`);
    }
  }
  if (role === "input") {
    for (const g of got) if (!want.some((w) => w.name === g.name)) problems.push(`the ONNX model has input '${g.name}', which the configuration does not declare`);
  }
  return problems;
}

export class OnnxBackend implements Backend {
  readonly kind = "onnxruntime";
  private readonly types: Map<string, OrtType>;

  private constructor(
    private readonly session: ort.InferenceSession,
    private readonly sig: Signature,
    model: string,
  ) {
    this.types = new Map([...sig.inputs, ...sig.outputs].map((t) => [t.name, ortType(model, t)]));
  }

  static async create(dir: string, version: string, model: string, cfg: ModelConfig, sig: Signature): Promise<OnnxBackend> {
    const file = join(dir, version, cfg.default_model_filename || "model.onnx");
    if (!existsSync(file)) throw new LoadError(`model '${model}' version ${version}: ${file} is missing`);
    const options = onnxSessionOptions(model, cfg);
    let session: ort.InferenceSession;
    try {
      session = await ort.InferenceSession.create(file, options);
    } catch (e) {
      throw new LoadError(`model '${model}' version ${version}: ONNX Runtime cannot load ${file}: ${e instanceof Error ? e.message : String(e)}`);
    }
    const problems = [
      ...compareIo(model, "input", sig.inputs, session.inputMetadata as readonly ValueMeta[]),
      ...compareIo(model, "output", sig.outputs, session.outputMetadata as readonly ValueMeta[]),
    ];
    if (problems.length) {
      await session.release();
      throw new LoadError(`model '${model}' version ${version}: the configuration does not match ${file}: ${problems.join("; ")}`);
    }
    return new OnnxBackend(session, sig, model);
  }

  async run(inputs: readonly Tensor[], outputs: readonly string[]): Promise<Tensor[]> {
    const feeds: Record<string, ort.Tensor> = {};
    // ORT takes the typed arrays as they are (a view on the request body where alignment allowed).
    for (const t of inputs) feeds[t.name] = new ort.Tensor(this.types.get(t.name)!, t.data as ort.Tensor.DataType, t.shape);
    const result = await this.session.run(feeds, [...outputs]);
    return outputs.map((name) => {
      const o = result[name]!;
      const want = this.sig.outputs.find((s) => s.name === name)!;
      return { name, datatype: want.datatype, shape: [...o.dims], data: asTyped(want.datatype, o.data) };
    });
  }

  async close(): Promise<void> {
    await this.session.release();
  }
}

/** ORT's array for a tensor, as the dtype table's typed array: a view when the element size agrees. */
function asTyped(datatype: DType, data: unknown): TensorData {
  const Ctor = dtypeInfo(datatype).array!;
  if (data instanceof Ctor) return data as TensorData;
  const d = data as TensorData;
  if (ArrayBuffer.isView(d) && d.BYTES_PER_ELEMENT === dtypeInfo(datatype).byteSize) return new Ctor(d.buffer as ArrayBuffer, d.byteOffset, d.length);
  throw new Error(`ONNX Runtime returned ${Object.prototype.toString.call(data)} for a ${datatype} output`);
}
