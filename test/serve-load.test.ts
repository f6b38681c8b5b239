// serve-local under load, as a separate process: 64 concurrent clients (one keep-alive connection
// each) send 5,000 inferences over loopback — clip_text (ONNX ensemble) and midas_256 (Python step +
// ONNX) — within a time bound, with 0 errors, every answer equal to the first one for the same input,
// the server still alive, and its resident memory growth after warm-up bounded. Then SIGINT: exit 0.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KServeClient, type Tensor } from "../src/client/index.ts";
import { childPids, isAlive, rssBytes, spawnServeLocal, waitReady, type CliServer } from "./support/serve-cli.ts";
import { entryInputs, makeServeRepo, type ServeRepo } from "./support/serve-repo.ts";

const CLIENTS = 64;
const REQUESTS = 5000;
const WARMUP = 500;
const TIME_LIMIT_MS = 60_000;
const RSS_GROWTH_LIMIT = 64 * 1024 * 1024;

let r: ServeRepo;
let server: CliServer;
let url: string;

beforeAll(async () => {
  r = await makeServeRepo(["clip_text", "midas_256"], "python");
  server = spawnServeLocal(["--repo", r.repo, "--port", "0"]);
  url = (await waitReady(server)).url;
});

afterAll(async () => {
  if (server && isAlive(server.pid)) server.child.kill("SIGKILL");
  await r?.cleanup();
});

const same = (a: Tensor, b: Tensor) => Buffer.from(a.data.buffer, a.data.byteOffset, a.data.byteLength).equals(Buffer.from(b.data.buffer, b.data.byteOffset, b.data.byteLength));

describe("serve-local under load", () => {
  it(`${CLIENTS} concurrent clients, ${REQUESTS} requests: no errors, stable answers, bounded memory`, { timeout: 120_000 }, async () => {
    const work = ["clip_text", "midas_256"].map((model) => ({ model, inputs: entryInputs(r.branch(model), 7) }));
    const probe = new KServeClient(url);
    const expected = await Promise.all(work.map(async (w) => (await probe.infer(w.model, w.inputs, ["OUTPUT__0"]))[0]!));
    probe.close();

    const clients = Array.from({ length: CLIENTS }, () => new KServeClient(url, { maxSockets: 1, timeoutMs: 30_000 }));
    let issued = 0;
    let done = 0;
    const errors: string[] = [];
    let rssAfterWarmup = 0;
    const latencies: number[] = [];
    const started = performance.now();
    await Promise.all(
      clients.map(async (c) => {
        while (issued < REQUESTS) {
          const i = issued++;
          const w = work[i % 10 === 0 ? 1 : 0]!; // one in ten through the Python step
          const t0 = performance.now();
          try {
            const [out] = await c.infer(w.model, w.inputs, ["OUTPUT__0"]);
            if (!same(out!, expected[work.indexOf(w)]!)) errors.push(`request ${i} (${w.model}): answer differs from the first one`);
          } catch (e) {
            errors.push(`request ${i} (${w.model}): ${e instanceof Error ? e.message : String(e)}`);
          }
          latencies.push(performance.now() - t0);
          if (++done === WARMUP) rssAfterWarmup = rssBytes(server.pid);
        }
      }),
    );
    const elapsed = performance.now() - started;
    const rssEnd = rssBytes(server.pid);
    for (const c of clients) c.close();
    latencies.sort((a, b) => a - b);
    const figures = {
      requests: done,
      seconds: +(elapsed / 1000).toFixed(2),
      perSecond: Math.round(done / (elapsed / 1000)),
      p50ms: +latencies[Math.floor(latencies.length * 0.5)]!.toFixed(1),
      p99ms: +latencies[Math.floor(latencies.length * 0.99)]!.toFixed(1),
      rssAfterWarmupMiB: +(rssAfterWarmup / 2 ** 20).toFixed(1),
      rssEndMiB: +(rssEnd / 2 ** 20).toFixed(1),
      errors: errors.length,
    };
    console.log(`serve-local load: ${JSON.stringify(figures)}`);
    expect(errors.slice(0, 5)).toEqual([]);
    expect(done).toBe(REQUESTS);
    expect(elapsed).toBeLessThan(TIME_LIMIT_MS);
    expect(isAlive(server.pid)).toBe(true);
    expect(rssEnd - rssAfterWarmup).toBeLessThan(RSS_GROWTH_LIMIT);
  });

  it("stops on SIGINT with exit 0 and its Python processes gone", async () => {
    const children = childPids(server.pid);
    expect(children.length).toBeGreaterThanOrEqual(1);
    server.child.kill("SIGINT");
    expect(await server.exited).toBe(0);
    expect(children.filter(isAlive)).toEqual([]);
  });
});
