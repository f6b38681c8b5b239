// What bench needs from a KServe-v2 server, as an interface: the HTTP implementation adapts the
// project's client (see target.ts); tests pass fakes. Plus the models a run measures and their
// deterministic inputs, taken from the server's own metadata so any server can be benched.
import { isDType, type DType } from "../dtype.ts";
import { UserError } from "../errors.ts";
import { deterministicTensor } from "../fixtures/tensor.ts";
import type { Tensor } from "../pipeline/tensor.ts";
import type { Catalog, CatalogBranch } from "../spec/catalog.ts";

export interface IndexRow {
  name: string;
  version?: string;
  state?: string;
  reason?: string;
}

export interface TensorMetadata {
  name: string;
  datatype: string;
  shape: number[];
}

export interface ModelInfo {
  name: string;
  platform?: string;
  inputs: TensorMetadata[];
  outputs: TensorMetadata[];
}

export interface BenchServer {
  readonly url: string;
  /** GET /v2: name and version; throws when the server cannot be reached. */
  serverMetadata(): Promise<{ name: string; version: string }>;
  repositoryIndex(): Promise<IndexRow[]>;
  modelMetadata(model: string): Promise<ModelInfo>;
  infer(model: string, inputs: readonly Tensor[], outputs: readonly string[]): Promise<Tensor[]>;
  /** POST /v2/repository/models/{m}/load and /unload (explicit model control). */
  loadModel(model: string): Promise<void>;
  unloadModel(model: string): Promise<void>;
}

/** A model to bench, with what the catalog knows about it. */
export interface BenchModel {
  name: string;
  branch?: CatalogBranch;
  role?: "ensemble" | "preprocess" | "onnx";
}

/** The catalog's branch and role of a model name, if it has one. */
export function catalogRole(catalog: Catalog | undefined, name: string): Pick<BenchModel, "branch" | "role"> {
  for (const cb of catalog?.branches ?? []) {
    const m = cb.models;
    if (m.ensemble === name) return { branch: cb, role: "ensemble" };
    if (m.preprocess === name) return { branch: cb, role: "preprocess" };
    if (m.onnx === name) return { branch: cb, role: m.entry === name ? "ensemble" : "onnx" };
  }
  return {};
}

/**
 * The models to bench: the ones asked for (each must be on the server and READY), or by default
 * the catalog's entry models (ensembles and direct models) the server has READY, or, on a server
 * that holds none of them, every READY model.
 */
export function chooseModels(index: readonly IndexRow[], asked: readonly string[] | undefined, catalog: Catalog | undefined): BenchModel[] {
  const ready = new Set(index.filter((r) => r.state === "READY").map((r) => r.name));
  if (asked && asked.length > 0) {
    const known = new Map(index.map((r) => [r.name, r]));
    const unknown = asked.filter((m) => !known.has(m));
    if (unknown.length > 0) {
      const list = [...known.keys()].sort();
      throw new UserError({ field: "--models", message: `unknown model${unknown.length > 1 ? "s" : ""} ${unknown.map((m) => `'${m}'`).join(", ")}: the server's repository has no such model`, hint: `use names from the repository index: ${list.slice(0, 12).join(", ")}${list.length > 12 ? ` … (${list.length} in all)` : ""}` }, 2);
    }
    const notReady = asked.filter((m) => !ready.has(m));
    if (notReady.length > 0) {
      throw new UserError(notReady.map((m) => ({ field: "--models", message: `model '${m}' is not READY on the server (state ${known.get(m)?.state || "none"}${known.get(m)?.reason ? `: ${known.get(m)!.reason}` : ""})`, hint: "load it first (explicit model control: POST /v2/repository/models/<m>/load), or leave it out" })), 1);
    }
    return [...new Set(asked)].map((name) => ({ name, ...catalogRole(catalog, name) }));
  }
  const entries = (catalog?.branches ?? []).map((cb) => cb.models.entry).filter((m) => ready.has(m));
  const names = entries.length > 0 ? entries : [...ready].sort();
  if (names.length === 0) throw new UserError({ message: "the server has no READY model to bench", hint: "load models first, or check the server's repository" }, 1);
  return names.map((name) => ({ name, ...catalogRole(catalog, name) }));
}

/** Deterministic inputs of the model's exact shapes, from its metadata (fixed shapes only). */
export function benchInputs(meta: ModelInfo): Tensor[] {
  return meta.inputs.map((t, i) => {
    if (!isDType(t.datatype)) throw new UserError({ field: `${meta.name} input ${t.name}`, message: `datatype ${t.datatype} is not a KServe tensor type bench can fill` }, 1);
    const dtype: DType = t.datatype;
    if (dtype === "BYTES" || dtype === "BF16") throw new UserError({ field: `${meta.name} input ${t.name}`, message: `bench cannot generate ${dtype} inputs`, hint: "leave the model out with --models" }, 1);
    if (t.shape.some((d) => !Number.isInteger(d) || d < 1)) {
      throw new UserError({ field: `${meta.name} input ${t.name}`, message: `shape [${t.shape.join(", ")}] has a dynamic dimension; bench sends the model's exact fixed shapes`, hint: "bench fixed-shape models (max_batch_size 0 with the batch in dims), or leave it out with --models" }, 1);
    }
    return { name: t.name, datatype: dtype, shape: [...t.shape], data: deterministicTensor({ name: t.name, dtype, dims: [...t.shape] }, 1000 + i) };
  });
}
