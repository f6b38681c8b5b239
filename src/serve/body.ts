// Reading a request body with a size limit. A declared Content-Length over the limit is refused
// before a byte is read; a chunked body is refused as soon as it passes the limit. The body lands in
// one fresh buffer (allocated once from Content-Length), so binary tensors in it start at the offsets
// the sender aligned them to and can be viewed in place.
import type { IncomingMessage } from "node:http";
import { ProtocolError } from "../kserve/index.ts";

export class BodyTooLargeError extends ProtocolError {
  constructor(limit: number, size?: number) {
    super(`request body ${size !== undefined ? `of ${size} bytes ` : ""}exceeds the limit of ${limit} bytes (serve-local --max-body-mb)`, 413);
  }
}

export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = req.headers["content-length"];
  const length = declared === undefined ? undefined : Number(declared);
  if (length !== undefined && length > limit) return Promise.reject(new BodyTooLargeError(limit, length));
  return new Promise<Buffer>((resolve, reject) => {
    const fixed = length !== undefined && Number.isSafeInteger(length) ? Buffer.allocUnsafeSlow(length) : undefined;
    const chunks: Buffer[] = [];
    let at = 0;
    const done = (e?: Error) => {
      req.off("data", onData);
      req.off("end", onEnd);
      req.off("error", onError);
      req.off("aborted", onAborted);
      if (e) reject(e);
    };
    const onData = (c: Buffer) => {
      if (at + c.length > limit) {
        req.pause(); // stop reading; the answer closes the connection
        done(new BodyTooLargeError(limit));
        return;
      }
      if (fixed) c.copy(fixed, at);
      else chunks.push(c);
      at += c.length;
    };
    const onEnd = () => {
      done();
      resolve(fixed ?? (chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, at)));
    };
    const onError = (e: Error) => done(e);
    const onAborted = () => done(new ProtocolError("the client aborted the request"));
    req.on("data", onData);
    req.on("end", onEnd);
    req.on("error", onError);
    req.on("aborted", onAborted);
  });
}
