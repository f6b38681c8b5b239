// sha256 of repository files, cached by (path, size, mtime, inode) so a warm synth-repo over
// gigabytes of ONNX weights hashes nothing it has hashed before.
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { readFile, stat } from "node:fs/promises";
import { z } from "zod";

export const HashCacheSchema = z.object({
  version: z.literal(1),
  entries: z.record(z.string(), z.object({ size: z.number(), mtimeMs: z.number(), ino: z.number(), sha256: z.string() })),
});
export type HashCacheData = z.infer<typeof HashCacheSchema>;

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

  /** sha256 of a file, from the cache when path, size, mtime and inode all match. */
  async hash(file: string, progress?: Progress): Promise<{ sha256: string; size: number }> {
    const st = await stat(file);
    const hit = this.entries[file];
    if (hit && hit.size === st.size && hit.mtimeMs === st.mtimeMs && hit.ino === st.ino) return { sha256: hit.sha256, size: st.size };
    const sha256 = await hashFile(file, st.size, progress);
    this.hashedBytes += st.size;
    this.entries[file] = { size: st.size, mtimeMs: st.mtimeMs, ino: st.ino, sha256 };
    this.dirty = true;
    return { sha256, size: st.size };
  }

  /** Remembers the hash of a file this run wrote itself (a copy), so the next run need not read it. */
  record(file: string, st: { size: number; mtimeMs: number; ino: number }, sha256: string): void {
    this.entries[file] = { size: st.size, mtimeMs: st.mtimeMs, ino: st.ino, sha256 };
    this.dirty = true;
  }

  get changed(): boolean {
    return this.dirty;
  }

  /** The cache restricted to the given paths, so it does not grow with files long gone. */
  toJSON(keep?: ReadonlySet<string>): HashCacheData {
    const entries: HashCacheData["entries"] = {};
    for (const [k, v] of Object.entries(this.entries)) if (!keep || keep.has(k)) entries[k] = v;
    return { version: 1, entries };
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
