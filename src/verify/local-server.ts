// serve-local as a child process, for the demo and the gate's integration tests: start it on a port
// (0 = any free one), wait for its ready line `serve-local: listening on http://HOST:PORT (…)`, and
// stop it (SIGTERM to its process group, SIGKILL after a grace period). The child runs in its own
// process group so npm, tsx and node go together and nothing outlives the caller's intent.
import { spawn, type ChildProcess } from "node:child_process";

export const READY_LINE = /serve-local: listening on (https?:\/\/\S+)/;
/** The line before it when metrics are on: `serve-local: metrics on http://HOST:PORT/metrics`. */
export const METRICS_LINE = /serve-local: metrics on (https?:\/\/\S+)/;

export interface LocalServerOptions {
  /** Repository written by synth-repo. */
  repo: string;
  /** --load-model per name; none means serve-local's default (every model). */
  loadModels?: readonly string[];
  /** @default 0 (a free port) */
  port?: number;
  /** serve-local's --metrics-port. @default 0 (a free port: never the 8002 another server may hold) */
  metricsPort?: number;
  /** Extra serve-local flags. */
  extraArgs?: readonly string[];
  /** Command that runs serve-local. @default ["npm", "run", "--silent", "serve-local", "--"] */
  command?: readonly string[];
  /** Working directory (the project root). @default process.cwd() */
  cwd?: string;
  /** How long to wait for the ready line. @default 120000 */
  readyTimeoutMs?: number;
  /** Each line serve-local prints (stdout and stderr). */
  onLine?: (line: string) => void;
}

export interface LocalServer {
  url: string;
  /** Its Prometheus endpoint, when metrics are on. */
  metricsUrl?: string;
  pid: number;
  child: ChildProcess;
  /** The last lines it printed, for error messages. */
  tail(): string;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves when it has exited. */
  stop(graceMs?: number): Promise<void>;
}

export function serveLocalArgs(o: Pick<LocalServerOptions, "repo" | "loadModels" | "port" | "metricsPort" | "extraArgs">): string[] {
  return ["--repo", o.repo, "--port", String(o.port ?? 0), "--metrics-port", String(o.metricsPort ?? 0), ...(o.loadModels ?? []).flatMap((m) => ["--load-model", m]), ...(o.extraArgs ?? [])];
}

/**
 * Signals the process group the child leads (spawned detached). The group outlives its leader: npm
 * exits on SIGTERM before the serve-local it ran has finished closing, so this does not stop at the
 * leader's exit.
 */
function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    if (child.exitCode !== null || child.signalCode !== null) return; // the whole group is gone
    try {
      child.kill(signal);
    } catch {
      // already gone
    }
  }
}

export async function startServeLocal(o: LocalServerOptions): Promise<LocalServer> {
  const [cmd, ...pre] = o.command ?? ["npm", "run", "--silent", "serve-local", "--"];
  const child = spawn(cmd!, [...pre, ...serveLocalArgs(o)], { cwd: o.cwd ?? process.cwd(), detached: true, stdio: ["ignore", "pipe", "pipe"], env: process.env });
  const lines: string[] = [];
  const tail = () => lines.slice(-30).join("\n");
  // "close" comes once the child has exited and every process writing to its output has too: the
  // serve-local that npm ran, which prints its last lines while it closes, after npm has gone.
  const closed = new Promise<void>((resolve) => child.once("close", () => resolve()));
  const stop = async (graceMs = 5000) => {
    signalGroup(child, "SIGTERM");
    const timer = setTimeout(() => signalGroup(child, "SIGKILL"), graceMs);
    await closed;
    clearTimeout(timer);
    // whatever else is left in the group (e.g. Python step hosts) goes too
    signalGroup(child, "SIGKILL");
  };

  let metricsUrl: string | undefined;
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new Error(`serve-local printed no ready line within ${(o.readyTimeoutMs ?? 120_000) / 1000} s; last output:\n${tail()}`));
    }, o.readyTimeoutMs ?? 120_000);
    const onData = (chunk: Buffer) => {
      for (const line of chunk.toString("utf8").split(/\r?\n/)) {
        if (!line) continue;
        lines.push(line);
        if (lines.length > 200) lines.shift();
        o.onLine?.(line);
        metricsUrl ??= METRICS_LINE.exec(line)?.[1];
        const m = READY_LINE.exec(line);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]!.replace(/[),.;]+$/, ""));
        }
      }
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    child.once("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`serve-local exited (${signal ?? `code ${code}`}) before it was ready; last output:\n${tail()}`));
    });
  }).catch(async (e: unknown) => {
    await stop(1000);
    throw e;
  });
  return { url, ...(metricsUrl ? { metricsUrl } : {}), pid: child.pid!, child, tail, stop };
}
