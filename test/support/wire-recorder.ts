// A recording HTTP proxy in front of a server: every request is read whole, recorded as it arrived
// (method, path, headers, and for inference the JSON header of the body, split at
// Inference-Header-Content-Length), then forwarded unchanged and the answer passed back. Tests point
// the tools at it to check what they put on the wire, not what their objects held.
import { once } from "node:events";
import { createServer, request, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";

export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  /** The JSON part of the body (all of it without Inference-Header-Content-Length), parsed; undefined for an empty body. */
  json?: unknown;
  /** The answer's status. */
  status?: number;
  /** Whether the answer carried binary tensors (an Inference-Header-Content-Length header). */
  binaryAnswer?: boolean;
}

export interface WireRecorder {
  url: string;
  requests: RecordedRequest[];
  /** The inference requests recorded so far. */
  inferences(): (RecordedRequest & { json: { outputs?: { name: string; parameters?: Record<string, unknown> }[]; parameters?: Record<string, unknown> } })[];
  close(): Promise<void>;
}

export async function startWireRecorder(target: string): Promise<WireRecorder> {
  const t = new URL(target);
  const requests: RecordedRequest[] = [];
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks);
    const headerLength = Number(req.headers["inference-header-content-length"] ?? body.length);
    const entry: RecordedRequest = { method: req.method!, path: req.url!, headers: req.headers };
    if (body.length > 0) {
      try {
        entry.json = JSON.parse(body.subarray(0, headerLength).toString("utf8"));
      } catch {
        entry.json = undefined;
      }
    }
    requests.push(entry);
    const out = request({ hostname: t.hostname, port: t.port, path: req.url, method: req.method, headers: req.headers }, (answer) => {
      entry.status = answer.statusCode;
      entry.binaryAnswer = answer.headers["inference-header-content-length"] !== undefined;
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    out.on("error", (e) => {
      res.writeHead(502, { "content-type": "application/json" });
      res.end(JSON.stringify({ error: `wire recorder: ${e.message}` }));
    });
    out.end(body);
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    requests,
    inferences: () => requests.filter((r) => r.method === "POST" && /\/infer$/.test(r.path)) as ReturnType<WireRecorder["inferences"]>,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
