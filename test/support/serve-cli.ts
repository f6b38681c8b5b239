// serve-local as users start it: `node --import tsx scripts/serve-local.ts …` as a child process (no
// npm in between, so its pid is the server's), with its output collected, the ready line awaited,
// its Python children listed, and its RSS read from /proc.
import { spawn, execFileSync, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { REPO_ROOT } from "./serve-repo.ts";

export const READY = /^serve-local: listening on (http:\/\/\S+) \((\d+) models READY, (\d+) UNAVAILABLE\)$/m;

export interface CliServer {
  child: ChildProcess;
  pid: number;
  stdout(): string;
  stderr(): string;
  /** Resolves with the exit code (or the signal name). */
  exited: Promise<number | string>;
}

/** serve-local with `args`; metrics on a free port unless the args say otherwise (never the shared 8002). */
export function spawnServeLocal(args: readonly string[]): CliServer {
  const metrics = args.some((a) => a.startsWith("--metrics-port") || a.startsWith("--allow-metrics")) ? [] : ["--metrics-port", "0"];
  const child = spawn(process.execPath, ["--import", "tsx", join(REPO_ROOT, "scripts/serve-local.ts"), ...metrics, ...args], { cwd: REPO_ROOT, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  child.stdout!.on("data", (d: Buffer) => (out += d.toString("utf8")));
  child.stderr!.on("data", (d: Buffer) => (err += d.toString("utf8")));
  const exited = new Promise<number | string>((resolve) => child.once("exit", (code, signal) => resolve(code ?? signal ?? -1)));
  return { child, pid: child.pid!, stdout: () => out, stderr: () => err, exited };
}

/** The ready line's URL and counts, or a rejection with everything the server printed. */
export async function waitReady(s: CliServer, timeoutMs = 60_000): Promise<{ url: string; ready: number; unavailable: number }> {
  const deadline = Date.now() + timeoutMs;
  let done = false;
  void s.exited.then(() => (done = true));
  while (Date.now() < deadline) {
    const m = READY.exec(s.stdout());
    if (m) return { url: m[1]!, ready: Number(m[2]), unavailable: Number(m[3]) };
    if (done) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`serve-local printed no ready line\nstdout:\n${s.stdout()}\nstderr:\n${s.stderr()}`);
}

/** Direct children of a process (Linux: /proc/<pid>/task/<pid>/children). */
export function childPids(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return execFileSync("pgrep", ["-P", String(pid)], { encoding: "utf8" }).trim().split("\n").filter(Boolean).map(Number);
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Resident set size in bytes (Linux). */
export function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  if (!m) throw new Error(`no VmRSS for ${pid}`);
  return Number(m[1]) * 1024;
}
