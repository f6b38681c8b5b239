// synth-repo as a library call: specs + ONNX root (+ an optional branch selection) → a validated,
// atomically written Triton model repository. The steps are: load and check the catalog, check
// every export, plan every file (pure), apply the plan. Nothing is written before all checks pass,
// and a dry run writes nothing at all (not even the output-shape cache).
import { join, resolve } from "node:path";
import { DEFAULT_ORT_SETTINGS, type OrtSettings } from "../config/ort-memory.ts";
import { UserError } from "../errors.ts";
import { OutputShapeCache } from "../onnx/output-shapes.ts";
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
  const shapes = await OutputShapeCache.load();
  const validated = await validateExports(catalog, ready, opts.onnxRoot, shapes).catch(async (e: unknown) => {
    if (!opts.dryRun) await shapes.save(); // what ONNX Runtime established for the sound exports is kept
    throw e;
  });
  const origin = { specs: await specHashes(opts.specsDir), profile: selection.profile, ...(selection.plan === undefined ? {} : { plan: selection.plan }) };
  // Branches the plan runs with TensorRT key their engine cache by their export's content. The hashes
  // come from the repository's hash cache (free when warm) or are taken now, once: apply adopts them
  // with the output-shape cache's (knownHashes) and counts them in hashedBytes.
  const known = shapes.fileHashes;
  const exportKeys = new Map<string, string>();
  const trt = validated.filter((x) => runsTensorRt(x, selection.settings ?? DEFAULT_ORT_SETTINGS));
  if (trt.length > 0) {
    const repoHashes = await HashCache.load(join(resolve(opts.outDir), HASH_CACHE_FILE));
    for (const v of trt) {
      const files = exportFiles(v);
      await known.adopt(repoHashes, files.map((f) => f.source));
      exportKeys.set(v.branch.models.onnx, exportKey(await Promise.all(files.map(async (f) => ({ path: f.path, sha256: (await known.hash(f.source, opts.progress)).sha256 })))));
    }
  }
  const plan = planRepository({ branches: validated, preprocess: opts.preprocess ?? "python", ...(selection.settings ? { settings: selection.settings } : {}), exportKeys, origin });
  if (opts.dryRun) return { catalog, plan };
  let report: ApplyReport;
  try {
    report = await applyRepoPlan(plan, opts.outDir, { ...opts, knownHashes: known });
    // --link moved the ctime of the exports it linked: the shape cache re-keys them as the repository's cache does
    await shapes.refresh(report.relinkedExports);
  } finally {
    await shapes.save();
  }
  // every byte read this run: the exports ONNX Runtime was asked about or TensorRT keys needed, and what the repository hashed
  return { catalog, plan, report: { ...report, hashedBytes: report.hashedBytes + shapes.hashedBytes } };
}
