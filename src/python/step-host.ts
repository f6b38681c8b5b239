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
  private buffer = Buffer.alloc(0);
  private waiting: ((frame: Buffer) => void) | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private exited: string | undefined;
  private stderrTail = "";

  private constructor(private readonly child: ChildProcessByStdio<Writable, Readable, Readable>) {
    child.stdout.on("data", (chunk: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, chunk]);
      this.deliver();
    });
    child.stderr.on("data", (chunk: Buffer) => {
      this.stderrTail = (this.stderrTail + chunk.toString()).slice(-4000);
    });
    child.on("exit", (code, signal) => {
      this.exited = `python3 exited (${signal ?? `code ${code}`})${this.stderrTail ? `: ${this.stderrTail.trim().split("\n").slice(-3).join(" | ")}` : ""}`;
      this.waiting?.(Buffer.alloc(0));
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
    this.child.stdin.write(Buffer.concat([len, json, ...blobs.map((b) => Buffer.from(b.buffer, b.byteOffset, b.byteLength))]));
    const reply = await this.nextFrame<ReplyHeader>();
    if (!reply.header.ok) throw new PythonStepError(reply.header.error ?? "the Python step failed");
    return reply.tensors;
  }

  private nextFrame<H extends ReplyHeader>(): Promise<{ header: H; tensors: HostTensor[] }> {
    return new Promise((resolve, reject) => {
      this.waiting = () => {
        if (this.exited && this.buffer.length === 0) {
          this.waiting = undefined;
          reject(new PythonStepError(this.exited));
          return;
        }
        try {
          const frame = this.parse<H>();
          if (!frame) return;
          this.waiting = undefined;
          resolve(frame);
        } catch (e) {
          this.waiting = undefined;
          reject(e instanceof Error ? e : new PythonStepError(String(e)));
        }
      };
      this.deliver();
    });
  }

  private deliver(): void {
    this.waiting?.(this.buffer);
  }

  /** One complete reply frame from the buffer, or undefined until all its bytes have arrived. */
  private parse<H extends ReplyHeader>(): { header: H; tensors: HostTensor[] } | undefined {
    if (this.buffer.length < 4) return undefined;
    const len = this.buffer.readUInt32LE(0);
    if (this.buffer.length < 4 + len) return undefined;
    const header = JSON.parse(this.buffer.subarray(4, 4 + len).toString()) as H;
    const sizes = (header.outputs ?? []).map((o) => o.size);
    const total = 4 + len + sizes.reduce((a, b) => a + b, 0);
    if (this.buffer.length < total) return undefined;
    let at = 4 + len;
    const tensors = (header.outputs ?? []).map((o) => {
      const data = new Uint8Array(this.buffer.subarray(at, at + o.size));
      at += o.size;
      const dtype = NUMPY_TO_DTYPE.get(o.dtype);
      if (!dtype) throw new PythonStepError(`output ${o.name} has numpy dtype ${o.dtype}, which has no KServe counterpart`);
      return { name: o.name, dtype, shape: o.shape, data };
    });
    this.buffer = this.buffer.subarray(total);
    return { header, tensors };
  }
}
