// Turns a RepoPlan into files: compares it with what is on disk, writes nothing when nothing
// changed, and otherwise stages the new tree and swaps it in atomically. Files the tool made before
// and keeps are carried into the staging tree by hard link (the old tree is removed after the swap,
// so each ends with one link again). Exports are cloned (copy-on-write, reflink) where the filesystem
// can, else copied, so the repository shares no bytes with them: an exporter that rewrites its file
// in place cannot change what Triton serves. Hard links to the exports only when asked (`link`).
// Every file the tool writes is 0644 and every folder it makes 0755 (the repository's missing
// parent folders too), whatever the export's mode or the umask, so Triton's user (uid 1000 in the
// deployment) can reach and read them.
import { constants } from "node:fs";
import { chmod, copyFile, link, lstat, mkdir, readFile, readdir, readlink, rename, rm, rmdir, stat, symlink, writeFile } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import { UserError, type Problem } from "../errors.ts";
import { HASH_CACHE_FILE, MANIFEST_FILE, type PlannedFile, type RepoPlan, type SourceFile } from "./files.ts";
import { HashCache, sha256Of, type Progress } from "./hash.ts";
import { buildManifest, readManifest, renderManifest, type Manifest, type ManifestFile } from "./manifest.ts";
import { acquireLock, cleanupOnSignal, recoverInterrupted, stagingDir, swapIn, type SwapPaths } from "./swap.ts";

/** Mode of every file the tool writes, and of every folder it makes. */
export const FILE_MODE = 0o644;
export const DIR_MODE = 0o755;

/** What hard-linking the exports implies; in the notes of every run with `link`. */
export const LINK_NOTE =
  "--link: the repository hard-links the ONNX exports, so it shares their bytes: an exporter that rewrites its output in place " +
  "(torch.onnx.export truncates and writes the same path) changes the model Triton serves, and ONNX's checker refuses " +
  "external data with more than one link. Without --link exports are cloned or copied.";

export interface ApplyOptions {
  /** Hard-link ONNX exports instead of cloning or copying them. @default false */
  link?: boolean;
  progress?: Progress;
  /** Called with the staged tree complete, just before the swap (tests use it to fail there). */
  beforeSwap?: (staging: string) => Promise<void> | void;
  /** Hashes of exports read earlier this run (the output-shape cache's), so none is read twice. */
  knownHashes?: HashCache;
}

export interface ApplyReport {
  outDir: string;
  changed: boolean;
  written: string[];
  /** Exports placed as copy-on-write clones (no bytes copied, none shared). */
  cloned: string[];
  /** Exports copied in full (the filesystem cannot clone). */
  copied: string[];
  /** Exports hard-linked (`link`). */
  linked: string[];
  unchanged: string[];
  removed: string[];
  /** Files the tool did not create, carried into the new tree untouched. */
  kept: string[];
  /**
   * Exports (absolute paths) the old or the new tree holds by hard link, whose ctime this run moved
   * by linking or unlinking them: caches keyed on ctime re-key these (HashCache.refresh).
   */
  relinkedExports: string[];
  notes: string[];
  hashedBytes: number;
  manifest: Manifest;
}

type Status = "new" | "changed" | "unchanged";
interface Desired {
  file: PlannedFile;
  /** Undefined for a new export not hashed yet: it is hashed while it is copied. */
  sha256: string | undefined;
  size: number;
  status: Status;
  /** The repository's file before this run was a hard link to the export. */
  sharedBefore: boolean;
}

/** What placing files needs besides the file itself. */
interface PlaceContext {
  staging: string;
  out: string;
  report: Tally;
  cache: HashCache;
  opts: ApplyOptions;
  /** Folders made in staging so far. */
  made: Set<string>;
  /** Why cloning failed once this run (then every export is copied without trying again). */
  noClone?: string;
}

export async function applyRepoPlan(plan: RepoPlan, outDir: string, opts: ApplyOptions = {}): Promise<ApplyReport> {
  const out = resolve(outDir);
  const paths: SwapPaths = { parent: dirname(out), base: basename(out), out };
  await makeParents(paths.parent);
  const release = await acquireLock(paths);
  try {
    const notes = [...(opts.link ? [LINK_NOTE] : []), ...(await recoverInterrupted(paths))];
    const hadOld = await isRepositoryDir(out);
    const old = hadOld ? await readManifest(out) : undefined;
    const cache = await HashCache.load(join(out, HASH_CACHE_FILE));
    if (opts.knownHashes) await cache.adopt(opts.knownHashes, plan.files.flatMap((f) => (f.kind === "source" ? [f.source] : [])));
    const owned = new Map((old?.manifest.files ?? []).map((f) => [f.path, f]));
    const desired = await classify(plan, out, owned, cache, opts);

    const wanted = new Set(desired.map((d) => d.file.path));
    const removed = [...owned.keys()].filter((p) => !wanted.has(p)).sort();
    const dirsPresent = await allExist(plan.dirs.map((d) => join(out, d)));
    for (const d of desired) {
      const before = owned.get(d.file.path);
      if (opts.link && d.file.kind === "source" && d.status === "unchanged" && before && before.sha256 !== d.sha256) {
        notes.push(`${d.file.path}: the export changed in place since the last synth; the repository shares its bytes through a hard link (write new exports to a new file and rename, or drop --link)`);
      }
    }
    const report = emptyTally(out, notes);
    report.unchanged = desired.filter((d) => d.status === "unchanged").map((d) => d.file.path);

    if (hadOld && removed.length === 0 && dirsPresent && desired.every((d) => d.status === "unchanged")) {
      const manifest = manifestOf(plan, desired);
      if (old?.text === renderManifest(manifest)) {
        if (cache.changed) await writeAtomically(join(out, HASH_CACHE_FILE), cacheText(cache, desired, out));
        return { ...report, hashedBytes: cache.hashedBytes, manifest };
      }
    }

    const staging = stagingDir(paths);
    const stopSignals = cleanupOnSignal(staging, release);
    let manifest: Manifest;
    try {
      await mkdir(staging);
      await chmod(staging, DIR_MODE);
      const ctx: PlaceContext = { staging, out, report, cache, opts, made: new Set() };
      const replaced = new Set([...removed, ...desired.filter((d) => d.status !== "unchanged").map((d) => d.file.path), MANIFEST_FILE, HASH_CACHE_FILE]);
      if (hadOld) report.kept = await carryOver(out, staging, "", replaced, owned, ownedDirs(old?.manifest), ctx.made);
      for (const d of desired) if (d.status !== "unchanged") await place(d, ctx);
      for (const dir of plan.dirs) await makeDirs(staging, dir, ctx.made);
      manifest = manifestOf(plan, desired);
      await writeFile(join(staging, MANIFEST_FILE), renderManifest(manifest));
      await chmod(join(staging, MANIFEST_FILE), FILE_MODE);
      await opts.beforeSwap?.(staging);
      await swapIn(paths, staging, hadOld);
    } catch (e) {
      await rm(staging, { recursive: true, force: true });
      throw e;
    } finally {
      stopSignals();
    }
    // Carrying files over by hard link (and removing the old tree) moved their ctime, and so did
    // linking an export or removing a link to it: re-key those whose contents are as hashed (and
    // no other export: one whose ctime moved without the tool is checked by its hash), then write the cache.
    const relinkedExports = desired.flatMap((d) => (d.file.kind === "source" && (d.sharedBefore || report.linked.includes(d.file.path)) ? [d.file.source] : []));
    for (const file of [...desired.map((d) => join(out, d.file.path)), ...relinkedExports]) await cache.refresh(file);
    await writeAtomically(join(out, HASH_CACHE_FILE), cacheText(cache, desired, out));
    return { ...report, changed: true, removed, relinkedExports, hashedBytes: cache.hashedBytes, manifest };
  } finally {
    await release();
  }
}

function manifestOf(plan: RepoPlan, desired: Desired[]): Manifest {
  return buildManifest(plan.origin, plan.models, plan.dirs, desired.map((d): ManifestFile => {
    if (d.sha256 === undefined) throw new Error(`internal: ${d.file.path} was never hashed`);
    return { path: d.file.path, size: d.size, sha256: d.sha256, model: d.file.model };
  }));
}

/** The report while the run goes; the manifest is added at the end. */
type Tally = Omit<ApplyReport, "manifest">;

function emptyTally(outDir: string, notes: string[]): Tally {
  return { outDir, changed: false, written: [], cloned: [], copied: [], linked: [], unchanged: [], removed: [], kept: [], relinkedExports: [], notes, hashedBytes: 0 };
}

async function isRepositoryDir(out: string): Promise<boolean> {
  const st = await lstat(out).catch(() => undefined);
  if (!st) return false;
  if (!st.isDirectory()) {
    throw new UserError({ file: out, message: "the output path exists and is not a directory", hint: "pass --out a directory (it is created when missing), or move that file away" });
  }
  return true;
}

/**
 * Hashes every planned file and compares it with the file now at its path. A new export whose
 * hash is not cached is left unhashed here: it is hashed while it is cloned or copied.
 */
async function classify(plan: RepoPlan, out: string, owned: Map<string, ManifestFile>, cache: HashCache, opts: ApplyOptions): Promise<Desired[]> {
  const problems: Problem[] = [];
  const result: Desired[] = [];
  for (const file of plan.files) {
    const target = join(out, file.path);
    const st = await lstat(target).catch(() => undefined);
    if (st && !owned.has(file.path)) {
      problems.push({ file: target, message: "exists and was not created by triton-deploy (not in manifest.json), so it is not overwritten", hint: "move it out of the repository, or rename the model in the spec" });
      continue;
    }
    if (file.kind === "content") {
      const size = file.content.length;
      const same = st?.isFile() && st.size === size && (st.mode & 0o777) === FILE_MODE && Buffer.from(file.content).equals(await readFile(target));
      result.push({ file, sha256: sha256Of(file.content), size, status: !st ? "new" : same ? "unchanged" : "changed", sharedBefore: false });
      continue;
    }
    const src = await stat(file.source);
    let sha256 = cache.lookup(file.source, src);
    if (!st && !sha256 && !opts.link) {
      result.push({ file, sha256: undefined, size: src.size, status: "new", sharedBefore: false });
      continue;
    }
    sha256 ??= (await cache.hash(file.source, opts.progress)).sha256;
    const status: Status = !st ? "new" : (await sameExport(file, target, st, sha256, src.size, cache, opts)) ? "unchanged" : "changed";
    const sharedBefore = !!st && st.isFile() && st.ino === src.ino && st.dev === src.dev;
    result.push({ file, sha256, size: src.size, status, sharedBefore });
  }
  if (problems.length > 0) throw new UserError(problems);
  return result;
}

/**
 * Whether the repository's file already is what placing `file` would give: by default a file of
 * its own (not a link to the export) with the export's bytes and mode 0644; with `link`, the export
 * itself (if other users can read it) or an equal copy made before.
 */
async function sameExport(file: SourceFile, target: string, st: Awaited<ReturnType<typeof lstat>>, sha256: string, size: number, cache: HashCache, opts: ApplyOptions): Promise<boolean> {
  if (!st.isFile() || Number(st.size) !== size) return false;
  const src = await stat(file.source);
  if (src.ino === st.ino && src.dev === st.dev) return !!opts.link && readableByOthers(src.mode);
  if ((Number(st.mode) & 0o777) !== FILE_MODE) return false;
  return (await cache.hash(target, opts.progress)).sha256 === sha256;
}

/** Whether a user other than the owner (Triton's, in the deployment) can read a file of this mode. */
const readableByOthers = (mode: number) => (mode & 0o004) !== 0;
const octal = (mode: number) => `0${(mode & 0o777).toString(8)}`;

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
 * foreign ones. A folder the tool made that ends up empty (its model was removed) is left out;
 * folders keep their mode when they are someone else's and get 0755 when they are the tool's.
 */
async function carryOver(from: string, to: string, rel: string, replaced: Set<string>, owned: Map<string, ManifestFile>, ours: Set<string>, made: Set<string>): Promise<string[]> {
  const kept: string[] = [];
  for (const entry of await readdir(join(from, rel), { withFileTypes: true })) {
    const p = rel ? `${rel}/${entry.name}` : entry.name;
    if (replaced.has(p)) continue;
    const src = join(from, p);
    const dst = join(to, p);
    if (entry.isDirectory()) {
      await mkdir(dst);
      await chmod(dst, ours.has(p) ? DIR_MODE : (await stat(src)).mode & 0o7777);
      made.add(p);
      kept.push(...(await carryOver(from, to, p, replaced, owned, ours, made)));
      if (ours.has(p) && (await readdir(dst)).length === 0) {
        await rmdir(dst);
        made.delete(p);
      }
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

/**
 * Makes the repository's parent folder where it is missing, each folder made 0755 whatever the
 * umask: the deployment mounts the parent, and Triton's user must be able to enter it.
 */
async function makeParents(parent: string): Promise<void> {
  const first = await mkdir(parent, { recursive: true });
  if (first === undefined) return;
  for (let dir = parent; ; dir = dirname(dir)) {
    await chmod(dir, DIR_MODE);
    if (dir === first || dirname(dir) === dir) return;
  }
}

/** Makes the folders of `rel` under `root` that are not there yet, each 0755 whatever the umask. */
async function makeDirs(root: string, rel: string, made: Set<string>): Promise<void> {
  const parts = rel.split("/");
  for (let i = 1; i <= parts.length; i++) {
    const p = parts.slice(0, i).join("/");
    if (made.has(p)) continue;
    const dir = join(root, p);
    await mkdir(dir).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== "EEXIST") throw e;
    });
    await chmod(dir, DIR_MODE);
    made.add(p);
  }
}

async function place(d: Desired, ctx: PlaceContext): Promise<void> {
  const { file } = d;
  const dst = join(ctx.staging, file.path);
  await makeDirs(ctx.staging, dirname(file.path), ctx.made);
  if (file.kind === "content") {
    await writeFile(dst, file.content);
    await chmod(dst, FILE_MODE);
    ctx.report.written.push(file.path);
    return;
  }
  const before = await stat(file.source);
  if (ctx.opts.link) {
    if (!readableByOthers(before.mode)) {
      ctx.report.notes.push(`${file.path}: the export ${file.source} is mode ${octal(before.mode)}, which Triton's user cannot read: copied (as ${octal(FILE_MODE)}) instead of linked; chmod a+r the export to link it`);
    } else {
      try {
        await link(file.source, dst);
        ctx.report.linked.push(file.path);
        return;
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code !== "EXDEV" && code !== "EPERM" && code !== "EMLINK" && code !== "ENOTSUP") throw e;
        ctx.report.notes.push(`${file.path}: hard link not possible (${code}), copied`);
      }
    }
  } else if (!readableByOthers(before.mode)) {
    ctx.report.notes.push(`${file.path}: the export ${file.source} is mode ${octal(before.mode)} (other users cannot read it); the repository's file is ${octal(FILE_MODE)} so Triton's user can read it`);
  }
  // a new export not hashed yet is read by the hash while the kernel clones or copies it
  const [how, hashed] = await Promise.all([cloneOrCopy(file.source, dst, ctx), d.sha256 === undefined ? ctx.cache.hash(file.source, ctx.opts.progress) : undefined]);
  if (hashed) d.sha256 = hashed.sha256;
  // the export must still be what was hashed (its cache key unchanged), or the copy may not match the manifest
  if (ctx.cache.lookup(file.source, await stat(file.source)) !== d.sha256) {
    throw new UserError({ file: file.source, message: "the export changed while synth-repo was copying it; nothing was written", hint: "run synth-repo again once the exporter has finished writing" }, 1);
  }
  await chmod(dst, FILE_MODE);
  ctx.cache.record(join(ctx.out, file.path), await stat(dst), d.sha256!);
  (how === "cloned" ? ctx.report.cloned : ctx.report.copied).push(file.path);
}

/** Errors that mean "this filesystem (or this pair of them) cannot clone", not a failed copy. */
const CANNOT_CLONE = new Set(["ENOTSUP", "EOPNOTSUPP", "EXDEV", "EINVAL", "ENOSYS", "ENOTTY", "EBADF"]);

/**
 * A copy-on-write clone of `src` (reflink: no bytes copied, none shared afterwards), or a plain copy
 * where the filesystem cannot clone; after the first refusal this run copies without asking again.
 */
async function cloneOrCopy(src: string, dst: string, ctx: PlaceContext): Promise<"cloned" | "copied"> {
  if (ctx.noClone === undefined) {
    try {
      await copyFile(src, dst, constants.COPYFILE_FICLONE_FORCE);
      return "cloned";
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code ?? "unknown";
      if (!CANNOT_CLONE.has(code)) throw e;
      ctx.noClone = code;
      ctx.report.notes.push(`the filesystem cannot clone (copy-on-write) here (${code}): exports are copied in full`);
    }
  }
  await copyFile(src, dst);
  return "copied";
}

/** Every file whose hash the cache keeps: the exports and the repository's files. */
function cachedPaths(desired: Desired[], out: string): Set<string> {
  const keep = new Set<string>();
  for (const d of desired) {
    if (d.file.kind === "source") keep.add(d.file.source);
    keep.add(join(out, d.file.path));
  }
  return keep;
}

function cacheText(cache: HashCache, desired: Desired[], out: string): string {
  return `${JSON.stringify(cache.toJSON(cachedPaths(desired, out)))}\n`;
}

async function allExist(paths: string[]): Promise<boolean> {
  for (const p of paths) if (!(await stat(p).catch(() => undefined))?.isDirectory()) return false;
  return true;
}

async function writeAtomically(file: string, text: string): Promise<void> {
  const tmp = `${file}.tmp-${process.pid}`;
  await writeFile(tmp, text);
  await chmod(tmp, FILE_MODE);
  await rename(tmp, file);
}
