// A request the protocol layer refuses. The message is what the caller sees in `{"error": …}`; the
// status is the HTTP status a server answers with (400 unless the problem is of another kind).

export class ProtocolError extends Error {
  constructor(
    message: string,
    readonly status = 400,
  ) {
    super(message);
    this.name = "ProtocolError";
  }
}

export function isProtocolError(e: unknown): e is ProtocolError {
  return e instanceof ProtocolError;
}
