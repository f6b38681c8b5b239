// A model directory as Triton reads it: `<repo>/<name>/config.pbtxt` and numbered version folders,
// of which the version policy picks the ones to serve (default: the latest one). Every directory at
// the repository root is a model; files there (manifest.json, caches) are not.
import { statSync } from "node:fs";
import { readdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { parseModelConfig, type ModelConfig } from "../config/index.ts";
import { isUserError } from "../errors.ts";

/** Triton's status code names, as its reasons print them (common src/error.cc: Error::CodeString). */
export type StatusCode = "Invalid argument" | "Internal" | "Not found" | "Unavailable";

/**
 * A model that cannot be loaded; `reason` is the message, `status` the index row's reason as Triton
 * writes a failed load's (the status text with its code prefix, model_lifecycle.cc r24.08).
 */
export class LoadError extends Error {
  constructor(
    readonly reason: string,
    readonly code: StatusCode = "Invalid argument",
  ) {
    super(reason);
    this.name = "LoadError";
  }

  get status(): string {
    return `${this.code}: ${this.reason}`;
  }
}

/**
 * The model directory or its config.pbtxt cannot be read: Triton's repository poll fails, the model
 * never reaches a backend, and the load API answers 500 (model_repository_manager.cc r24.08).
 */
export class PollError extends LoadError {
  constructor(reason: string) {
    super(reason);
    this.name = "PollError";
  }
}

/** Names of every directory at the repository root, sorted. */
export async function modelDirectories(repo: string): Promise<string[]> {
  const entries = await readdir(repo, { withFileTypes: true });
  return entries.filter((e) => e.isDirectory() || (e.isSymbolicLink() && isDirSync(join(repo, e.name)))).map((e) => e.name).sort();
}

/** A symlink at the root counts when it points at a directory. */
function isDirSync(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/** config.pbtxt of `<repo>/<name>`, parsed; a parse error becomes a LoadError naming file:line:column. */
export async function readModelConfig(repo: string, name: string): Promise<ModelConfig> {
  const dir = join(repo, name);
  const st = await stat(dir).catch(() => undefined);
  if (!st?.isDirectory()) throw new PollError(`no model directory '${name}' in the repository ${repo}`);
  const file = join(dir, "config.pbtxt");
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch {
    throw new PollError(`${file} is missing (serve-local, like Triton here, needs a config.pbtxt)`);
  }
  let cfg: ModelConfig;
  try {
    cfg = parseModelConfig(text, file);
  } catch (e) {
    if (isUserError(e)) throw new PollError(`invalid config: ${e.message}`);
    throw e;
  }
  if (cfg.name !== undefined && cfg.name !== "" && cfg.name !== name) {
    throw new PollError(`${file}: name is '${cfg.name}', but the model directory is '${name}' (they must match)`);
  }
  return cfg;
}

/**
 * When the directory last changed: the newest modification time of anything under it (config.pbtxt,
 * version folders, model files). A load of a READY model whose stamp did not change is a no-op, as
 * Triton's ModelTimestamp comparison makes it (model_repository_manager.cc r24.08).
 */
export async function modelStamp(repo: string, name: string): Promise<number> {
  let newest = 0;
  const walk = async (dir: string, depth: number): Promise<void> => {
    const st = await stat(dir).catch(() => undefined);
    if (!st) return;
    newest = Math.max(newest, st.mtimeMs, st.ctimeMs);
    if (!st.isDirectory() || depth > 3) return;
    const entries = await readdir(dir).catch(() => [] as string[]);
    await Promise.all(entries.map((e) => walk(join(dir, e), depth + 1)));
  };
  await walk(join(repo, name), 0);
  return newest;
}

/** The version folders the config's version policy serves, as strings, ascending. */
export async function servedVersions(repo: string, name: string, cfg: ModelConfig): Promise<string[]> {
  const entries = await readdir(join(repo, name), { withFileTypes: true });
  const all = entries.filter((e) => e.isDirectory() && /^[0-9]+$/.test(e.name)).map((e) => Number(e.name)).sort((a, b) => a - b);
  const p = cfg.version_policy;
  let chosen: number[];
  if (p?.all) chosen = all;
  else if (p?.specific) {
    const want = p.specific.versions ?? [];
    const missing = want.filter((v) => !all.includes(v));
    if (missing.length) throw new LoadError(`version_policy asks for version(s) ${missing.join(", ")} of '${name}', but the folder has ${all.join(", ") || "none"}`);
    chosen = want;
  } else chosen = all.slice(-Math.max(1, p?.latest?.num_versions ?? 1));
  if (chosen.length === 0) throw new LoadError(`at least one version must be available under the version policy of model '${name}' (no numbered version folder in ${join(repo, name)})`);
  return chosen.map(String);
}
