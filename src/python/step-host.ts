// A generated Python-backend model.py, run by real python3 with numpy in a persistent child process
// (src/python/step_host.py), as Triton's Python backend runs it beside the server. Requests are
// serialized: one at a time per process, like one Triton model instance.
import { spawn, type ChildProcessByStdio } from "node:child_process";
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
  outputs?: { name: string; dtype: string; shape: number[]; size: number }[];
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

  private constructor(private readonly child: ChildProcessByStdio<Writable, Readable, Readable>) {
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
  static async start(modelPy: string, args: Record<string, string>, python = process.env.PYTHON ?? "python3"): Promise<PythonStep> {
    const child = spawn(python, ["-u", HOST], { stdio: ["pipe", "pipe", "pipe"] });
    const step = new PythonStep(child);
    await new Promise<void>((resolve, reject) => {
      child.once("spawn", () => resolve());
      child.once("error", (e) => reject(new PythonStepError(`cannot start ${python}: ${e.message}`)));
    });
    await step.call({ op: "init", model_py: modelPy, args, dtypes: tritonToNumpy() }, []);
    return step;
  }

  /** Runs execute() on one request; rejects with the model's error message. */
  execute(inputs: HostTensor[], outputs: string[] = []): Promise<HostTensor[]> {
    const header = {
      op: "execute",
      inputs: inputs.map((t) => ({ name: t.name, numpy: dtypeInfo(t.dtype).numpy, shape: t.shape, size: t.data.byteLength })),
      outputs,
    };
    return this.call(header, inputs.map((t) => t.data));
  }

  get alive(): boolean {
    return this.exited === undefined;
  }

  /** Runs finalize() and waits for the process to end (kills it after a grace period). */
  async close(graceMs = 2000): Promise<void> {
    if (!this.alive) return;
    const done = new Promise<void>((resolve) => this.child.once("exit", () => resolve()));
    const timer = setTimeout(() => this.child.kill("SIGKILL"), graceMs);
    try {
      await Promise.race([this.call({ op: "finalize" }, []).catch(() => undefined), done]);
      this.child.stdin.end();
      await done;
    } finally {
      clearTimeout(timer);
    }
  }

  kill(): void {
    if (this.alive) this.child.kill("SIGKILL");
  }

  private call(header: object, blobs: Uint8Array[]): Promise<HostTensor[]> {
    const run = this.queue.then(() => this.roundTrip(header, blobs));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async roundTrip(header: object, blobs: Uint8Array[]): Promise<HostTensor[]> {
    if (this.exited) throw new PythonStepError(this.exited);
    const json = Buffer.from(JSON.stringify(header));
    const len = Buffer.alloc(4);
    len.writeUInt32LE(json.length);
    // Part by part: the tensors go to the pipe from where they are, not copied into one frame first.
    const stdin = this.child.stdin;
    stdin.cork();
    stdin.write(len);
    stdin.write(json);
    for (const b of blobs) if (b.byteLength > 0) stdin.write(b);
    stdin.uncork();
    const reply = await this.nextFrame<ReplyHeader>();
    if (!reply.header.ok) throw new PythonStepError(reply.header.error ?? "the Python step failed");
    return reply.tensors;
  }

  private nextFrame<H extends ReplyHeader>(): Promise<{ header: H; tensors: HostTensor[] }> {
    return new Promise((resolve, reject) => {
      this.waiting = () => {
        try {
          const frame = this.frames.next();
          if (frame) {
            this.waiting = undefined;
            resolve({ header: frame.header as H, tensors: frame.blobs.map((data, i) => hostTensor(frame.header.outputs![i]!, data)) });
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
  /** The frame being read: its header, its tensors, which one is filling and how far. */
  private header: ReplyHeader | undefined;
  private blobs: Uint8Array[] = [];
  private index = 0;
  private fill = 0;

  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
  }

  /** The next complete frame, or undefined until all its bytes have arrived. */
  next(): { header: ReplyHeader; blobs: Uint8Array[] } | undefined {
    if (!this.header) {
      if (this.buffered < 4) return undefined;
      const len = this.take(4).readUInt32LE(0);
      if (this.buffered < len) {
        this.unshift(len);
        return undefined;
      }
      this.header = JSON.parse(this.take(len).toString()) as ReplyHeader;
      this.blobs = (this.header.outputs ?? []).map((o) => new Uint8Array(o.size));
      this.index = 0;
      this.fill = 0;
    }
    while (this.index < this.blobs.length) {
      const blob = this.blobs[this.index]!;
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
