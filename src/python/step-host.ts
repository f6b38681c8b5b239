// A generated Python-backend model.py, run by real python3 with numpy in a persistent child process
// (src/python/step_host.py), as Triton's Python backend runs it beside the server. Requests are
// serialized: one at a time per process, like one Triton model instance.
//
// Control frames (a 4-byte little-endian length, then a JSON header; step_host.py documents them)
// go over the child's stdin/stdout; tensor bytes go through one shared-memory file per process, as
// Triton's Python backend exchanges tensors through /dev/shm: the file is created in /dev/shm (else
// the OS temp dir), unlinked at once and handed to the child as its fd 3, so nothing is left behind
// however either process ends. Each input is one positioned write at a 64-byte-aligned offset the
// header names; the child maps the file, views inputs in place and writes each output once past
// them; each output is one positioned read into a buffer of its own (offset 0: aligned for any
// typed array, and never overwritten by the next request). A tensor the header gives no offset
// follows the header on the pipe, which is how everything travels when the file cannot be created
// or mapped, and how one request's tensors travel when the file has no room for them (a full
// tmpfs); `onFallback` is told why, once per step and reason.
import { spawn, type ChildProcessByStdio } from "node:child_process";
import { randomBytes } from "node:crypto";
import { closeSync, existsSync, openSync, readSync, unlinkSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { Readable, Writable } from "node:stream";
import { DTYPES, dtypeInfo, type DType } from "../dtype.ts";

const HOST = fileURLToPath(new URL("./step_host.py", import.meta.url));

export interface HostTensor {
  name: string;
  dtype: DType;
  shape: number[];
  /** Raw little-endian bytes, row-major. */
  data: Uint8Array;
}

interface ReplyHeader {
  ok: boolean;
  error?: string;
  /** init: whether the child mapped the shared file, and why not. */
  shm?: boolean;
  shm_error?: string;
  /** execute: why the outputs are on the pipe though the file is mapped (it could not grow). */
  shm_full?: string;
  /** execute: an output with an offset is in the shared file, one without follows on the pipe. */
  outputs?: { name: string; dtype: string; shape: number[]; size: number; offset?: number }[];
}

export interface StepOptions {
  /** Folder for the shared-memory file; null: pipes only. Default: /dev/shm where it exists, else the OS temp dir. */
  shmDir?: string | null;
  /** Told, in one sentence, when this step's tensors go over its pipes instead of shared memory, and why. */
  onFallback?: (why: string) => void;
}

/** The shared file's fd in the child (after stdin, stdout, stderr). */
const CHILD_SHM_FD = 3;
/** Input offsets are multiples of this (numpy views need at most 16; 64 is a cache line). */
const ALIGN = 64;

export function defaultShmDir(): string {
  return existsSync("/dev/shm") ? "/dev/shm" : tmpdir();
}

/** A new file in dir, open read-write and already unlinked: it lives exactly as long as its fds. */
function openUnlinked(dir: string): number {
  const file = path.join(dir, `triton-deploy-step-${process.pid}-${randomBytes(6).toString("hex")}`);
  const fd = openSync(file, "wx+", 0o600);
  try {
    unlinkSync(file);
  } catch (e) {
    closeSync(fd);
    throw e;
  }
  return fd;
}

export class PythonStepError extends Error {}

const NUMPY_TO_DTYPE = new Map<string, DType>(DTYPES.filter((d) => d !== "BF16" && d !== "BYTES").map((d) => [dtypeInfo(d).numpy, d]));
NUMPY_TO_DTYPE.set("bool", "BOOL");

function tritonToNumpy(): Record<string, string> {
  return Object.fromEntries(DTYPES.map((d) => [dtypeInfo(d).triton, dtypeInfo(d).numpy]));
}

export class PythonStep {
  private readonly frames = new FrameReader();
  private waiting: (() => void) | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private exited: string | undefined;
  private stderrTail = "";
  /** The shared file while the child has it mapped; undefined: tensors go over the pipes. */
  private shm: number | undefined;
  private toldFull = false;

  private constructor(
    private readonly child: ChildProcessByStdio<Writable, Readable, Readable>,
    private shmFd: number | undefined,
    private readonly shmDir: string,
    private readonly onFallback: ((why: string) => void) | undefined,
  ) {
    // Closed once stdout has ended too, so no reply that is still arriving reads a closed (or reused) fd.
    child.once("close", () => this.closeShm());
    child.stdout.on("data", (chunk: Buffer) => {
      this.frames.push(chunk);
      this.deliver();
    });
    child.stderr.on("data", (chunk: Buffer) => {
      this.stderrTail = (this.stderrTail + chunk.toString()).slice(-4000);
    });
    child.on("exit", (code, signal) => {
      this.exited = `python3 exited (${signal ?? `code ${code}`})${this.stderrTail ? `: ${this.stderrTail.trim().split("\n").slice(-3).join(" | ")}` : ""}`;
      this.waiting?.();
    });
    child.stdin.on("error", () => undefined);
  }

  /** Starts python3 on a model.py and runs its initialize(args). */
  static async start(modelPy: string, args: Record<string, string>, python = process.env.PYTHON ?? "python3", options: StepOptions = {}): Promise<PythonStep> {
    const dir = options.shmDir === undefined ? defaultShmDir() : options.shmDir;
    let fd: number | undefined;
    if (dir !== null) {
      try {
        fd = openUnlinked(dir);
      } catch (e) {
        options.onFallback?.(`cannot create a file in ${dir} (${e instanceof Error ? e.message : String(e)}): tensors go over the pipes, not shared memory`);
      }
    }
    let child: ChildProcessByStdio<Writable, Readable, Readable>;
    try {
      child = spawn(python, ["-u", HOST], { stdio: ["pipe", "pipe", "pipe", ...(fd === undefined ? [] : [fd])] }) as ChildProcessByStdio<Writable, Readable, Readable>;
    } catch (e) {
      if (fd !== undefined) closeSync(fd);
      throw e;
    }
    const step = new PythonStep(child, fd, dir ?? "", options.onFallback);
    await new Promise<void>((resolve, reject) => {
      child.once("spawn", () => resolve());
      child.once("error", (e) => {
        step.closeShm();
        reject(new PythonStepError(`cannot start ${python}: ${e.message}`));
      });
    });
    let init: ReplyHeader;
    try {
      init = await step.control({ op: "init", model_py: modelPy, args, dtypes: tritonToNumpy(), ...(fd === undefined ? {} : { shm_fd: CHILD_SHM_FD }) });
    } catch (e) {
      step.kill(); // nobody holds a step that did not start: its process (and file) must not outlive it
      throw e;
    }
    if (init.shm) step.shm = step.shmFd; // undefined if the process has already gone
    else if (fd !== undefined) {
      step.closeShm();
      options.onFallback?.(`python3 cannot map a file in ${dir} (${init.shm_error ?? "no reason given"}): tensors go over the pipes, not shared memory`);
    }
    return step;
  }

  /** Runs execute() on one request; rejects with the model's error message. */
  execute(inputs: HostTensor[], outputs: string[] = []): Promise<HostTensor[]> {
    return this.call(async () => {
      const { header, blobs } = this.placeInputs(inputs);
      return this.readOutputs(await this.roundTrip({ op: "execute", inputs: header, outputs }, blobs));
    });
  }

  get alive(): boolean {
    return this.exited === undefined;
  }

  /** Whether tensors travel through shared memory (false: over the pipes). */
  get sharedMemory(): boolean {
    return this.shm !== undefined;
  }

  /** Runs finalize() and waits for the process to end (kills it after a grace period). */
  async close(graceMs = 2000): Promise<void> {
    if (!this.alive) return;
    const done = new Promise<void>((resolve) => this.child.once("exit", () => resolve()));
    const timer = setTimeout(() => this.child.kill("SIGKILL"), graceMs);
    try {
      await Promise.race([this.control({ op: "finalize" }).catch(() => undefined), done]);
      this.child.stdin.end();
      await done;
    } finally {
      clearTimeout(timer);
    }
  }

  kill(): void {
    if (this.alive) this.child.kill("SIGKILL");
  }

  /** Runs one exchange after the ones before it: the child serves one request at a time. */
  private call<T>(exchange: () => Promise<T>): Promise<T> {
    const run = this.queue.then(exchange);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private control(header: object): Promise<ReplyHeader> {
    return this.call(() => this.roundTrip(header, []).then((r) => r.header));
  }

  /**
   * Each input in the shared file (one positioned write each, past the one before, 64-byte aligned),
   * or, when there is no file or it cannot take them (e.g. the tmpfs is full), all of them on the pipe.
   */
  private placeInputs(inputs: HostTensor[]): { header: object[]; blobs: Uint8Array[] } {
    const header = inputs.map((t) => ({ name: t.name, numpy: dtypeInfo(t.dtype).numpy, shape: t.shape, size: t.data.byteLength }));
    if (this.shm !== undefined) {
      try {
        let cursor = 0;
        const offsets = inputs.map((t) => {
          const offset = Math.ceil(cursor / ALIGN) * ALIGN;
          for (let done = 0; done < t.data.byteLength; ) done += writeSync(this.shm!, t.data, done, t.data.byteLength - done, offset + done);
          cursor = offset + t.data.byteLength;
          return offset;
        });
        return { header: header.map((h, i) => (h.size > 0 ? { ...h, offset: offsets[i]! } : h)), blobs: [] };
      } catch (e) {
        // No room (ENOSPC) or the like: this request's inputs go on the pipe, the next one tries again.
        this.full(e instanceof Error ? e.message : String(e));
      }
    }
    return { header, blobs: inputs.map((t) => t.data) };
  }

  private full(why: string): void {
    if (this.toldFull) return;
    this.toldFull = true;
    this.onFallback?.(`no room in ${this.shmDir} for a request's tensors (${why}): those that do not fit go over the pipes`);
  }

  /** The reply's tensors: those in the shared file copied out with one positioned read each. */
  private readOutputs(reply: { header: ReplyHeader; blobs: (Uint8Array | undefined)[] }): HostTensor[] {
    if (reply.header.shm_full) this.full(reply.header.shm_full);
    return (reply.header.outputs ?? []).map((o, i) => {
      let data = reply.blobs[i];
      if (data === undefined) {
        if (this.shm === undefined || o.offset === undefined) throw new PythonStepError(`output ${o.name} is in shared memory, which this step does not use`);
        const own = Buffer.allocUnsafeSlow(o.size);
        for (let done = 0; done < o.size; ) {
          const n = readSync(this.shm, own, done, o.size - done, o.offset + done);
          if (n === 0) throw new PythonStepError(`output ${o.name}: the shared file ends before its ${o.size} bytes at offset ${o.offset}`);
          done += n;
        }
        data = own;
      }
      return hostTensor(o, data);
    });
  }

  private async roundTrip(header: object, blobs: Uint8Array[]): Promise<{ header: ReplyHeader; blobs: (Uint8Array | undefined)[] }> {
    if (this.exited) throw new PythonStepError(this.exited);
    const json = Buffer.from(JSON.stringify(header));
    const len = Buffer.alloc(4);
    len.writeUInt32LE(json.length);
    // Part by part: tensors on the pipe go from where they are, not copied into one frame first.
    const stdin = this.child.stdin;
    stdin.cork();
    stdin.write(len);
    stdin.write(json);
    for (const b of blobs) if (b.byteLength > 0) stdin.write(b);
    stdin.uncork();
    const reply = await this.nextFrame();
    if (!reply.header.ok) throw new PythonStepError(reply.header.error ?? "the Python step failed");
    return reply;
  }

  private closeShm(): void {
    const fd = this.shmFd;
    this.shmFd = this.shm = undefined;
    if (fd !== undefined) closeSync(fd);
  }

  private nextFrame(): Promise<{ header: ReplyHeader; blobs: (Uint8Array | undefined)[] }> {
    return new Promise((resolve, reject) => {
      this.waiting = () => {
        try {
          const frame = this.frames.next();
          if (frame) {
            this.waiting = undefined;
            resolve(frame);
          } else if (this.exited) {
            this.waiting = undefined;
            reject(new PythonStepError(this.exited));
          }
        } catch (e) {
          this.waiting = undefined;
          reject(e instanceof Error ? e : new PythonStepError(String(e)));
        }
      };
      this.deliver();
    });
  }

  private deliver(): void {
    this.waiting?.();
  }
}

function hostTensor(o: { name: string; dtype: string; shape: number[] }, data: Uint8Array): HostTensor {
  const dtype = NUMPY_TO_DTYPE.get(o.dtype);
  if (!dtype) throw new PythonStepError(`output ${o.name} has numpy dtype ${o.dtype}, which has no KServe counterpart`);
  return { name: o.name, dtype, shape: o.shape, data };
}

/**
 * Reply frames from stdout chunks, in linear time: each tensor's bytes are copied once, straight
 * from the chunks into a buffer of its own (offset 0, so aligned for any typed array), and nothing
 * is concatenated while a large reply is still arriving in 64 KiB pieces.
 */
class FrameReader {
  private chunks: Buffer[] = [];
  private buffered = 0;
  /** The frame being read: its header, its tensors on the pipe, which one is filling and how far. */
  private header: ReplyHeader | undefined;
  private blobs: (Uint8Array | undefined)[] = [];
  private index = 0;
  private fill = 0;

  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
  }

  /** The next complete frame, or undefined until all its bytes have arrived. */
  next(): { header: ReplyHeader; blobs: (Uint8Array | undefined)[] } | undefined {
    if (!this.header) {
      if (this.buffered < 4) return undefined;
      const len = this.take(4).readUInt32LE(0);
      if (this.buffered < len) {
        this.unshift(len);
        return undefined;
      }
      this.header = JSON.parse(this.take(len).toString()) as ReplyHeader;
      // undefined: in the shared file, read by the step.
      this.blobs = (this.header.outputs ?? []).map((o) => (o.offset === undefined ? new Uint8Array(o.size) : undefined));
      this.index = 0;
      this.fill = 0;
    }
    while (this.index < this.blobs.length) {
      const blob = this.blobs[this.index];
      if (blob === undefined) {
        this.index++;
        continue;
      }
      const n = Math.min(blob.byteLength - this.fill, this.buffered);
      if (n > 0) this.copyInto(blob, this.fill, n);
      this.fill += n;
      if (this.fill < blob.byteLength) return undefined;
      this.index++;
      this.fill = 0;
    }
    const frame = { header: this.header, blobs: this.blobs };
    this.header = undefined;
    this.blobs = [];
    return frame;
  }

  /** Consumes n buffered bytes into a Buffer of their own. */
  private take(n: number): Buffer {
    const out = Buffer.allocUnsafe(n);
    this.copyInto(out, 0, n);
    return out;
  }

  /** Puts a 4-byte length back in front (its header has not fully arrived yet). */
  private unshift(len: number): void {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(len, 0);
    this.chunks.unshift(b);
    this.buffered += 4;
  }

  /** Moves n buffered bytes into target at offset. */
  private copyInto(target: Uint8Array, offset: number, n: number): void {
    let at = offset;
    let left = n;
    while (left > 0) {
      const c = this.chunks[0]!;
      const k = Math.min(c.length, left);
      target.set(k === c.length ? c : c.subarray(0, k), at);
      at += k;
      left -= k;
      if (k === c.length) this.chunks.shift();
      else this.chunks[0] = c.subarray(k);
    }
    this.buffered -= n;
  }
}
