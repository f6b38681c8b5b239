// Turns a RepoPlan into files: compares it with what is on disk, writes nothing when nothing
// changed, and otherwise stages the new tree (hard links for everything unchanged, carried-over
// files of other people, and the ONNX exports) and swaps it in atomically.
import { constants } from "node:fs";
import { copyFile, link, lstat, mkdir, readFile, readdir, readlink, rename, rm, rmdir, stat, symlink, writeFile } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import { UserError, type Problem } from "../errors.ts";
import { HASH_CACHE_FILE, MANIFEST_FILE, type PlannedFile, type RepoPlan } from "./files.ts";
import { HashCache, sha256Of, type Progress } from "./hash.ts";
import { buildManifest, readManifest, renderManifest, type Manifest, type ManifestFile } from "./manifest.ts";
import { acquireLock, cleanupOnSignal, recoverInterrupted, stagingDir, swapIn, type SwapPaths } from "./swap.ts";

export interface ApplyOptions {
  /** Copy ONNX files instead of hard-linking them. @default false */
  copy?: boolean;
  progress?: Progress;
  /** Called with the staged tree complete, just before the swap (tests use it to fail there). */
  beforeSwap?: (staging: string) => Promise<void> | void;
}

export interface ApplyReport {
  outDir: string;
  changed: boolean;
  written: string[];
  linked: string[];
  copied: string[];
  unchanged: string[];
  removed: string[];
  /** Files the tool did not create, carried into the new tree untouched. */
  kept: string[];
  notes: string[];
  hashedBytes: number;
  manifest: Manifest;
}

type Status = "new" | "changed" | "unchanged";
interface Desired {
  file: PlannedFile;
  sha256: string;
  size: number;
  status: Status;
}

export async function applyRepoPlan(plan: RepoPlan, outDir: string, opts: ApplyOptions = {}): Promise<ApplyReport> {
  const out = resolve(outDir);
  const paths: SwapPaths = { parent: dirname(out), base: basename(out), out };
  await mkdir(paths.parent, { recursive: true });
  const release = await acquireLock(paths);
  try {
    const notes = await recoverInterrupted(paths);
    const hadOld = await isRepositoryDir(out);
    const old = hadOld ? await readManifest(out) : undefined;
    const cache = await HashCache.load(join(out, HASH_CACHE_FILE));
    const owned = new Map((old?.manifest.files ?? []).map((f) => [f.path, f]));
    const desired = await classify(plan, out, owned, cache, opts);

    const manifest = buildManifest(plan.origin, plan.models, plan.dirs, desired.map((d): ManifestFile => ({ path: d.file.path, size: d.size, sha256: d.sha256, model: d.file.model })));
    const manifestText = renderManifest(manifest);
    const wanted = new Set(desired.map((d) => d.file.path));
    const removed = [...owned.keys()].filter((p) => !wanted.has(p)).sort();
    const dirsPresent = await allExist(plan.dirs.map((d) => join(out, d)));
    for (const d of desired) {
      const before = owned.get(d.file.path);
      if (d.file.kind === "source" && d.status === "unchanged" && before && before.sha256 !== d.sha256) {
        notes.push(`${d.file.path}: the export changed in place since the last synth; the repository shares its bytes through a hard link (write new exports to a new file and rename, or use --copy)`);
      }
    }
    const report = emptyReport(out, manifest, notes);
    report.unchanged = desired.filter((d) => d.status === "unchanged").map((d) => d.file.path);

    if (hadOld && removed.length === 0 && dirsPresent && old?.text === manifestText && desired.every((d) => d.status === "unchanged")) {
      if (cache.changed) await writeAtomically(join(out, HASH_CACHE_FILE), cacheText(cache, desired, out));
      report.hashedBytes = cache.hashedBytes;
      return report;
    }

    const staging = stagingDir(paths);
    const stopSignals = cleanupOnSignal(staging, release);
    try {
      await mkdir(staging);
      const replaced = new Set([...removed, ...desired.filter((d) => d.status !== "unchanged").map((d) => d.file.path), MANIFEST_FILE, HASH_CACHE_FILE]);
      if (hadOld) report.kept = await carryOver(out, staging, "", replaced, owned, ownedDirs(old?.manifest));
      for (const d of desired) if (d.status !== "unchanged") await place(d, staging, report, cache, out, opts);
      for (const dir of plan.dirs) await mkdir(join(staging, dir), { recursive: true });
      await writeFile(join(staging, MANIFEST_FILE), manifestText);
      await writeFile(join(staging, HASH_CACHE_FILE), cacheText(cache, desired, out));
      await opts.beforeSwap?.(staging);
      await swapIn(paths, staging, hadOld);
    } catch (e) {
      await rm(staging, { recursive: true, force: true });
      throw e;
    } finally {
      stopSignals();
    }
    report.changed = true;
    report.removed = removed;
    report.hashedBytes = cache.hashedBytes;
    return report;
  } finally {
    await release();
  }
}

function emptyReport(outDir: string, manifest: Manifest, notes: string[]): ApplyReport {
  return { outDir, changed: false, written: [], linked: [], copied: [], unchanged: [], removed: [], kept: [], notes, hashedBytes: 0, manifest };
}

async function isRepositoryDir(out: string): Promise<boolean> {
  const st = await lstat(out).catch(() => undefined);
  if (!st) return false;
  if (!st.isDirectory()) {
    throw new UserError({ file: out, message: "the output path exists and is not a directory", hint: "pass --out a directory (it is created when missing), or move that file away" });
  }
  return true;
}

/** Hashes every planned file and compares it with the file now at its path. */
async function classify(plan: RepoPlan, out: string, owned: Map<string, ManifestFile>, cache: HashCache, opts: ApplyOptions): Promise<Desired[]> {
  const problems: Problem[] = [];
  const result: Desired[] = [];
  for (const file of plan.files) {
    const { sha256, size } = file.kind === "content" ? { sha256: sha256Of(file.content), size: file.content.length } : await cache.hash(file.source, opts.progress);
    const target = join(out, file.path);
    const st = await lstat(target).catch(() => undefined);
    let status: Status = "new";
    if (st) {
      if (!owned.has(file.path)) {
        problems.push({ file: target, message: "exists and was not created by triton-deploy (not in manifest.json), so it is not overwritten", hint: "move it out of the repository, or rename the model in the spec" });
        continue;
      }
      status = (await sameContent(file, target, st, sha256, size, cache, opts)) ? "unchanged" : "changed";
    }
    result.push({ file, sha256, size, status });
  }
  if (problems.length > 0) throw new UserError(problems);
  return result;
}

async function sameContent(file: PlannedFile, target: string, st: Awaited<ReturnType<typeof lstat>>, sha256: string, size: number, cache: HashCache, opts: ApplyOptions): Promise<boolean> {
  if (!st.isFile() || Number(st.size) !== size) return false;
  if (file.kind === "content") return Buffer.from(file.content).equals(await readFile(target));
  const src = await stat(file.source);
  const linked = src.ino === st.ino && src.dev === st.dev;
  if (linked) return !opts.copy;
  return (await cache.hash(target, opts.progress)).sha256 === sha256;
}

/** Directories the tool made: those it listed, and every folder above a file it wrote. */
function ownedDirs(m: Manifest | undefined): Set<string> {
  const dirs = new Set<string>();
  for (const p of [...(m?.dirs ?? []).map((d) => `${d}/`), ...(m?.files ?? []).map((f) => f.path)]) {
    const parts = p.split("/");
    for (let i = 1; i < parts.length; i++) dirs.add(parts.slice(0, i).join("/"));
  }
  return dirs;
}

/**
 * Hard-links every file of the old tree into staging except those being replaced; returns the
 * foreign ones. A folder the tool made that ends up empty (its model was removed) is left out.
 */
async function carryOver(from: string, to: string, rel: string, replaced: Set<string>, owned: Map<string, ManifestFile>, ours: Set<string>): Promise<string[]> {
  const kept: string[] = [];
  for (const entry of await readdir(join(from, rel), { withFileTypes: true })) {
    const p = rel ? `${rel}/${entry.name}` : entry.name;
    if (replaced.has(p)) continue;
    const src = join(from, p);
    const dst = join(to, p);
    if (entry.isDirectory()) {
      await mkdir(dst, { recursive: true });
      kept.push(...(await carryOver(from, to, p, replaced, owned, ours)));
      if (ours.has(p) && (await readdir(dst)).length === 0) await rmdir(dst);
    } else if (entry.isSymbolicLink()) {
      await symlink(await readlink(src), dst);
      if (!owned.has(p)) kept.push(p);
    } else if (entry.isFile()) {
      await link(src, dst);
      if (!owned.has(p)) kept.push(p);
    } else {
      throw new UserError({ file: src, message: "is not a regular file, directory or symlink, so it cannot be carried into the new repository", hint: "move it out of the repository" });
    }
  }
  return kept;
}

async function place(d: Desired, staging: string, report: ApplyReport, cache: HashCache, out: string, opts: ApplyOptions): Promise<void> {
  const dst = join(staging, d.file.path);
  await mkdir(dirname(dst), { recursive: true });
  if (d.file.kind === "content") {
    await writeFile(dst, d.file.content);
    report.written.push(d.file.path);
    return;
  }
  if (!opts.copy) {
    try {
      await link(d.file.source, dst);
      report.linked.push(d.file.path);
      return;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== "EXDEV" && code !== "EPERM" && code !== "EMLINK" && code !== "ENOTSUP") throw e;
      report.notes.push(`${d.file.path}: hard link not possible (${code}), copied`);
    }
  }
  await copyFile(d.file.source, dst, constants.COPYFILE_FICLONE);
  cache.record(join(out, d.file.path), await stat(dst), d.sha256);
  report.copied.push(d.file.path);
}

function cacheText(cache: HashCache, desired: Desired[], out: string): string {
  const keep = new Set<string>();
  for (const d of desired) {
    if (d.file.kind === "source") keep.add(d.file.source);
    keep.add(join(out, d.file.path));
  }
  return `${JSON.stringify(cache.toJSON(keep))}\n`;
}

async function allExist(paths: string[]): Promise<boolean> {
  for (const p of paths) if (!(await stat(p).catch(() => undefined))?.isDirectory()) return false;
  return true;
}

async function writeAtomically(file: string, text: string): Promise<void> {
  const tmp = `${file}.tmp-${process.pid}`;
  await writeFile(tmp, text);
  await rename(tmp, file);
}
