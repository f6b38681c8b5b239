// Repositories for serve-local's tests, built through the library as a user's would be: fixture
// exports (ensureFixtures) for a few catalog branches under a temp ONNX root, then synthRepo with
// that selection, Python or ONNX preprocess steps. Plus the fixture oracle for a branch's entry
// model: the fixture function applied to the normalized input, as the gate computes it.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { DType } from "../../src/dtype.ts";
import { chooseFixtureFunction, fixtureReference } from "../../src/fixtures/functions.ts";
import { ensureFixtures } from "../../src/fixtures/write.ts";
import type { Tensor, TensorData } from "../../src/kserve/index.ts";
import { synthRepo } from "../../src/repo/synth.ts";
import { findBranch, loadCatalog, type Catalog, type CatalogBranch } from "../../src/spec/catalog.ts";
import { normalizeReference } from "../../src/verify/expected.ts";

export const REPO_ROOT = new URL("../..", import.meta.url).pathname;

export interface ServeRepo {
  root: string;
  repo: string;
  onnxRoot: string;
  catalog: Catalog;
  branch(name: string): CatalogBranch;
  cleanup(): Promise<void>;
}

export async function makeServeRepo(branches: readonly string[], preprocess: "python" | "onnx" = "python"): Promise<ServeRepo> {
  const root = await mkdtemp(join(tmpdir(), "serve-test-"));
  const specs = join(REPO_ROOT, "model-specs");
  const catalog = await loadCatalog(specs);
  const branch = (name: string) => {
    const cb = findBranch(catalog, name);
    if (!cb) throw new Error(`no branch ${name} in the catalog`);
    return cb;
  };
  const chosen = branches.map(branch);
  const onnxRoot = join(root, "onnx");
  const repo = join(root, "models");
  await ensureFixtures(chosen.map((c) => c.branch), onnxRoot);
  await synthRepo({ specsDir: specs, onnxRoot, outDir: repo, preprocess, select: () => ({ branches: chosen, profile: null }) });
  return { root, repo, onnxRoot, catalog, branch, cleanup: () => rm(root, { recursive: true, force: true }) };
}

/** Deterministic bytes with every value present and no pattern aligned to channels. */
export function rgb(dims: readonly number[], seed: number): Uint8Array {
  const n = dims.reduce((a, b) => a * b, 1);
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (i * 131 + seed * 17 + (i >> 7)) & 255;
  return out;
}

/** Inputs for a branch's entry model (the ensemble contract, or the ONNX tensors of a direct model). */
export function entryInputs(cb: CatalogBranch, seed = 1): Tensor[] {
  const b = cb.branch;
  const specs = b.serving === "ensemble" && b.contract ? b.contract.inputs : b.onnx.inputs;
  return specs.map((t, i) => {
    const n = t.dims.reduce((a, c) => a * c, 1);
    let data: TensorData;
    if (t.dtype === "UINT8") data = rgb(t.dims, seed + i);
    else if (t.dtype === "INT64") data = BigInt64Array.from({ length: n }, (_, j) => BigInt((j * 613 + seed) % 49408));
    else data = Float32Array.from({ length: n }, (_, j) => ((j * 7919 + seed) % 1000) / 1000);
    return { name: t.name, datatype: t.dtype as DType, shape: [...t.dims], data };
  });
}

/** What the entry model of a fixture branch must return for `inputs` (normalize, then the fixture function). */
export function expectedOutputs(cb: CatalogBranch, inputs: readonly Tensor[]): TensorData[] {
  const b = cb.branch;
  const pp = b.preprocess;
  const onnxInputs = inputs.map((t) => (pp.kind === "normalize" && t.datatype === "UINT8" ? normalizeReference(t.data as Uint8Array, t.shape, pp) : t.data));
  return fixtureReference(chooseFixtureFunction(b), { inputs: b.onnx.inputs, outputs: b.onnx.outputs }, onnxInputs);
}
