// A model directory as Triton reads it: `<repo>/<name>/config.pbtxt` and numbered version folders,
// of which the version policy picks the ones to serve (default: the latest one). Every directory at
// the repository root is a model; files there (manifest.json, caches) are not.
import { statSync } from "node:fs";
import { readdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { parseModelConfig, type ModelConfig } from "../config/index.ts";
import { isUserError } from "../errors.ts";

/** A model that cannot be loaded; `reason` is what the index and the load API report. */
export class LoadError extends Error {
  constructor(readonly reason: string) {
    super(reason);
    this.name = "LoadError";
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
  if (!st?.isDirectory()) throw new LoadError(`no model directory '${name}' in the repository ${repo}`);
  const file = join(dir, "config.pbtxt");
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch {
    throw new LoadError(`${file} is missing (serve-local, like Triton here, needs a config.pbtxt)`);
  }
  let cfg: ModelConfig;
  try {
    cfg = parseModelConfig(text, file);
  } catch (e) {
    if (isUserError(e)) throw new LoadError(`invalid config: ${e.message}`);
    throw e;
  }
  if (cfg.name !== undefined && cfg.name !== "" && cfg.name !== name) {
    throw new LoadError(`${file}: name is '${cfg.name}', but the model directory is '${name}' (they must match)`);
  }
  return cfg;
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
