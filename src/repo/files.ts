// The repository as data: every file synth-repo wants, with its bytes or the file it comes from.
// Built by pure planning (layout.ts), printed, diffed and tested without touching disk; apply.ts
// is the only place that turns it into files.

export interface ContentFile {
  /** Path inside the repository, '/'-separated, e.g. `midas_256/config.pbtxt`. */
  path: string;
  kind: "content";
  content: Uint8Array;
  /** The model this file belongs to. */
  model: string;
}

export interface SourceFile {
  path: string;
  kind: "source";
  /** Absolute path of the ONNX export (or its external-data file) to link or copy. */
  source: string;
  model: string;
}

export type PlannedFile = ContentFile | SourceFile;

export interface RepoPlan {
  files: PlannedFile[];
  /** Directories that must exist even when empty (an ensemble's `1/`). */
  dirs: string[];
  /** Every model in the repository, in a stable order. */
  models: string[];
  /** What the repository came from; written into manifest.json. */
  origin: RepoOrigin;
}

export interface RepoOrigin {
  /** Spec files and their sha256. */
  specs: Record<string, string>;
  profile: string | null;
  preprocess: "python" | "onnx";
  /** Branches in the repository. */
  branches: string[];
  /** Loaded set and routing of the plan, when a profile chose the branches. */
  plan?: unknown;
}

export const MANIFEST_FILE = "manifest.json";
/** Hash cache beside the manifest: a file at the repository root, which Triton ignores. */
export const HASH_CACHE_FILE = ".triton-deploy-cache.json";

export function textFile(path: string, model: string, text: string): ContentFile {
  return { path, kind: "content", content: new TextEncoder().encode(text), model };
}
