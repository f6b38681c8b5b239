// synth-repo as a library call: specs + ONNX root (+ an optional branch selection) → a validated,
// atomically written Triton model repository. The steps are: load and check the catalog, check
// every export, plan every file (pure), apply the plan. Nothing is written before all checks pass.
import { join, resolve } from "node:path";
import { DEFAULT_ORT_SETTINGS, type OrtSettings } from "../config/ort-memory.ts";
import { UserError } from "../errors.ts";
import { loadCatalog, readyBranches, type Catalog, type CatalogBranch } from "../spec/catalog.ts";
import { applyRepoPlan, type ApplyOptions, type ApplyReport } from "./apply.ts";
import { HASH_CACHE_FILE, type RepoPlan } from "./files.ts";
import { HashCache } from "./hash.ts";
import { exportFiles, runsTensorRt } from "./layout.ts";
import { exportKey } from "../plan/engine-cache.ts";
import { specHashes } from "./manifest.ts";
import { planRepository } from "./layout.ts";
import type { PreprocessForm } from "./model-configs.ts";
import { validateExports } from "./validate.ts";

export interface SynthOptions extends ApplyOptions {
  specsDir: string;
  onnxRoot: string;
  outDir: string;
  preprocess?: PreprocessForm;
  /** Chooses the branches from the catalog; default every ready branch. */
  select?: (catalog: Catalog) => Promise<Selection> | Selection;
  /** Plan only: validate and return the plan without writing. */
  dryRun?: boolean;
}

export interface Selection {
  branches: CatalogBranch[];
  profile: string | null;
  /** Plan details recorded in manifest.json (load list, routing). */
  plan?: unknown;
  /** The plan's memory policy and cuDNN search for the ONNX Runtime configs; default DEFAULT_ORT_SETTINGS. */
  settings?: OrtSettings;
}

export interface SynthResult {
  catalog: Catalog;
  plan: RepoPlan;
  /** Undefined on a dry run. */
  report?: ApplyReport;
}

export async function synthRepo(opts: SynthOptions): Promise<SynthResult> {
  const catalog = await loadCatalog(opts.specsDir);
  const selection = opts.select ? await opts.select(catalog) : { branches: readyBranches(catalog), profile: null };
  const ready = selection.branches.filter((b) => b.branch.status === "ready");
  if (ready.length === 0) throw new UserError({ file: opts.specsDir, message: "no ready branch to put in the repository", hint: "mark a branch status: ready, or choose another profile" });
  const validated = await validateExports(catalog, ready, opts.onnxRoot);
  const origin = { specs: await specHashes(opts.specsDir), profile: selection.profile, ...(selection.plan === undefined ? {} : { plan: selection.plan }) };
  // Branches the plan runs with TensorRT key their engine cache by their export's content, hashed
  // through the repository's hash cache (free when warm); apply takes those hashes over.
  const trt = validated.filter((x) => runsTensorRt(x, selection.settings ?? DEFAULT_ORT_SETTINGS));
  const exportKeys = new Map<string, string>();
  let knownHashes: HashCache | undefined;
  if (trt.length > 0) {
    const cache = (knownHashes = await HashCache.load(join(resolve(opts.outDir), HASH_CACHE_FILE)));
    for (const v of trt) {
      const files = await Promise.all(exportFiles(v).map(async (f) => ({ path: f.path, sha256: (await cache.hash(f.source, opts.progress)).sha256 })));
      exportKeys.set(v.branch.models.onnx, exportKey(files));
    }
  }
  const plan = planRepository({ branches: validated, preprocess: opts.preprocess ?? "python", ...(selection.settings ? { settings: selection.settings } : {}), exportKeys, origin });
  if (opts.dryRun) return { catalog, plan };
  const report = await applyRepoPlan(plan, opts.outDir, { ...opts, ...(knownHashes ? { knownHashes } : {}) });
  return { catalog, plan, report };
}
