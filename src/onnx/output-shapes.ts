// Establishes the shapes of outputs an ONNX file leaves open (symbolic dims) while its inputs are
// fixed: ONNX Runtime on the CPU loads the file from its path (external-data files are read where
// they lie, never copied or inlined), reports the output dims it declares after its graph
// optimizations (what Triton's load check sees), and runs the model once on zero inputs (what it
// computes). The answer is cached by the file's sha256 and the onnxruntime-node version that gave
// it, so a warm synth-repo neither loads ONNX Runtime nor reads the file: the cache's (path, size,
// mtime, ctime, inode) → sha256 map answers first. The caller decides when the cache is written
// (`save`): a dry run asks ONNX Runtime but writes nothing.
import { existsSync } from "node:fs";
import { mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { homedir } from "node:os";
import path from "node:path";
import { z } from "zod";
import { dtypeInfo } from "../dtype.ts";
import { HashCache, HashCacheSchema } from "../repo/hash.ts";
import type { EstablishedShapes } from "./check.ts";
import type { OnnxTensorIO } from "./io.ts";

/** Bump when the way shapes are established changes, so old answers are not trusted. */
const PROBE_VERSION = 2;

/**
 * The onnxruntime-node version the answers come from (its package.json: the native module is not
 * loaded for this). Another ONNX Runtime may optimize or compute differently, so answers are kept
 * only for the version that gave them; the file hashes stay valid whatever the version.
 */
export const ORT_VERSION: string = (createRequire(import.meta.url)("onnxruntime-node/package.json") as { version: string }).version;

const ShapeCacheSchema = z.object({
  version: z.literal(PROBE_VERSION),
  onnxruntime: z.string(),
  hashes: HashCacheSchema,
  shapes: z.record(z.string(), z.object({ declared: z.record(z.string(), z.array(z.union([z.number(), z.string()]))), computed: z.record(z.string(), z.array(z.number())) })),
});

/** `$TRITON_DEPLOY_CACHE_DIR`, else `$XDG_CACHE_HOME/triton-deploy`, else `~/.cache/triton-deploy`. */
export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.TRITON_DEPLOY_CACHE_DIR) return env.TRITON_DEPLOY_CACHE_DIR;
  return path.join(env.XDG_CACHE_HOME || path.join(homedir(), ".cache"), "triton-deploy");
}

export class OutputShapeCache {
  private readonly hashes: HashCache;
  private readonly shapes: Map<string, EstablishedShapes>;
  private dirty = false;
  /** ONNX Runtime sessions created during this run (0 on a warm run). */
  probes = 0;

  private constructor(
    readonly file: string,
    data?: z.infer<typeof ShapeCacheSchema>,
  ) {
    this.hashes = new HashCache(data?.hashes);
    this.shapes = new Map(data?.onnxruntime === ORT_VERSION ? Object.entries(data.shapes) : []);
  }

  /** Bytes of exports read and hashed during this run (0 on a warm run). */
  get hashedBytes(): number {
    return this.hashes.hashedBytes;
  }

  /** The file hashes this cache holds, for the repository's own hash cache to adopt (a file is then hashed once per run). */
  get fileHashes(): HashCache {
    return this.hashes;
  }

  /** Re-keys exports whose ctime the run itself moved by linking or unlinking them (see HashCache.refresh). */
  async refresh(files: Iterable<string>): Promise<void> {
    for (const f of files) await this.hashes.refresh(f);
    this.dirty ||= this.hashes.changed;
  }

  static async load(dir = defaultCacheDir()): Promise<OutputShapeCache> {
    const file = path.join(dir, "onnx-output-shapes.json");
    try {
      const parsed = ShapeCacheSchema.safeParse(JSON.parse(await readFile(file, "utf8")));
      return new OutputShapeCache(file, parsed.success ? parsed.data : undefined);
    } catch {
      return new OutputShapeCache(file);
    }
  }

  /** The established shapes of `onnxFile`, from the cache or by asking ONNX Runtime. Throws an EstablishError with what ONNX Runtime says. */
  async establish(onnxFile: string, inputs: readonly OnnxTensorIO[]): Promise<EstablishedShapes> {
    const { sha256 } = await this.hashes.hash(onnxFile);
    this.dirty ||= this.hashes.changed;
    const hit = this.shapes.get(sha256);
    if (hit) return hit;
    this.probes++;
    const shapes = await establishOutputShapes(onnxFile, inputs);
    this.shapes.set(sha256, shapes);
    this.dirty = true;
    return shapes;
  }

  /** Writes the cache when it learned something; a cache that cannot be written costs a probe next time, nothing else. */
  async save(): Promise<void> {
    if (!this.dirty) return;
    // Only files that still exist, and only the answers they point at: the cache does not grow with old exports.
    const all = this.hashes.toJSON();
    const live = new Set<string>();
    for (const f of Object.keys(all.entries)) if (existsSync(f)) live.add(f);
    const hashes = this.hashes.toJSON(live);
    const used = new Set(Object.values(hashes.entries).map((e) => e.sha256));
    const data: z.infer<typeof ShapeCacheSchema> = { version: PROBE_VERSION, onnxruntime: ORT_VERSION, hashes, shapes: Object.fromEntries([...this.shapes].filter(([sha]) => used.has(sha))) };
    const tmp = `${this.file}.tmp-${process.pid}`;
    try {
      await mkdir(path.dirname(this.file), { recursive: true });
      await writeFile(tmp, `${JSON.stringify(data)}\n`);
      await rename(tmp, this.file);
      this.dirty = false;
    } catch {
      await rm(tmp, { force: true }).catch(() => {});
    }
  }
}

/**
 * Why ONNX Runtime could not establish the shapes: it could not create a session from the file
 * (`load`: the export does not load, in Triton either), or the session could not run on zero inputs
 * (`run`: the file loads, its output shapes stay unknown until it runs on real data).
 */
export class EstablishError extends Error {
  constructor(
    readonly stage: "load" | "run",
    message: string,
  ) {
    super(message);
    this.name = "EstablishError";
  }
}

const messageOf = (e: unknown) => (e instanceof Error ? e.message : String(e));

/**
 * One ONNX Runtime session on the CPU (graph optimizations at Triton's default level, all), its
 * declared output dims, and one run on zero inputs of the file's fixed input shapes.
 */
export async function establishOutputShapes(onnxFile: string, inputs: readonly OnnxTensorIO[]): Promise<EstablishedShapes> {
  // Loaded only here: a warm synth-repo never pays for the native module.
  const ort = await import("onnxruntime-node");
  const session = await ort.InferenceSession.create(onnxFile, { executionProviders: ["cpu"], graphOptimizationLevel: "all" }).catch((e: unknown) => {
    throw new EstablishError("load", messageOf(e));
  });
  try {
    const declared: EstablishedShapes["declared"] = {};
    for (const m of session.outputMetadata) declared[m.name] = m.isTensor ? [...m.shape].map((d) => (typeof d === "number" && d < 0 ? "?" : d)) : [];
    const feeds: Record<string, InstanceType<typeof ort.Tensor>> = {};
    for (const t of inputs) {
      const info = t.dtype ? dtypeInfo(t.dtype) : undefined;
      if (!info?.array || !info.ort) throw new EstablishError("run", `input "${t.name}" has a type ONNX Runtime cannot be given here (ONNX type ${t.elemType})`);
      const dims = t.dims as number[];
      const n = dims.reduce((a, b) => a * b, 1);
      feeds[t.name] = new ort.Tensor(info.ort as "float32", new info.array(n) as Float32Array, dims);
    }
    const result = await session.run(feeds).catch((e: unknown) => {
      throw new EstablishError("run", messageOf(e));
    });
    const computed: EstablishedShapes["computed"] = {};
    for (const [name, v] of Object.entries(result)) computed[name] = [...v.dims];
    return { declared, computed };
  } finally {
    await session.release();
  }
}
