// sha256 of repository files, cached by (path, size, mtime, ctime, inode, device) so a warm synth-repo
// over gigabytes of ONNX weights hashes nothing it has hashed before. ctime is in the key because no
// writer can set it: an export rewritten in place keeps its path, inode and often its size, and a
// writer that restores the old mtime (cp -p, tar, rsync -t) still moves ctime, so the change is seen.
// Linking a file also moves its ctime (the link count is metadata): `refresh` re-keys a file whose
// size and mtime are as hashed after the tool itself linked or unlinked it; it is called only for
// such files (the repository's own, and exports the repository held or holds by hard link), never
// for an export the tool did not touch, whose moved ctime means someone else changed it.
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { readFile, stat } from "node:fs/promises";
import { z } from "zod";

const EntrySchema = z.object({ size: z.number(), mtimeMs: z.number(), ctimeMs: z.number(), ino: z.number(), dev: z.number(), sha256: z.string() });
export const HashCacheSchema = z.object({
  version: z.literal(2),
  entries: z.record(z.string(), EntrySchema),
});
export type HashCacheData = z.infer<typeof HashCacheSchema>;

/** The file facts a hash is keyed by. */
export interface FileKey {
  size: number;
  mtimeMs: number;
  ctimeMs: number;
  ino: number;
  dev: number;
}

const keyOf = (st: FileKey): FileKey => ({ size: st.size, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs, ino: st.ino, dev: st.dev });
const sameKey = (a: FileKey, b: FileKey) => a.size === b.size && a.mtimeMs === b.mtimeMs && a.ctimeMs === b.ctimeMs && a.ino === b.ino && a.dev === b.dev;

export type Progress = (file: string, done: number, total: number) => void;

export class HashCache {
  private entries: HashCacheData["entries"];
  private dirty = false;
  /** Bytes actually read and hashed during this run (0 on a fully warm run). */
  hashedBytes = 0;

  constructor(data?: HashCacheData) {
    this.entries = { ...(data?.entries ?? {}) };
  }

  static async load(file: string): Promise<HashCache> {
    try {
      const parsed = HashCacheSchema.safeParse(JSON.parse(await readFile(file, "utf8")));
      return new HashCache(parsed.success ? parsed.data : undefined);
    } catch {
      return new HashCache();
    }
  }

  /** The cached sha256 of a file whose facts are `st`, if its key still matches. */
  lookup(file: string, st: FileKey): string | undefined {
    const hit = this.entries[file];
    return hit && sameKey(hit, st) ? hit.sha256 : undefined;
  }

  /** sha256 of a file, from the cache when its key (path, size, mtime, ctime, inode, device) matches. */
  async hash(file: string, progress?: Progress): Promise<{ sha256: string; size: number }> {
    const st = await stat(file);
    const hit = this.lookup(file, st);
    if (hit) return { sha256: hit, size: st.size };
    const sha256 = await hashFile(file, st.size, progress);
    this.hashedBytes += st.size;
    this.entries[file] = { ...keyOf(st), sha256 };
    this.dirty = true;
    return { sha256, size: st.size };
  }

  /** Remembers the hash of a file this run wrote itself (a copy), so the next run need not read it. */
  record(file: string, st: FileKey, sha256: string): void {
    this.entries[file] = { ...keyOf(st), sha256 };
    this.dirty = true;
  }

  /**
   * Takes `other`'s hashes of `files` that match the files as they are now, where this cache has
   * none that does: what another cache hashed (the output-shape cache reads an export before the
   * repository is written) is not read again.
   */
  async adopt(other: HashCache, files: Iterable<string>): Promise<void> {
    for (const f of files) {
      const theirs = other.entries[f];
      if (!theirs) continue;
      const st = await stat(f).catch(() => undefined);
      if (!st || this.lookup(f, st) !== undefined || other.lookup(f, st) === undefined) continue;
      this.entries[f] = { ...theirs };
      this.dirty = true;
    }
  }

  /**
   * Re-keys a cached file after the tool linked or unlinked it (which moves only its ctime): the
   * entry is kept when size, mtime, inode and device are as hashed, and dropped otherwise.
   */
  async refresh(file: string): Promise<void> {
    const hit = this.entries[file];
    if (!hit) return;
    const st = await stat(file).catch(() => undefined);
    if (st && sameKey(hit, st)) return;
    if (st && st.size === hit.size && st.mtimeMs === hit.mtimeMs && st.ino === hit.ino && st.dev === hit.dev) this.entries[file] = { ...keyOf(st), sha256: hit.sha256 };
    else delete this.entries[file];
    this.dirty = true;
  }

  get changed(): boolean {
    return this.dirty;
  }

  /** The cache restricted to the given paths, so it does not grow with files long gone. */
  toJSON(keep?: ReadonlySet<string>): HashCacheData {
    const entries: HashCacheData["entries"] = {};
    for (const [k, v] of Object.entries(this.entries)) if (!keep || keep.has(k)) entries[k] = v;
    return { version: 2, entries };
  }
}

export function sha256Of(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

async function hashFile(file: string, size: number, progress?: Progress): Promise<string> {
  const h = createHash("sha256");
  let done = 0;
  const stream = createReadStream(file, { highWaterMark: 4 << 20 });
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    h.update(chunk);
    done += chunk.length;
    progress?.(file, done, size);
  }
  return h.digest("hex");
}
