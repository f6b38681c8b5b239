// synth-repo over the whole baseline catalog (fixture exports): what a user finds in triton/models.
import { execFile } from "node:child_process";
import { appendFileSync, existsSync } from "node:fs";
import { chmod, lstat, open, readFile, readdir, rm, stat, utimes, writeFile, mkdir } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseModelConfig, writeModelConfig } from "../src/config/index.ts";
import { DIR_MODE, FILE_MODE, LINK_NOTE } from "../src/repo/apply.ts";
import { HASH_CACHE_FILE, MANIFEST_FILE } from "../src/repo/files.ts";
import { readManifest } from "../src/repo/manifest.ts";
import { profileSelection } from "../src/repo/profile-selection.ts";
import { SEED_OPTIONAL, SEED_REQUIRED } from "./support/seed-001.ts";
import { makeWorkspace, REPO_ROOT, snapshot, type Workspace } from "./support/synth-workspace.ts";

const run = promisify(execFile);


let ws: Workspace;
beforeAll(async () => {
  ws = await makeWorkspace();
  await ws.synth();
});
afterAll(() => ws.cleanup());

describe("synth-repo over the full catalog", () => {
  it("writes exactly the 35 models of seed 001's checklist, one directory each", async () => {
    expect(SEED_REQUIRED).toHaveLength(20);
    expect(SEED_OPTIONAL).toHaveLength(15);
    const dirs = (await readdir(ws.out, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name);
    expect(dirs.sort()).toEqual([...SEED_REQUIRED, ...SEED_OPTIONAL].sort());
    const rootFiles = (await readdir(ws.out, { withFileTypes: true })).filter((e) => e.isFile()).map((e) => e.name);
    expect(rootFiles.sort()).toEqual([HASH_CACHE_FILE, MANIFEST_FILE].sort());
  });

  it("gives each model the layout Triton expects for its kind", async () => {
    for (const model of [...SEED_REQUIRED, ...SEED_OPTIONAL]) {
      const cfg = parseModelConfig(await readFile(join(ws.out, model, "config.pbtxt"), "utf8"), `${model}/config.pbtxt`);
      expect(cfg.name, model).toBe(model);
      expect(cfg.max_batch_size ?? 0, model).toBe(0);
      const version = await readdir(join(ws.out, model, "1"));
      if (cfg.platform === "ensemble") {
        expect(version, model).toEqual([]);
        expect(cfg.instance_group, model).toBeUndefined();
      } else if (cfg.backend === "python") {
        expect(version, model).toEqual(["model.py"]);
        expect(cfg.instance_group?.[0]?.kind, model).toBe("KIND_CPU");
      } else {
        expect(cfg.platform, model).toBe("onnxruntime_onnx");
        expect(version, model).toContain("model.onnx");
      }
      for (const t of [...(cfg.input ?? []), ...(cfg.output ?? [])]) expect(t.dims?.every((d) => d > 0), `${model} ${t.name}`).toBe(true);
    }
  });

  it("names the ensembles, steps and external contract as seed 001 does", async () => {
    const midas = parseModelConfig(await readFile(join(ws.out, "midas_384", "config.pbtxt"), "utf8"));
    expect(midas.input).toEqual([{ name: "INPUT__0", data_type: "TYPE_UINT8", dims: [1, 384, 384, 3] }]);
    expect(midas.output).toEqual([{ name: "OUTPUT__0", data_type: "TYPE_FP32", dims: [1, 384, 384] }]);
    expect(midas.ensemble_scheduling?.step?.map((s) => s.model_name)).toEqual(["preprocess_midas_384", "midas_384_onnx"]);
    const raft = parseModelConfig(await readFile(join(ws.out, "raft_256", "config.pbtxt"), "utf8"));
    expect(raft.input?.map((t) => t.name)).toEqual(["INPUT0__0", "INPUT1__0"]);
    expect(raft.output).toEqual([{ name: "OUTPUT__0", data_type: "TYPE_FP32", dims: [1, 2, 256, 256] }]);
    const text = parseModelConfig(await readFile(join(ws.out, "clip_text", "config.pbtxt"), "utf8"));
    expect(text.input).toEqual([{ name: "INPUT__0", data_type: "TYPE_INT64", dims: [1, 77] }]);
    expect(text.ensemble_scheduling?.step?.map((s) => s.model_name)).toEqual(["clip_text_onnx"]);
    const yolo = parseModelConfig(await readFile(join(ws.out, "yolo11x_640", "config.pbtxt"), "utf8"));
    expect(yolo.platform).toBe("onnxruntime_onnx");
    expect(yolo.input).toEqual([{ name: "images", data_type: "TYPE_FP32", dims: [1, 3, 640, 640] }]);
    expect(yolo.output).toEqual([{ name: "output0", data_type: "TYPE_FP32", dims: [1, 84, 8400] }]);
  });

  it("writes configs that round-trip through the parser byte for byte", async () => {
    for (const model of [...SEED_REQUIRED, ...SEED_OPTIONAL]) {
      const text = await readFile(join(ws.out, model, "config.pbtxt"), "utf8");
      expect(writeModelConfig(parseModelConfig(text)), model).toBe(text);
    }
  });

  it("clones or copies ONNX exports and their external data, under the names the export refers to, sharing nothing with them", async () => {
    for (const [repo, export_] of [["midas_256_onnx/1/model.onnx", "midas/midas_small_256.onnx"], ["midas_256_onnx/1/midas_small_256.onnx.data", "midas/midas_small_256.onnx.data"]] as const) {
      const placed = await stat(join(ws.out, repo));
      const source = await stat(join(ws.onnxRoot, export_));
      expect(placed.ino, repo).not.toBe(source.ino);
      expect(source.nlink, export_).toBe(1);
      expect(await readFile(join(ws.out, repo))).toEqual(await readFile(join(ws.onnxRoot, export_)));
    }
  });

  it("leaves no file with more than one link, every file 0644 and every folder 0755", async () => {
    const files = await walk(ws.out);
    expect(files.length).toBeGreaterThan(70);
    for (const f of files) {
      const st = await lstat(join(ws.out, f));
      if (st.isDirectory()) expect(st.mode & 0o777, f).toBe(DIR_MODE);
      else {
        expect(st.nlink, f).toBe(1);
        expect(st.mode & 0o777, f).toBe(FILE_MODE);
      }
    }
    expect((await stat(ws.out)).mode & 0o777).toBe(DIR_MODE);
  });

  it("records every file with its size and sha256 in manifest.json", async () => {
    const m = (await readManifest(ws.out))!.manifest;
    expect(m.models).toHaveLength(35);
    const { createHash } = await import("node:crypto");
    for (const f of m.files) {
      const bytes = await readFile(join(ws.out, f.path));
      expect(bytes.length, f.path).toBe(f.size);
      expect(createHash("sha256").update(bytes).digest("hex"), f.path).toBe(f.sha256);
    }
    expect(Object.keys(m.origin.specs).length).toBe(6);
    expect(m.origin.branches).not.toContain("clip_image_336");
  });

  it("rewrites nothing and hashes nothing when run again unchanged", async () => {
    const before = await snapshot(ws.out);
    const again = await ws.synth();
    expect(again.report?.changed).toBe(false);
    expect(again.report?.hashedBytes).toBe(0);
    expect(again.report?.unchanged).toHaveLength(again.plan.files.length);
    expect(await snapshot(ws.out)).toEqual(before);
  });
});

describe("synth-repo on changes", () => {
  it("--preprocess onnx swaps the Python steps for ONNX graphs and removes the model.py files it made", async () => {
    const w = await makeWorkspace();
    try {
      await w.synth();
      const r = await w.synth({ preprocess: "onnx" });
      expect(r.report?.removed).toContain("preprocess_midas_256/1/model.py");
      expect(await readdir(join(w.out, "preprocess_midas_256", "1"))).toEqual(["model.onnx"]);
      const cfg = parseModelConfig(await readFile(join(w.out, "preprocess_midas_256", "config.pbtxt"), "utf8"));
      expect(cfg.platform).toBe("onnxruntime_onnx");
      expect(r.report?.unchanged).toContain("midas_256/config.pbtxt");
    } finally {
      await w.cleanup();
    }
  });

  it("never deletes files it did not create, and refuses to overwrite one", async () => {
    const w = await makeWorkspace();
    try {
      await w.synth();
      await writeFile(join(w.out, "midas_256", "NOTES.md"), "mine");
      await mkdir(join(w.out, "my_custom_model", "1"), { recursive: true });
      await writeFile(join(w.out, "my_custom_model", "config.pbtxt"), 'name: "my_custom_model"\n');
      await w.editSpec("midas.yaml", "mean: [0.485, 0.456, 0.406]", "mean: [0.5, 0.456, 0.406]");
      const r = await w.synth();
      expect(r.report?.kept.sort()).toEqual(["midas_256/NOTES.md", "my_custom_model/config.pbtxt"]);
      expect(await readFile(join(w.out, "midas_256", "NOTES.md"), "utf8")).toBe("mine");
      expect(existsSync(join(w.out, "my_custom_model", "config.pbtxt"))).toBe(true);
      expect(r.report?.written).toEqual(["preprocess_midas_256/1/model.py"]);

      await writeFile(join(w.out, "preprocess_midas_256", "1", "model.onnx"), "someone else's");
      const before = await snapshot(w.out);
      await expect(w.synth({ preprocess: "onnx" })).rejects.toThrow(/preprocess_midas_256\/1\/model.onnx: exists and was not created by triton-deploy/);
      expect(await snapshot(w.out)).toEqual(before);
    } finally {
      await w.cleanup();
    }
  });

  it("--profile gpu-local writes only what the 6 GB plan loads, and removes the models a run before wrote for the rest", async () => {
    const w = await makeWorkspace();
    try {
      await w.synth();
      await writeFile(join(w.out, "raft_512_onnx", "NOTES.md"), "mine");
      const r = await w.synth({ select: profileSelection(w.specs, "gpu-local") });
      const dirs = (await readdir(w.out, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name).sort();
      const gone = ["yolo11x_960", "raft_512", "preprocess_raft_512"];
      expect(dirs).toEqual([...SEED_REQUIRED, ...SEED_OPTIONAL].filter((m) => !gone.includes(m)).sort()); // raft_512_onnx stays: it holds a file of the user
      expect(await readdir(join(w.out, "raft_512_onnx"))).toEqual(["NOTES.md"]);
      expect(r.report?.removed).toContain("yolo11x_960/1/model.onnx");
      const origin = (await readManifest(w.out))!.manifest.origin;
      expect(origin.profile).toBe("gpu-local");
      expect((origin.plan as { excluded: { branch: string }[] }).excluded.map((e) => e.branch)).toEqual(["yolo11x_960", "raft_512"]);
      expect((origin.plan as { loadModels: string[] }).loadModels).toHaveLength(31);
    } finally {
      await w.cleanup();
    }
  });

  it("an export rewritten in place after synth (truncate, then write) leaves the repository's bytes unchanged; the next run copies the new bytes", async () => {
    const w = await makeWorkspace();
    try {
      const first = await w.synth();
      expect([...first.report!.cloned, ...first.report!.copied]).toContain("midas_256_onnx/1/midas_small_256.onnx.data");
      const data = join(w.onnxRoot, "midas", "midas_small_256.onnx.data");
      const inRepo = join(w.out, "midas_256_onnx", "1", "midas_small_256.onnx.data");
      const old = await readFile(data);
      const oldMtime = (await stat(data)).mtime;
      const next = Buffer.from(old.map((b) => b ^ 0x5a)); // new weights, same size, as a re-export writes them
      await rewriteInPlace(data, next);
      expect(await readFile(inRepo)).toEqual(old);
      // and even an exporter that restores the old mtime is noticed (the hash cache keys on ctime)
      await utimes(data, oldMtime, oldMtime);
      const again = await w.synth();
      expect([...again.report!.cloned, ...again.report!.copied]).toEqual(["midas_256_onnx/1/midas_small_256.onnx.data"]);
      expect(await readFile(inRepo)).toEqual(next);
      expect((await stat(inRepo)).nlink).toBe(1);
      // a warm run after a changed one hashes nothing: carrying files over moved only their ctime
      const warm = await w.synth();
      expect(warm.report).toMatchObject({ changed: false, hashedBytes: 0 });
    } finally {
      await w.cleanup();
    }
  });

  it("an export rewritten in place during a run, old mtime restored, is not re-keyed as unchanged: the next run copies the new bytes", async () => {
    // The run re-keys only the files whose ctime it moved itself (the repository's, by carrying them
    // over); an export it did not touch keeps the key it was hashed with, so a ctime moved by
    // someone else still means "hash again".
    const w = await makeWorkspace();
    try {
      const data = join(w.onnxRoot, "midas", "midas_small_256.onnx.data");
      const inRepo = join(w.out, "midas_256_onnx", "1", "midas_small_256.onnx.data");
      const stamp = 1_700_000_000; // whole seconds, so restoring the mtime gives back exactly the same value
      await utimes(data, stamp, stamp);
      await w.synth();
      const old = await readFile(data);
      const next = Buffer.from(old.map((b) => b ^ 0x5a));
      await w.editSpec("raft.yaml", "std: [0.5, 0.5, 0.5]", "std: [0.25, 0.25, 0.25]"); // a run that changes the tree
      const changed = await w.synth({
        beforeSwap: async () => {
          await rewriteInPlace(data, next); // same size, same inode
          await utimes(data, stamp, stamp);
        },
      });
      expect(changed.report?.unchanged).toContain("midas_256_onnx/1/midas_small_256.onnx.data");
      expect(await readFile(inRepo)).toEqual(old);
      const again = await w.synth();
      expect([...again.report!.cloned, ...again.report!.copied]).toEqual(["midas_256_onnx/1/midas_small_256.onnx.data"]);
      expect(await readFile(inRepo)).toEqual(next);
    } finally {
      await w.cleanup();
    }
  });

  it("makes the repository's missing parent folders 0755 under umask 077, so Triton's user can enter the mount", async () => {
    const w = await makeWorkspace();
    const umask = process.umask(0o077);
    try {
      const out = join(w.root, "deploy", "triton", "models");
      await w.synth({ outDir: out });
      for (const dir of [join(w.root, "deploy"), join(w.root, "deploy", "triton"), out]) expect((await stat(dir)).mode & 0o777, dir).toBe(DIR_MODE);
      for (const f of await walk(out)) expect((await lstat(join(out, f))).mode & 0o777, f).toBe((await lstat(join(out, f))).isDirectory() ? DIR_MODE : FILE_MODE);
      // a folder that was there already is the user's: its mode is left as it is
      expect((await stat(w.root)).mode & 0o777).toBe(0o700);
    } finally {
      process.umask(umask);
      await w.cleanup();
    }
  });

  it("an export that changes while it is being copied fails the run and leaves the repository as it was", async () => {
    const w = await makeWorkspace();
    try {
      await w.synth();
      const before = await snapshot(w.out);
      const data = join(w.onnxRoot, "midas", "midas_small_256.onnx.data");
      await rewriteInPlace(data, Buffer.from((await readFile(data)).map((b) => b ^ 0x5a)));
      // the exporter writes again while synth-repo reads the file
      const progress = (file: string) => {
        if (file === data) appendFileSync(data, "more");
      };
      await expect(w.synth({ progress })).rejects.toThrow(/midas_small_256\.onnx\.data: the export changed while synth-repo was copying it; nothing was written/);
      expect(await snapshot(w.out)).toEqual(before);
    } finally {
      await w.cleanup();
    }
  });

  it("a 0600 external-data file (as onnx.save_model(..., save_as_external_data=True) writes) lands as 0644, and the run says so", async () => {
    const w = await makeWorkspace();
    try {
      const data = join(w.onnxRoot, "midas", "midas_small_256.onnx.data");
      await chmod(data, 0o600);
      const r = await w.synth();
      expect((await stat(join(w.out, "midas_256_onnx", "1", "midas_small_256.onnx.data"))).mode & 0o777).toBe(FILE_MODE);
      expect(r.report?.notes).toContain(`midas_256_onnx/1/midas_small_256.onnx.data: the export ${data} is mode 0600 (other users cannot read it); the repository's file is 0644 so Triton's user can read it`);
      expect((await stat(data)).mode & 0o777).toBe(0o600); // the export itself is left as it is
      // --link cannot share a file Triton's user could not read: that one is copied, the rest linked
      await rm(w.out, { recursive: true });
      const linked = await w.synth({ link: true });
      expect(linked.report?.notes.some((n) => n.startsWith("midas_256_onnx/1/midas_small_256.onnx.data: the export") && n.includes("mode 0600, which Triton's user cannot read: copied (as 0644) instead of linked"))).toBe(true);
      expect(linked.report?.linked).toContain("midas_256_onnx/1/model.onnx");
      expect(linked.report?.linked).not.toContain("midas_256_onnx/1/midas_small_256.onnx.data");
      expect((await stat(join(w.out, "midas_256_onnx", "1", "midas_small_256.onnx.data"))).mode & 0o777).toBe(FILE_MODE);
    } finally {
      await w.cleanup();
    }
  });

  it("--link keeps hard links and says what they imply; an in-place re-export then changes the repository, and the next run says so", async () => {
    const w = await makeWorkspace();
    try {
      const r = await w.synth({ link: true });
      expect(r.report?.notes[0]).toBe(LINK_NOTE);
      expect(r.report?.linked).toHaveLength(20);
      expect(r.report?.cloned.length! + r.report?.copied.length!).toBe(0);
      const data = join(w.onnxRoot, "midas", "midas_small_256.onnx.data");
      const inRepo = join(w.out, "midas_256_onnx", "1", "midas_small_256.onnx.data");
      expect((await stat(inRepo)).ino).toBe((await stat(data)).ino);
      const warm = await w.synth({ link: true });
      expect(warm.report).toMatchObject({ changed: false, hashedBytes: 0 });
      expect(warm.report?.notes).toEqual([LINK_NOTE]);
      const next = Buffer.from((await readFile(data)).map((b) => b ^ 0x5a));
      await rewriteInPlace(data, next);
      expect(await readFile(inRepo)).toEqual(next); // what --link implies
      const again = await w.synth({ link: true });
      expect(again.report?.notes).toContain("midas_256_onnx/1/midas_small_256.onnx.data: the export changed in place since the last synth; the repository shares its bytes through a hard link (write new exports to a new file and rename, or drop --link)");
      // without --link the links become copies of their own
      const copies = await w.synth();
      expect([...copies.report!.cloned, ...copies.report!.copied]).toHaveLength(20);
      expect((await stat(inRepo)).ino).not.toBe((await stat(data)).ino);
      expect((await stat(data)).nlink).toBe(1);
      const equal = await w.synth({ link: true }); // a later --link run keeps equal copies as they are
      expect(equal.report).toMatchObject({ changed: false, hashedBytes: 0 });
    } finally {
      await w.cleanup();
    }
  });

  it("leaves the previous repository exactly as it was when a run fails before the swap", async () => {
    const w = await makeWorkspace();
    try {
      await w.synth();
      const before = await snapshot(w.out);
      await w.editSpec("raft.yaml", "std: [0.5, 0.5, 0.5]", "std: [0.25, 0.25, 0.25]");
      await expect(w.synth({ beforeSwap: () => { throw new Error("disk full (simulated)"); } })).rejects.toThrow("disk full");
      expect(await snapshot(w.out)).toEqual(before);
      expect((await readdir(join(w.out, ".."))).filter((n) => n.includes("staging"))).toEqual([]);
    } finally {
      await w.cleanup();
    }
  });

  it("survives a run killed mid-way: the old repository stays, and the next run cleans up and succeeds", async () => {
    const w = await makeWorkspace();
    try {
      await w.synth();
      const before = await snapshot(w.out);
      await w.editSpec("raft.yaml", "std: [0.5, 0.5, 0.5]", "std: [0.25, 0.25, 0.25]");
      const script = join(w.root, "killed.mts");
      await writeFile(script, [
        `import { synthRepo } from ${JSON.stringify(join(REPO_ROOT, "src/repo/synth.ts"))};`,
        `await synthRepo({ specsDir: ${JSON.stringify(w.specs)}, onnxRoot: ${JSON.stringify(w.onnxRoot)}, outDir: ${JSON.stringify(w.out)},`,
        `  beforeSwap: () => { process.kill(process.pid, "SIGKILL"); } });`,
      ].join("\n"));
      await expect(run("node", ["--import", "tsx", script], { cwd: REPO_ROOT })).rejects.toMatchObject({ signal: "SIGKILL" });
      expect(await snapshot(w.out)).toEqual(before);
      const leftovers = (await readdir(join(w.out, ".."))).filter((n) => n.startsWith("."));
      expect(leftovers.some((n) => n.includes("staging"))).toBe(true);

      const r = await w.synth();
      expect(r.report?.changed).toBe(true);
      expect(r.report?.notes.some((n) => n.includes("removed leftover"))).toBe(true);
      expect((await readdir(join(w.out, ".."))).filter((n) => n.startsWith("."))).toEqual([]);
    } finally {
      await w.cleanup();
    }
  });

  it("restores the old repository when a swap was cut between its two renames", async () => {
    const w = await makeWorkspace();
    try {
      await w.synth();
      const before = await snapshot(w.out);
      const { rename } = await import("node:fs/promises");
      await rename(w.out, join(w.out, "..", ".models.previous-99999-x"));
      const r = await w.synth({ dryRun: false });
      expect(r.report?.notes[0]).toMatch(/restored .* from an interrupted run/);
      expect(r.report?.changed).toBe(false);
      expect(await snapshot(w.out)).toEqual(before);
    } finally {
      await w.cleanup();
    }
  });

  it("works from the command line: exit 0, a summary of what it did; exit 2 and the reason on bad input", async () => {
    const w = await makeWorkspace();
    try {
      const cli = (args: string[]) => run("node", ["--import", "tsx", join(REPO_ROOT, "scripts/synth-repo.ts"), ...args], { cwd: REPO_ROOT });
      // under umask 077 every file is still 0644 and every folder 0755
      const ok = await run("sh", ["-c", 'umask 077 && exec "$0" "$@"', process.execPath, "--import", "tsx", join(REPO_ROOT, "scripts/synth-repo.ts"), "--specs", w.specs, "--onnx-root", w.onnxRoot, "--out", w.out, "--quiet"], { cwd: REPO_ROOT });
      expect(ok.stdout).toMatch(/synth-repo: 35 models → /);
      const placed = /written 45, cloned (\d+) \([^)]*\), copied (\d+) \([^)]*\), linked 0/.exec(ok.stdout);
      expect(placed, ok.stdout).not.toBeNull();
      expect(Number(placed![1]) + Number(placed![2])).toBe(20);
      for (const f of await walk(w.out)) expect((await lstat(join(w.out, f))).mode & 0o777, f).toBe((await lstat(join(w.out, f))).isDirectory() ? DIR_MODE : FILE_MODE);
      const again = await cli(["--specs", w.specs, "--onnx-root", w.onnxRoot, "--out", w.out]);
      expect(again.stdout).toMatch(/nothing changed, nothing written/);
      const file = join(w.root, "a-file");
      await writeFile(file, "x");
      await chmod(file, 0o644);
      const bad = await cli(["--specs", w.specs, "--onnx-root", w.onnxRoot, "--out", file]).catch((e: { code: number; stderr: string }) => e);
      expect(bad).toMatchObject({ code: 2 });
      expect((bad as { stderr: string }).stderr).toMatch(/a-file: the output path exists and is not a directory/);
      expect(await readFile(file, "utf8")).toBe("x");
      const usage = await cli(["--preprocess", "tensorrt"]).catch((e: { code: number; stderr: string }) => e);
      expect(usage).toMatchObject({ code: 2 });
      const linked = await cli(["--specs", w.specs, "--onnx-root", w.onnxRoot, "--out", join(w.root, "linked"), "--link", "--quiet"]);
      expect(linked.stdout).toContain(`note: ${LINK_NOTE}`);
      expect(linked.stdout).toMatch(/cloned 0 \(0 B\), copied 0 \(0 B\), linked 20/);
      const both = await cli(["--specs", w.specs, "--onnx-root", w.onnxRoot, "--out", w.out, "--link", "--copy"]).catch((e: { code: number; stderr: string }) => e);
      expect(both).toMatchObject({ code: 2 });
      expect((both as { stderr: string }).stderr).toMatch(/--link: --link and --copy exclude each other/);
      const old = await cli(["--specs", w.specs, "--onnx-root", w.onnxRoot, "--out", w.out, "--copy", "--quiet"]);
      expect(old.stdout).toMatch(/note: --copy is the default now/);
      expect(old.stdout).toMatch(/nothing changed, nothing written/); // the copies there are what --copy asks for
    } finally {
      await w.cleanup();
    }
  });
});

/** Every path under `dir`, folders and files, relative to it. */
async function walk(dir: string, rel = ""): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(join(dir, rel), { withFileTypes: true })) {
    const p = rel ? `${rel}/${e.name}` : e.name;
    out.push(p);
    if (e.isDirectory()) out.push(...(await walk(dir, p)));
  }
  return out;
}

/** What torch.onnx.export does to an existing file: truncate it, then write the new bytes into the same inode. */
async function rewriteInPlace(file: string, bytes: Uint8Array): Promise<void> {
  const ino = (await stat(file)).ino;
  const fh = await open(file, "r+");
  try {
    await fh.truncate(0);
    await fh.write(bytes, 0, bytes.length, 0);
  } finally {
    await fh.close();
  }
  expect((await stat(file)).ino).toBe(ino);
}
