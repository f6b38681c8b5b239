// Writing answers: JSON, `{"error": …}`, and encoded inference bodies written part by part (the
// tensors are never copied into one buffer). A refused oversized body also closes the connection,
// since the rest of that body is never read.
import type { ServerResponse } from "node:http";
import { HEADER_LENGTH, type EncodedBody } from "../kserve/index.ts";

export function sendJson(res: ServerResponse, status: number, value: unknown, headers: Record<string, string> = {}): void {
  const body = Buffer.from(JSON.stringify(value));
  if (res.headersSent) return void res.destroy();
  res.writeHead(status, { "content-type": "application/json", "content-length": body.length, ...headers });
  res.end(body);
}

export function sendEmpty(res: ServerResponse, status: number): void {
  res.writeHead(status, { "content-length": 0 });
  res.end();
}

export function sendError(res: ServerResponse, status: number, message: string, headers: Record<string, string> = {}): void {
  sendJson(res, status, { error: message }, headers);
}

/** A body that has not been read to its end: answer, then close the connection once the answer is out. */
export function sendErrorAndClose(res: ServerResponse, status: number, message: string): void {
  res.shouldKeepAlive = false;
  sendError(res, status, message, { connection: "close" });
  // Closing at once with unread bytes in the socket makes the kernel send RST, which can overtake
  // the answer; give the client a moment to read it, then drop the connection.
  res.once("finish", () => setTimeout(() => res.socket?.destroy(), 200).unref());
}

export function sendEncoded(res: ServerResponse, status: number, body: EncodedBody): void {
  const headers: Record<string, string | number> = { "content-length": body.byteLength };
  if (body.headerLength !== undefined) {
    headers["content-type"] = "application/octet-stream";
    headers[HEADER_LENGTH] = body.headerLength;
  } else headers["content-type"] = "application/json";
  res.writeHead(status, headers);
  res.cork();
  for (const p of body.parts) res.write(p);
  res.uncork();
  res.end();
}
