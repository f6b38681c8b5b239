// Every kind of bad request gets a 4xx with `{"error": …}` saying what is wrong, and the server keeps
// answering: after each case a good inference still succeeds on the same server.
import { mkdir, writeFile } from "node:fs/promises";
import { request } from "node:http";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KServeClient } from "../src/client/index.ts";
import { startServer, type ServeLocal } from "../src/serve/index.ts";
import { entryInputs, makeServeRepo, type ServeRepo } from "./support/serve-repo.ts";

let r: ServeRepo;
let server: ServeLocal;
let client: KServeClient;
const LIMIT = 1024 * 1024;

beforeAll(async () => {
  r = await makeServeRepo(["clip_text", "raft_256"], "onnx");
  // 'broken' is asked for and cannot load: UNAVAILABLE with a reason (served on: --exit-on-error=false).
  await mkdir(join(r.repo, "broken/1"), { recursive: true });
  await writeFile(join(r.repo, "broken/config.pbtxt"), 'name: "broken"\nbackend: "tensorflow"\n');
  server = await startServer({ repo: r.repo, port: 0, metricsPort: null, exitOnError: false, loadModels: ["clip_text_onnx", "clip_text", "raft_256_onnx", "broken"], maxBodyBytes: LIMIT });
  client = new KServeClient(server.url);
});

afterAll(async () => {
  client?.close();
  await server?.close();
  await r?.cleanup();
});

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  error: string;
}

interface Req {
  method?: string;
  path: string;
  headers?: Record<string, string | number>;
  body?: Buffer | string;
  /** Send the body in chunks without Content-Length. */
  chunked?: boolean;
}

/** One request on its own connection; resolves with the status and the `error` text. */
function send(q: Req): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const url = new URL(server.url);
    const body = q.body === undefined ? undefined : Buffer.isBuffer(q.body) ? q.body : Buffer.from(q.body);
    const headers: Record<string, string | number> = { ...q.headers };
    if (body && !q.chunked) headers["content-length"] = body.length;
    const req = request({ host: url.hostname, port: url.port, path: q.path, method: q.method ?? "POST", headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8");
        let error = "";
        try {
          error = (JSON.parse(text) as { error?: string }).error ?? "";
        } catch {
          error = text;
        }
        resolve({ status: res.statusCode!, headers: res.headers, error });
      });
    });
    req.on("error", reject);
    if (body && q.chunked) {
      for (let at = 0; at < body.length; at += 256 * 1024) req.write(body.subarray(at, at + 256 * 1024));
    } else if (body) req.write(body);
    req.end();
  });
}

/** A binary-extension body: the JSON header, then `bytes`; the header length is the JSON's unless given. */
function binary(header: unknown, bytes: Buffer, headerLength?: number | string): { body: Buffer; headers: Record<string, string | number> } {
  const h = Buffer.from(JSON.stringify(header));
  return { body: Buffer.concat([h, bytes]), headers: { "inference-header-content-length": headerLength ?? h.length, "content-type": "application/octet-stream" } };
}

const TOKENS = { name: "INPUT__0", datatype: "INT64", shape: [1, 77] };
const tokenBytes = Buffer.alloc(77 * 8, 1);
const json = (v: unknown) => ({ body: JSON.stringify(v), headers: { "content-type": "application/json" } });
const infer = (model: string) => `/v2/models/${model}/infer`;

const cases: [string, Req, number, RegExp][] = [
  ["malformed JSON", { path: infer("clip_text"), ...json("x"), body: '{"inputs": [' }, 400, /failed to parse the request JSON/],
  ["header length past the body", { path: infer("clip_text"), ...binary({ inputs: [{ ...TOKENS, parameters: { binary_data_size: 616 } }] }, tokenBytes, 5000) }, 400, /Inference-Header-Content-Length is 5000, but the request body has only \d+ bytes/],
  ["header length that is not a number", { path: infer("clip_text"), ...binary({ inputs: [{ ...TOKENS, parameters: { binary_data_size: 616 } }] }, tokenBytes, "12px") }, 400, /Inference-Header-Content-Length must be a non-negative integer, got "12px"/],
  ["header length that cuts the JSON", { path: infer("clip_text"), ...binary({ inputs: [{ ...TOKENS, parameters: { binary_data_size: 616 } }] }, tokenBytes, 20) }, 400, /failed to parse the request JSON \(first 20 bytes\)/],
  ["binary_data_size that does not match dtype × shape", { path: infer("clip_text"), ...binary({ inputs: [{ ...TOKENS, parameters: { binary_data_size: 600 } }] }, tokenBytes.subarray(0, 600)) }, 400, /input 'INPUT__0': binary_data_size is 600, but INT64 \[1, 77\] takes 616 bytes/],
  ["bytes missing after the header", { path: infer("clip_text"), ...binary({ inputs: [{ ...TOKENS, parameters: { binary_data_size: 616 } }] }, tokenBytes.subarray(0, 300)) }, 400, /input 'INPUT__0': needs 616 bytes at offset \d+, but the body ends after 300 more/],
  ["trailing bytes", { path: infer("clip_text"), ...binary({ inputs: [{ ...TOKENS, parameters: { binary_data_size: 616 } }] }, Buffer.concat([tokenBytes, Buffer.alloc(9)])) }, 400, /9 unexpected bytes after the last binary input/],
  ["wrong datatype", { path: infer("clip_text"), ...binary({ inputs: [{ ...TOKENS, datatype: "INT32", parameters: { binary_data_size: 308 } }] }, tokenBytes.subarray(0, 308)) }, 400, /inference input 'INPUT__0' data-type is 'INT32', but model 'clip_text' expects 'INT64'/],
  ["wrong shape", { path: infer("clip_text"), ...json({ inputs: [{ ...TOKENS, shape: [1, 76], data: new Array(76).fill(1) }] }) }, 400, /unexpected shape for input 'INPUT__0' for model 'clip_text'. Expected \[1,77\], got \[1,76\]/],
  ["JSON data that does not fill the shape", { path: infer("clip_text"), ...json({ inputs: [{ ...TOKENS, data: [1, 2, 3] }] }) }, 400, /input 'INPUT__0': Unable to parse 'data': Shape does not match true shape of 'data' field: data holds 3 elements, shape \[1, 77\] needs 77/],
  ["a JSON shape of 1e9×256×256×3 over three numbers", { path: infer("clip_text"), ...json({ inputs: [{ name: "INPUT__0", datatype: "UINT8", shape: [1e9, 256, 256, 3], data: [1, 2, 3] }] }) }, 400, /data holds 3 elements, shape \[1000000000, 256, 256, 3\] needs 196608000000000/],
  ["a JSON element of the wrong kind", { path: infer("clip_text"), ...json({ inputs: [{ ...TOKENS, data: [...new Array(76).fill(1), "x"] }] }) }, 400, /element 76 is "x", expected an integer/],
  ["BYTES", { path: infer("clip_text"), ...json({ inputs: [{ name: "INPUT__0", datatype: "BYTES", shape: [1], data: ["a cat"] }] }) }, 400, /datatype BYTES is not supported/],
  ["unknown model", { path: infer("nope"), ...json({ inputs: [] }) }, 404, /Request for unknown model: 'nope' is not found/],
  ["unknown version", { path: "/v2/models/clip_text/versions/7/infer", ...binary({ inputs: [{ ...TOKENS, parameters: { binary_data_size: 616 } }] }, tokenBytes) }, 404, /'clip_text' version 7 is not found/],
  ["unknown input", { path: infer("clip_text"), ...json({ inputs: [{ ...TOKENS, name: "TOKENS", data: new Array(77).fill(1) }] }) }, 400, /unexpected inference input 'TOKENS' for model 'clip_text' \(its inputs: INPUT__0\)/],
  ["unknown output", { path: infer("clip_text"), ...json({ inputs: [{ ...TOKENS, data: new Array(77).fill(1) }], outputs: [{ name: "EMBEDDING" }] }) }, 400, /unexpected inference output 'EMBEDDING' for model 'clip_text'/],
  ["a missing input", { path: infer("raft_256_onnx"), ...binary({ inputs: [{ name: "input0", datatype: "FP32", shape: [1, 3, 256, 256], parameters: { binary_data_size: 786432 } }] }, Buffer.alloc(786432)) }, 400, /expected 2 inputs but got 1 inputs for model 'raft_256_onnx': missing 'input1'/],
  ["an input sent twice", { path: infer("clip_text"), ...json({ inputs: [{ ...TOKENS, data: new Array(77).fill(1) }, { ...TOKENS, data: new Array(77).fill(1) }] }) }, 400, /input 'INPUT__0' appears more than once/],
  ["no inputs at all", { path: infer("clip_text"), ...json({ id: "1" }) }, 400, /the request has no inputs/],
  ["a body over --max-body-mb (Content-Length)", { path: infer("clip_text"), body: Buffer.alloc(2 * LIMIT) }, 413, /request body of 2097152 bytes exceeds the limit of 1048576 bytes/],
  ["a chunked body over --max-body-mb", { path: infer("clip_text"), body: Buffer.alloc(3 * LIMIT), chunked: true }, 413, /exceeds the limit of 1048576 bytes/],
  ["wrong method", { method: "GET", path: infer("clip_text") }, 405, /GET is not allowed on \/v2\/models\/clip_text\/infer \(use POST\)/],
  ["unknown path", { method: "GET", path: "/v2/modelz" }, 404, /no such endpoint: GET \/v2\/modelz/],
  ["a path outside v2", { method: "GET", path: "/metrics" }, 404, /no such endpoint/],
  ["malformed percent-encoding", { method: "GET", path: "/v2/models/%E0%A4%A" }, 400, /malformed URL path/],
  ["a model that failed to load", { path: infer("broken"), ...json({ inputs: [] }) }, 404, /^Request for unknown model: 'broken' has no available versions$/],
  ["a model never loaded", { path: infer("raft_256"), ...json({ inputs: [] }) }, 404, /^Request for unknown model: 'raft_256' is not found$/],
  ["repository index with bad JSON", { path: "/v2/repository/index", body: "{ready}" }, 400, /failed to parse the request JSON/],
  ["repository index with ready that is not a boolean", { path: "/v2/repository/index", ...json({ ready: "yes" }) }, 400, /"ready" must be true or false, got "yes"/],
  ["load of a model that is not in the repository", { path: "/v2/repository/models/ghost/load", ...json({}) }, 500, /^failed to load 'ghost', failed to poll from model repository/],
  ["load with a config override", { path: "/v2/repository/models/clip_text/load", ...json({ parameters: { config: "{}" } }) }, 400, /load parameters config are not supported by serve-local/],
];

describe("bad requests: a 4xx naming the problem, and the server keeps serving", () => {
  it(`has at least 20 cases (${cases.length})`, () => expect(cases.length).toBeGreaterThanOrEqual(20));

  for (const [what, q, status, message] of cases) {
    it(what, async () => {
      const a = await send(q);
      expect(a.status, a.error).toBe(status);
      expect(a.error).toMatch(message);
      if (status === 405) expect(a.headers.allow).toBe("POST");
      if (status === 413) expect(a.headers.connection).toBe("close");
      const [out] = await client.infer("clip_text", entryInputs(r.branch("clip_text")), ["OUTPUT__0"]);
      expect(out!.shape).toEqual([1, 77, 512]);
    });
  }

  it("a client that disconnects mid-body does not disturb the server", async () => {
    const url = new URL(server.url);
    await new Promise<void>((resolve) => {
      const req = request({ host: url.hostname, port: url.port, path: infer("clip_text"), method: "POST", headers: { "content-length": 100_000 }, agent: false });
      req.on("error", () => resolve());
      req.write(Buffer.alloc(1000));
      setTimeout(() => {
        req.destroy();
        resolve();
      }, 50);
    });
    expect(await client.live()).toBe(true);
    const [out] = await client.infer("clip_text", entryInputs(r.branch("clip_text")), ["OUTPUT__0"]);
    expect(out!.shape).toEqual([1, 77, 512]);
  });
});
