// npm run serve-local as a user runs it: usage errors exit 2, a model that fails at start-up ends it
// (exit 1, Triton's --exit-on-error) unless --exit-on-error=false, the metrics and ready lines (port 0
// picks a free port), reasons for UNAVAILABLE models on stderr, a warning when not on loopback, and a
// clean stop on SIGTERM: exit 0 with its Python step processes gone.
import { mkdir, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KServeClient } from "../src/client/index.ts";
import { childPids, isAlive, READY, spawnServeLocal, waitReady } from "./support/serve-cli.ts";
import { entryInputs, makeServeRepo, type ServeRepo } from "./support/serve-repo.ts";

let r: ServeRepo;

beforeAll(async () => {
  r = await makeServeRepo(["midas_256"], "python");
  await mkdir(join(r.repo, "broken/1"), { recursive: true });
  await writeFile(join(r.repo, "broken/config.pbtxt"), 'name: "broken"\nbackend: "tensorflow"\n');
});

afterAll(async () => {
  await r?.cleanup();
});

describe("serve-local command", () => {
  it("bad usage exits 2 with the reason", async () => {
    const noRepo = spawnServeLocal([]);
    const badPort = spawnServeLocal(["--repo", r.repo, "--port", "http"]);
    const missing = spawnServeLocal(["--repo", join(r.root, "nowhere"), "--host", "0.0.0.0"]);
    expect(await Promise.all([noRepo.exited, badPort.exited, missing.exited])).toEqual([2, 2, 2]);
    expect(noRepo.stderr()).toMatch(/required option '--repo <dir>' not specified/);
    expect(badPort.stderr()).toMatch(/a port is an integer 0\.\.65535/);
    expect(missing.stderr()).toMatch(/warning: binding 0\.0\.0\.0, not loopback/);
    expect(missing.stderr()).toMatch(/repository .*nowhere does not exist/);
  });

  it("a port in use exits 2 naming it", async () => {
    const busy = createServer().listen(0, "127.0.0.1");
    await new Promise((res) => busy.once("listening", res));
    const port = (busy.address() as { port: number }).port;
    try {
      const s = spawnServeLocal(["--repo", r.repo, "--port", String(port), "--load-model", "midas_256_onnx"]);
      expect(await s.exited).toBe(2);
      expect(s.stderr()).toMatch(new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port}: the port is in use`));
    } finally {
      busy.close();
    }
  });

  it("a model that fails to load at start-up ends the server (exit 1) naming it, as Triton's --exit-on-error does", async () => {
    const s = spawnServeLocal(["--repo", r.repo, "--port", "0"]);
    expect(await s.exited).toBe(1);
    expect(s.stderr()).toMatch(/serve-local: failed to load 'broken': Invalid argument: model 'broken' has backend "tensorflow"; serve-local runs onnxruntime_onnx, python and ensemble models/);
    expect(s.stderr()).toMatch(/error: creating server: failed to load all models: broken \(--exit-on-error=true/);
    expect(s.stdout()).not.toMatch(READY);
  });

  it("--exit-on-error=false: the ready line after the metrics line, serves, and stops on SIGTERM with exit 0 and no Python process left", async () => {
    const s = spawnServeLocal(["--repo", r.repo, "--port", "0", "--exit-on-error=false"]);
    try {
      const ready = await waitReady(s);
      expect(ready).toMatchObject({ ready: 3, unavailable: 1 });
      expect(ready.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const lines = s.stdout().trim().split("\n");
      expect(lines).toHaveLength(2);
      expect(lines[0]).toMatch(/^serve-local: metrics on http:\/\/127\.0\.0\.1:\d+\/metrics$/);
      expect(lines[1]).toMatch(READY);
      expect(s.stderr()).toMatch(/serve-local: failed to load 'broken': Invalid argument: model 'broken' has backend "tensorflow"/);
      const c = new KServeClient(ready.url);
      const [out] = await c.infer("midas_256", entryInputs(r.branch("midas_256")), ["OUTPUT__0"]);
      expect(out!.shape).toEqual([1, 256, 256]);
      c.close();
      const children = childPids(s.pid);
      expect(children.length).toBeGreaterThanOrEqual(1); // the preprocess step's python3
      s.child.kill("SIGTERM");
      expect(await s.exited).toBe(0);
      expect(s.stderr()).toMatch(/serve-local: SIGTERM: stopping/);
      expect(children.filter(isAlive)).toEqual([]);
    } finally {
      if (isAlive(s.pid)) s.child.kill("SIGKILL");
    }
  });

  it("--allow-metrics=false serves no metrics line; a bad boolean is a usage error", async () => {
    const s = spawnServeLocal(["--repo", r.repo, "--port", "0", "--load-model", "midas_256_onnx", "--allow-metrics=false"]);
    try {
      await waitReady(s);
      expect(s.stdout()).not.toMatch(/metrics on/);
    } finally {
      s.child.kill("SIGTERM");
      await s.exited;
    }
    const bad = spawnServeLocal(["--repo", r.repo, "--exit-on-error=maybe"]);
    expect(await bad.exited).toBe(2);
    expect(bad.stderr()).toMatch(/expected true or false/);
  });
});
