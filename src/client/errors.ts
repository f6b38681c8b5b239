// What can go wrong talking to a KServe-v2 server, told apart: the server answered with an error
// status (KServeHttpError: status, path and the server's own `error` text; a 403 from a restricted API
// says which --header to pass), the server is not there (isUnreachable), or the caller's deadline
// passed (KServeTimeoutError).

/** Triton's answer to a request without a restricted API's header (server src/http_server.cc, r24.08). */
const RESTRICTED = /This API is restricted, expecting header '([^']+)'/;

/** A non-2xx answer; `serverError` is the `{"error": …}` text (or the raw body when it is not JSON). */
export class KServeHttpError extends Error {
  constructor(
    readonly status: number,
    readonly method: string,
    readonly path: string,
    readonly serverError: string,
  ) {
    super(`${method} ${path}: HTTP ${status}: ${restrictedHint(status, serverError) ?? serverError}`);
    this.name = "KServeHttpError";
  }
}

/** "this API is restricted: pass --header NAME=…" for a 403, with the server's own words after it. */
function restrictedHint(status: number, serverError: string): string | undefined {
  if (status !== 403) return undefined;
  const header = RESTRICTED.exec(serverError)?.[1];
  return `this API is restricted: pass --header ${header ?? "NAME"}=… (server: ${serverError})`;
}

/** The request ran past its timeout. */
export class KServeTimeoutError extends Error {
  constructor(
    readonly method: string,
    readonly path: string,
    readonly timeoutMs: number,
  ) {
    super(`${method} ${path}: no answer within ${timeoutMs} ms`);
    this.name = "KServeTimeoutError";
  }
}

export function isKServeHttpError(e: unknown): e is KServeHttpError {
  return e instanceof KServeHttpError;
}

/** A 403: the API is restricted and the request lacked its header, which asking again cannot change. */
export function isRestricted(e: unknown): boolean {
  return e instanceof KServeHttpError && e.status === 403;
}

const UNREACHABLE_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "EPIPE",
  "ENOTFOUND",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EAI_AGAIN",
  "UND_ERR_SOCKET",
  "UND_ERR_CONNECT_TIMEOUT",
  "ERR_SOCKET_CONNECTION_TIMEOUT",
]);

/** True for errors meaning the server is not there (refused, reset, DNS), not an HTTP error answer nor a timeout. */
export function isUnreachable(e: unknown): boolean {
  for (let c: unknown = e, depth = 0; c && depth < 5; c = (c as { cause?: unknown }).cause, depth++) {
    if (c instanceof KServeHttpError || c instanceof KServeTimeoutError) return false;
    const code = (c as { code?: unknown }).code;
    if (typeof code === "string" && UNREACHABLE_CODES.has(code)) return true;
    if (c instanceof Error && /fetch failed|socket hang up|other side closed/.test(c.message)) return true;
  }
  return false;
}

/**
 * Why a server did not answer as hoped, for a command's error line: "cannot reach … at URL" only when
 * nothing answered (refused, reset, DNS); an answer with an error status (a 403 of a restricted API,
 * a 404) is said as what it is.
 */
export function serverProblem(url: string, e: unknown): string {
  return isUnreachable(e) ? `cannot reach a KServe-v2 server at ${url}: ${describeError(e)}` : `the server at ${url} answered: ${describeError(e)}`;
}

/** One line describing an error, following `cause` (fetch and node:http wrap the socket error). */
export function describeError(e: unknown): string {
  const parts: string[] = [];
  for (let c: unknown = e, depth = 0; c && depth < 4; c = (c as { cause?: unknown }).cause, depth++) {
    const msg = c instanceof Error ? c.message : String(c);
    const code = (c as { code?: unknown }).code;
    const text = typeof code === "string" && !msg.includes(code) ? `${msg} (${code})` : msg;
    if (!parts.includes(text)) parts.push(text);
  }
  return parts.join(": ");
}
