// The KServe-v2 client against a scripted HTTP server: binary tensors by default and JSON on request,
// extra headers on every call, errors that carry status, path and the server's text, unreachable
// servers told apart from error answers, timeouts and aborts; both transports; the Prometheus parser.
import { once } from "node:events";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { describeError, isUnreachable, KServeClient, KServeHttpError, KServeTimeoutError, parsePrometheus, promValue, type TransportKind } from "../src/client/index.ts";
import { binaryOutput, concatParts, decodeInferRequest, encodeInferResponse, HEADER_LENGTH, parseHeaderLength, type Tensor } from "../src/kserve/index.ts";

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage["headers"];
  binary: boolean;
}

let server: Server;
let url: string;
const seen: Seen[] = [];

async function readBody(req: IncomingMessage): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

beforeAll(async () => {
  server = createServer(async (req, res) => {
    const body = await readBody(req);
    const headerLength = parseHeaderLength(req.headers[HEADER_LENGTH.toLowerCase()]);
    seen.push({ method: req.method!, url: req.url!, headers: req.headers, binary: headerLength !== undefined });
    const json = (status: number, v: unknown) => res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(v));
    if (req.url === "/v2/health/live") return res.writeHead(200).end();
    if (req.url === "/v2/health/ready") return res.writeHead(400).end();
    if (req.url === "/v2") return json(200, { name: "stub", version: "0", extensions: ["binary_tensor_data"] });
    if (req.url === "/v2/repository/index") return json(200, [{ name: "m", version: "1", state: "READY", reason: "" }, { name: "echo", body: new TextDecoder().decode(body) }]);
    if (req.url === "/v2/models/slow") return setTimeout(() => json(200, {}), 2000);
    if (req.url === "/v2/models/plain-text") return res.writeHead(502).end("bad gateway");
    if (req.url === "/v2/models/double/infer") {
      const r = decodeInferRequest(body, headerLength);
      const x = r.inputs[0]!.data as Float32Array;
      const y: Tensor = { name: "y", datatype: "FP32", shape: r.inputs[0]!.shape, data: x.map((v) => v * 2) };
      const n: Tensor = { name: "n", datatype: "INT64", shape: [1], data: BigInt64Array.from([BigInt(x.length)]) };
      const all = [y, n].filter((t) => !r.outputs || r.outputs.some((o) => o.name === t.name));
      const enc = encodeInferResponse({ model_name: "double", model_version: "1", ...(r.id ? { id: r.id } : {}), outputs: all.map((t) => ({ tensor: t, binary: binaryOutput(r, r.outputs?.find((o) => o.name === t.name)) })) });
      res.writeHead(200, { "content-type": "application/octet-stream", ...(enc.headerLength !== undefined ? { [HEADER_LENGTH]: enc.headerLength } : {}) });
      return res.end(concatParts(enc));
    }
    json(404, { error: `Request for unknown model: '${decodeURIComponent(req.url!.split("/")[3] ?? "")}' is not found` });
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => {
  server.closeAllConnections();
  server.close();
});

const x: Tensor = { name: "x", datatype: "FP32", shape: [1, 3], data: Float32Array.from([1, 2.5, -4]) };

for (const transport of ["http", "fetch"] as TransportKind[]) {
  describe(`client over ${transport}`, () => {
    it("health, server metadata, the index; extra headers go on every request", async () => {
      const c = new KServeClient(`${url}/`, { transport, headers: { "triton-repo-key": "s3cret" } });
      seen.length = 0;
      expect(c.url).toBe(url);
      expect(await c.live()).toBe(true);
      expect(await c.ready()).toBe(false);
      expect((await c.serverMetadata()).extensions).toContain("binary_tensor_data");
      const index = await c.repositoryIndex({ ready: true });
      expect(index[0]).toEqual({ name: "m", version: "1", state: "READY", reason: "" });
      expect(index[1]).toMatchObject({ body: '{"ready":true}' });
      expect(seen.map((s) => s.headers["triton-repo-key"])).toEqual(["s3cret", "s3cret", "s3cret", "s3cret"]);
      c.close();
    });

    it("infer sends binary tensors and reads binary outputs in the order asked", async () => {
      const c = new KServeClient(url, { transport });
      seen.length = 0;
      const [n, y] = await c.infer("double", [x], ["n", "y"]);
      expect(seen[0]!.binary).toBe(true);
      expect(Array.from(y!.data as Float32Array)).toEqual([2, 5, -8]);
      expect(n!.data[0]).toBe(3n);
      c.close();
    });

    it("JSON on request, id echoed, every output when none is named", async () => {
      const c = new KServeClient(url, { transport });
      seen.length = 0;
      const res = await c.inferRequest("double", { id: "req-9", inputs: [x] }, { encoding: "json" });
      expect(seen[0]!.binary).toBe(false);
      expect(res).toMatchObject({ model_name: "double", model_version: "1", id: "req-9" });
      expect(res.outputs.map((o) => o.name)).toEqual(["y", "n"]);
      expect(Array.from(res.outputs[0]!.data as Float32Array)).toEqual([2, 5, -8]);
      c.close();
    });

    it("an error answer carries the status, the path and the server's error text", async () => {
      const c = new KServeClient(url, { transport });
      const e = await c.modelMetadata("nope").catch((err: unknown) => err);
      expect(e).toBeInstanceOf(KServeHttpError);
      expect(e).toMatchObject({ status: 404, path: "/v2/models/nope", serverError: "Request for unknown model: 'nope' is not found" });
      expect(isUnreachable(e)).toBe(false);
      const t = await c.modelMetadata("plain-text").catch((err: unknown) => err);
      expect(t).toMatchObject({ status: 502, serverError: "bad gateway" });
      c.close();
    });

    it("a timeout and an abort end the call; a closed port is unreachable", async () => {
      const c = new KServeClient(url, { transport, timeoutMs: 150 });
      const started = Date.now();
      const e = await c.modelMetadata("slow").catch((err: unknown) => err);
      expect(e).toBeInstanceOf(KServeTimeoutError);
      expect(String(e)).toMatch(/GET \/v2\/models\/slow: no answer within 150 ms/);
      expect(Date.now() - started).toBeLessThan(1500);
      const ac = new AbortController();
      setTimeout(() => ac.abort(), 50);
      const a = await c.modelMetadata("slow", { signal: ac.signal, timeoutMs: 5000 }).catch((err: unknown) => err);
      expect((a as Error).name).toBe("AbortError");
      c.close();
      const closed = createServer().listen(0, "127.0.0.1");
      await once(closed, "listening");
      const port = (closed.address() as AddressInfo).port;
      await new Promise((r) => closed.close(r));
      const dead = new KServeClient(`http://127.0.0.1:${port}`, { transport });
      const u = await dead.live().catch((err: unknown) => err);
      expect(isUnreachable(u)).toBe(true);
      expect(describeError(u)).toMatch(/ECONNREFUSED/);
      dead.close();
    });
  });
}

describe("Prometheus text", () => {
  const text = [
    "# HELP nv_gpu_memory_used_bytes GPU used memory, in bytes",
    "# TYPE nv_gpu_memory_used_bytes gauge",
    'nv_gpu_memory_used_bytes{gpu_uuid="GPU-a"} 1.5e+09',
    'nv_gpu_memory_used_bytes{gpu_uuid="GPU-b"} 500000000',
    'nv_inference_request_success{model="midas_256",version="1"} 42 1700000000000',
    'weird{label="with \\"quote\\", comma"} +Inf',
    "not a sample line",
    "up 1",
  ].join("\n");

  it("parses every sample with labels, escapes, timestamps and special values", () => {
    const s = parsePrometheus(text);
    expect(s.map((x) => x.name)).toEqual(["nv_gpu_memory_used_bytes", "nv_gpu_memory_used_bytes", "nv_inference_request_success", "weird", "up"]);
    expect(s[2]).toEqual({ name: "nv_inference_request_success", labels: { model: "midas_256", version: "1" }, value: 42, timestampMs: 1700000000000 });
    expect(s[3]).toEqual({ name: "weird", labels: { label: 'with "quote", comma' }, value: Infinity });
    expect(promValue(s, "nv_gpu_memory_used_bytes")).toBe(2e9);
    expect(promValue(s, "nv_gpu_memory_used_bytes", { gpu_uuid: "GPU-b" })).toBe(5e8);
    expect(promValue(s, "nv_gpu_utilization")).toBeUndefined();
  });
});
