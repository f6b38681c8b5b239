// A throwaway workspace for synth-repo tests: a copy of the catalog's specs, an ONNX root filled
// with fixtures, and an output path, all under the OS temp directory.
import { createHash } from "node:crypto";
import { cp, lstat, mkdtemp, readFile, readdir, readlink, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ensureFixtures } from "../../src/fixtures/write.ts";
import { synthRepo, type SynthOptions, type SynthResult } from "../../src/repo/synth.ts";
import { loadCatalog } from "../../src/spec/catalog.ts";

export const REPO_ROOT = new URL("../..", import.meta.url).pathname;

export interface Workspace {
  root: string;
  specs: string;
  onnxRoot: string;
  out: string;
  synth(extra?: Partial<SynthOptions>): Promise<SynthResult>;
  /** Replaces `find` with `replace` in a spec file (fails the test if `find` is absent). */
  editSpec(file: string, find: string | RegExp, replace: string): Promise<void>;
  cleanup(): Promise<void>;
}

/** Fixture exports of the whole catalog, built once and copied into each workspace. */
let fixtureCache: Promise<string> | undefined;
function fixtureRoot(): Promise<string> {
  fixtureCache ??= (async () => {
    const dir = await mkdtemp(join(tmpdir(), "td-fixtures-"));
    const catalog = await loadCatalog(join(REPO_ROOT, "model-specs"));
    await ensureFixtures(catalog.branches.map((b) => b.branch), dir);
    return dir;
  })();
  return fixtureCache;
}

export async function makeWorkspace(): Promise<Workspace> {
  const root = await mkdtemp(join(tmpdir(), "td-synth-"));
  const specs = join(root, "specs");
  const onnxRoot = join(root, "onnx");
  await cp(join(REPO_ROOT, "model-specs"), specs, { recursive: true });
  await cp(await fixtureRoot(), onnxRoot, { recursive: true });
  const out = join(root, "triton", "models");
  return {
    root,
    specs,
    onnxRoot,
    out,
    synth: (extra = {}) => synthRepo({ specsDir: specs, onnxRoot, outDir: out, ...extra }),
    async editSpec(file, find, replace) {
      const p = join(specs, file);
      const text = await readFile(p, "utf8");
      const next = text.replace(find, replace);
      if (next === text) throw new Error(`editSpec: ${String(find)} not found in ${file}`);
      await writeFile(p, next);
    },
    cleanup: () => rm(root, { recursive: true, force: true }),
  };
}

export interface Entry {
  kind: "file" | "dir" | "link";
  sha256?: string;
  ino?: number;
  mtimeMs?: number;
  target?: string;
}

/** Every entry under `dir` with content hash, inode and mtime: equal snapshots mean nothing was touched. */
export async function snapshot(dir: string): Promise<Map<string, Entry>> {
  const out = new Map<string, Entry>();
  const walk = async (rel: string) => {
    for (const e of await readdir(join(dir, rel), { withFileTypes: true })) {
      const p = rel ? `${rel}/${e.name}` : e.name;
      const full = join(dir, p);
      if (e.isDirectory()) {
        out.set(p, { kind: "dir" });
        await walk(p);
      } else if (e.isSymbolicLink()) {
        out.set(p, { kind: "link", target: await readlink(full) });
      } else {
        const st = await lstat(full);
        out.set(p, { kind: "file", sha256: createHash("sha256").update(await readFile(full)).digest("hex"), ino: st.ino, mtimeMs: st.mtimeMs });
      }
    }
  };
  await walk("");
  return out;
}
