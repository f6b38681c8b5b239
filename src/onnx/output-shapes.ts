// Establishes the shapes of outputs an ONNX file leaves open (symbolic dims) while its inputs are
// fixed: ONNX Runtime on the CPU loads the file from its path (external-data files are read where
// they lie, never copied or inlined), reports the output dims it declares after its graph
// optimizations (what Triton's load check sees), and runs the model once on zero inputs (what it
// computes). The answer is cached by the file's sha256, so a warm synth-repo neither loads ONNX
// Runtime nor reads the file: the cache's (path, size, mtime, inode) → sha256 map answers first.
import { existsSync } from "node:fs";
import { mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import path from "node:path";
import { z } from "zod";
import { dtypeInfo } from "../dtype.ts";
import { HashCache, HashCacheSchema } from "../repo/hash.ts";
import type { EstablishedShapes } from "./check.ts";
import type { OnnxTensorIO } from "./io.ts";

/** Bump when the way shapes are established changes, so old answers are not trusted. */
const PROBE_VERSION = 1;

const ShapeCacheSchema = z.object({
  version: z.literal(PROBE_VERSION),
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
    this.shapes = new Map(Object.entries(data?.shapes ?? {}));
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

  /** The established shapes of `onnxFile`, from the cache or by asking ONNX Runtime. Throws what ONNX Runtime says. */
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
    const data: z.infer<typeof ShapeCacheSchema> = { version: PROBE_VERSION, hashes, shapes: Object.fromEntries([...this.shapes].filter(([sha]) => used.has(sha))) };
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
 * One ONNX Runtime session on the CPU (graph optimizations at Triton's default level, all), its
 * declared output dims, and one run on zero inputs of the file's fixed input shapes.
 */
export async function establishOutputShapes(onnxFile: string, inputs: readonly OnnxTensorIO[]): Promise<EstablishedShapes> {
  // Loaded only here: a warm synth-repo never pays for the native module.
  const ort = await import("onnxruntime-node");
  const session = await ort.InferenceSession.create(onnxFile, { executionProviders: ["cpu"], graphOptimizationLevel: "all" });
  try {
    const declared: EstablishedShapes["declared"] = {};
    for (const m of session.outputMetadata) declared[m.name] = m.isTensor ? [...m.shape].map((d) => (typeof d === "number" && d < 0 ? "?" : d)) : [];
    const feeds: Record<string, InstanceType<typeof ort.Tensor>> = {};
    for (const t of inputs) {
      const info = t.dtype ? dtypeInfo(t.dtype) : undefined;
      if (!info?.array || !info.ort) throw new Error(`input "${t.name}" has a type ONNX Runtime cannot be given here (ONNX type ${t.elemType})`);
      const dims = t.dims as number[];
      const n = dims.reduce((a, b) => a * b, 1);
      feeds[t.name] = new ort.Tensor(info.ort as "float32", new info.array(n) as Float32Array, dims);
    }
    const result = await session.run(feeds);
    const computed: EstablishedShapes["computed"] = {};
    for (const [name, v] of Object.entries(result)) computed[name] = [...v.dims];
    return { declared, computed };
  } finally {
    await session.release();
  }
}
