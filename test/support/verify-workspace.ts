// A throwaway deployment for the gate's integration tests: fixture exports and a repository written
// by synth-repo (the library calls), under the OS temp directory, plus serve-local started on it as
// a child process on a free port.
import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ensureFixtures } from "../../src/fixtures/write.ts";
import { synthRepo } from "../../src/repo/synth.ts";
import { loadCatalog } from "../../src/spec/catalog.ts";
import { startServeLocal, type LocalServer, type LocalServerOptions } from "../../src/verify/local-server.ts";

export const REPO_ROOT = new URL("../..", import.meta.url).pathname;

export interface VerifyWorkspace {
  root: string;
  specs: string;
  onnxRoot: string;
  repo: string;
  /** serve-local over `repo` (or another repository) on a free port. */
  serve(o?: Partial<LocalServerOptions>): Promise<LocalServer>;
  /** A copy of the specs with `find` replaced by `replace` in one file; returns the new spec directory. */
  editedSpecs(file: string, find: string | RegExp, replace: string): Promise<string>;
  cleanup(): Promise<void>;
}

export async function makeVerifyWorkspace(): Promise<VerifyWorkspace> {
  const root = await mkdtemp(join(tmpdir(), "td-verify-"));
  const specs = join(REPO_ROOT, "model-specs");
  const onnxRoot = join(root, "onnx");
  const repo = join(root, "models");
  const catalog = await loadCatalog(specs);
  await ensureFixtures(catalog.branches.map((b) => b.branch), onnxRoot);
  await synthRepo({ specsDir: specs, onnxRoot, outDir: repo });
  const servers: LocalServer[] = [];
  let edits = 0;
  return {
    root,
    specs,
    onnxRoot,
    repo,
    async serve(o = {}) {
      const s = await startServeLocal({ repo, cwd: REPO_ROOT, command: [process.execPath, "--import", "tsx", join(REPO_ROOT, "scripts/serve-local.ts")], readyTimeoutMs: 60_000, ...o });
      servers.push(s);
      return s;
    },
    async editedSpecs(file, find, replace) {
      const dir = join(root, `specs-${++edits}`);
      await cp(specs, dir, { recursive: true });
      const p = join(dir, file);
      const text = await readFile(p, "utf8");
      const next = text.replace(find, replace);
      if (next === text) throw new Error(`editedSpecs: ${String(find)} not found in ${file}`);
      await writeFile(p, next);
      return dir;
    },
    async cleanup() {
      await Promise.all(servers.map((s) => s.stop(2000)));
      await rm(root, { recursive: true, force: true });
    },
  };
}
