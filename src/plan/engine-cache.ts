// Where TensorRT engines built by ONNX Runtime's TensorRT execution provider are kept inside the
// Triton container. The stacks mount a persistent volume here, so a restarted pod reuses engines
// instead of rebuilding them for minutes. One constant, imported by both sides.
//
// The folder is keyed by the export's content, not only the model's name: ONNX Runtime names an
// engine by a hash of the subgraph's structure (and the model's file name), not of its weights, and
// its docs tell users to clear the cache when the model changes. A retrained export written to the
// same path would otherwise load the old engine, and serve the old weights, without a word. So each
// config points trt_engine_cache_path at <mount>/<model>/<key>, key = the first 16 hex digits of a
// sha256 over the export's files (the .onnx and its external-data files, each by its own sha256):
// a new export gets a new, empty folder and its engines are built on the next start.
import { createHash } from "node:crypto";

export const ENGINE_CACHE_MOUNT = "/var/cache/triton-deploy/trt-engines";

/** The folder holding every engine cache of one model (one subfolder per export it was built from). */
export function engineCacheDir(model: string): string {
  return `${ENGINE_CACHE_MOUNT}/${model}`;
}

/** The engine cache folder of one model built from the export whose key is `exportKey`. */
export function engineCachePath(model: string, exportKey: string): string {
  return `${engineCacheDir(model)}/${exportKey}`;
}

/** One file of an export: its path relative to the model's version folder, and its sha256 (hex). */
export interface ExportFileHash {
  path: string;
  sha256: string;
}

/**
 * The key of an export: 16 hex digits of a sha256 over its files' paths and hashes, in path order
 * (so the same files always give the same key, and a change to any of them a new one).
 */
export function exportKey(files: readonly ExportFileHash[]): string {
  const h = createHash("sha256");
  for (const f of [...files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))) h.update(`${f.path}\0${f.sha256}\n`);
  return h.digest("hex").slice(0, 16);
}
