// How the client's bytes travel. Default: node:http with a keep-alive agent, writing the encoded body's
// parts one after another (no concatenation) and reading the answer into one buffer sized by
// Content-Length (no chunk list to concatenate; a fresh buffer, so tensors in it are aligned).
// Alternative: the global fetch (undici), kept to compare — see benchmarks/serve-overhead.ts for the
// loopback figures that made node:http the default.
import http from "node:http";
import https from "node:https";
import { concatParts, type EncodedBody } from "../kserve/index.ts";
import { KServeTimeoutError } from "./errors.ts";

export interface RawRequest {
  method: "GET" | "POST";
  path: string;
  headers: Record<string, string>;
  body?: EncodedBody;
  signal?: AbortSignal;
  timeoutMs?: number;
}

export interface RawResponse {
  status: number;
  /** Lower-case header names. */
  header(name: string): string | undefined;
  body: Uint8Array;
}

export interface Transport {
  send(r: RawRequest): Promise<RawResponse>;
  close(): void;
}

export type TransportKind = "http" | "fetch";

/** The caller's signal and the timeout as one signal, and how to tell a timeout from the caller's abort. */
function deadline(r: RawRequest): { signal?: AbortSignal; timedOut: () => boolean } {
  if (r.timeoutMs === undefined) return { ...(r.signal ? { signal: r.signal } : {}), timedOut: () => false };
  const t = AbortSignal.timeout(r.timeoutMs);
  return { signal: r.signal ? AbortSignal.any([r.signal, t]) : t, timedOut: () => t.aborted };
}

function rethrow(e: unknown, r: RawRequest, timedOut: () => boolean): never {
  if (timedOut()) throw new KServeTimeoutError(r.method, r.path, r.timeoutMs!);
  throw e;
}

export function httpTransport(base: URL, maxSockets = 64): Transport {
  const mod = base.protocol === "https:" ? https : http;
  const agent = new mod.Agent({ keepAlive: true, maxSockets });
  const prefix = base.pathname.replace(/\/+$/, "");
  return {
    close: () => agent.destroy(),
    send(r) {
      const d = deadline(r);
      return new Promise<RawResponse>((resolve, reject) => {
        const headers: Record<string, string | number> = { ...r.headers };
        if (r.body) headers["content-length"] = r.body.byteLength;
        const req = mod.request(
          { protocol: base.protocol, hostname: base.hostname, port: base.port, path: prefix + r.path, method: r.method, headers, agent, ...(d.signal ? { signal: d.signal } : {}) },
          (res) => {
            const declared = Number(res.headers["content-length"]);
            const fixed = Number.isSafeInteger(declared) && declared >= 0 ? Buffer.allocUnsafeSlow(declared) : undefined;
            const chunks: Buffer[] = [];
            let at = 0;
            res.on("data", (c: Buffer) => {
              if (fixed && at + c.length <= fixed.length) c.copy(fixed, at);
              else chunks.push(c);
              at += c.length;
            });
            res.on("error", (e) => reject(e));
            res.on("end", () => {
              const body = fixed && chunks.length === 0 && at === fixed.length ? fixed : Buffer.concat(fixed ? [fixed.subarray(0, Math.min(at, fixed.length)), ...chunks] : chunks);
              const h = res.headers;
              resolve({ status: res.statusCode ?? 0, header: (n) => (Array.isArray(h[n]) ? (h[n] as string[]).join(",") : (h[n] as string | undefined)), body });
            });
          },
        );
        req.on("error", (e) => {
          try {
            rethrow(e, r, d.timedOut);
          } catch (x) {
            reject(x);
          }
        });
        if (r.body) {
          req.cork();
          for (const p of r.body.parts) req.write(p);
          req.uncork();
        }
        req.end();
      });
    },
  };
}

export function fetchTransport(base: URL): Transport {
  const prefix = base.toString().replace(/\/+$/, "");
  return {
    close: () => undefined,
    async send(r) {
      const d = deadline(r);
      try {
        const res = await fetch(prefix + r.path, {
          method: r.method,
          headers: r.headers,
          ...(r.body ? { body: concatParts(r.body) as Uint8Array<ArrayBuffer> } : {}),
          ...(d.signal ? { signal: d.signal } : {}),
        });
        const body = new Uint8Array(await res.arrayBuffer());
        return { status: res.status, header: (n) => res.headers.get(n) ?? undefined, body };
      } catch (e) {
        rethrow(e, r, d.timedOut);
      }
    },
  };
}
