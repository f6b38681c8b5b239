// The Python step host's framing, as serve-local relies on it, over both of its transports (shared
// memory, the default, and the pipes it falls back to): replies far larger than a pipe's buffer,
// several outputs of odd kinds in one reply (empty, 0-d, BOOL, INT64), requests queued back to back
// without their replies mixing, and a model error that leaves the process serving. Then what shared
// memory must guarantee: no file left behind, outputs that the next request cannot overwrite, a
// region that grows, and the fall-back to the pipes, with the reason, when no file can be mapped.
import { readdirSync, readlinkSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PythonStep, PythonStepError, type HostTensor, type StepOptions } from "../src/python/step-host.ts";

const MODEL_PY = `
import numpy as np
import triton_python_backend_utils as pb_utils

class TritonPythonModel:
    def initialize(self, args):
        self.name = args["model_name"]

    def execute(self, requests):
        responses = []
        for request in requests:
            x = pb_utils.get_input_tensor_by_name(request, "x").as_numpy()
            if x.size and x[0] == -1:
                responses.append(pb_utils.InferenceResponse(output_tensors=[], error=pb_utils.TritonError("negative input")))
                continue
            if x.size and x[0] == -2:
                responses.append(pb_utils.InferenceResponse(output_tensors=[pb_utils.Tensor("text", np.array([b"a", "b"], dtype=object))]))
                continue
            big = np.tile(x.astype(np.float32), 64)
            responses.append(pb_utils.InferenceResponse(output_tensors=[
                pb_utils.Tensor("big", big),
                pb_utils.Tensor("empty", np.zeros((0, 3), dtype=np.float32)),
                pb_utils.Tensor("scalar", np.array(x.size, dtype=np.int64)),
                pb_utils.Tensor("flags", (x % 2 == 0)[:5]),
            ]))
        return responses
`;

// Outputs that are not fresh contiguous arrays: the input itself, a transposed view of it, a
// big-endian copy (after a fresh output, which must not land where the input is read from); and
// whether the input arrived read-only, as it does from the pipe's bytes.
const VIEWS_PY = `
import numpy as np
import triton_python_backend_utils as pb_utils

class TritonPythonModel:
    def execute(self, requests):
        x = pb_utils.get_input_tensor_by_name(requests[0], "x").as_numpy()
        return [pb_utils.InferenceResponse(output_tensors=[
            pb_utils.Tensor("negated", -x),
            pb_utils.Tensor("same", x),
            pb_utils.Tensor("transposed", x.reshape(2, -1).T),
            pb_utils.Tensor("big_endian", x.astype(">i4")),
            pb_utils.Tensor("writeable", np.array(x.flags.writeable)),
        ])]
`;

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "serve-python-step-"));
  await writeFile(path.join(dir, "model.py"), MODEL_PY);
  await writeFile(path.join(dir, "views.py"), VIEWS_PY);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const input = (n: number, seed: number) => {
  const x = Int32Array.from({ length: n }, (_, i) => (i * 7 + seed) % 1000);
  return { x, tensor: { name: "x", dtype: "INT32" as const, shape: [n], data: new Uint8Array(x.buffer) } };
};
const int32s = (t: HostTensor) => new Int32Array(t.data.buffer, t.data.byteOffset, t.data.byteLength / 4);
const float32s = (t: HostTensor) => new Float32Array(t.data.buffer, t.data.byteOffset, t.data.byteLength / 4);

for (const [transport, options] of [
  ["shared memory", {}],
  ["the pipes", { shmDir: null }],
] as [string, StepOptions][]) {
  describe(`the Python step host, tensors through ${transport}`, () => {
    let step: PythonStep;
    beforeAll(async () => {
      step = await PythonStep.start(path.join(dir, "model.py"), { model_name: "framing", model_config: "{}" }, undefined, options);
    });
    afterAll(async () => {
      await step?.close();
    });

    it(`uses ${transport}`, () => {
      expect(step.sharedMemory).toBe(options.shmDir !== null);
    });

    it("returns a 16 MiB output, an empty, a 0-d, and a BOOL output in one reply, byte for byte", async () => {
      const { x, tensor } = input(65_536, 3); // big: 64 × 65,536 float32 = 16 MiB, far over a pipe's 64 KiB and the initial shared region
      const out = await step.execute([tensor]);
      expect(out.map((t) => [t.name, t.dtype, t.shape])).toEqual([
        ["big", "FP32", [64 * 65_536]],
        ["empty", "FP32", [0, 3]],
        ["scalar", "INT64", []],
        ["flags", "BOOL", [5]],
      ]);
      const big = float32s(out[0]!);
      expect(big.length).toBe(64 * x.length);
      for (const i of [0, 1, x.length - 1, x.length, 31 * x.length + 12_345, big.length - 1]) expect(big[i]).toBe(x[i % x.length]);
      expect(out[1]!.data.byteLength).toBe(0);
      expect(new BigInt64Array(out[2]!.data.buffer, out[2]!.data.byteOffset, 1)[0]).toBe(65_536n);
      expect([...out[3]!.data]).toEqual([...x.slice(0, 5)].map((v) => (v % 2 === 0 ? 1 : 0)));
    });

    it("keeps replies of requests sent back to back apart", async () => {
      const sent = [1, 2, 3, 4, 5, 6].map((seed) => input(20_000 + seed * 1_001, seed));
      const replies = await Promise.all(sent.map((s) => step.execute([s.tensor], ["big", "scalar"])));
      replies.forEach((r, i) => {
        const n = sent[i]!.x.length;
        const [bigT, scalarT] = ["big", "scalar"].map((name) => r.find((t) => t.name === name)!);
        expect(Number(new BigInt64Array(scalarT!.data.buffer, scalarT!.data.byteOffset, 1)[0])).toBe(n);
        const big = float32s(bigT!);
        expect(big.length).toBe(64 * n);
        expect(big[0]).toBe(sent[i]!.x[0]);
        expect(big[big.length - 1]).toBe(sent[i]!.x[n - 1]);
      });
    });

    it("reports the model's own error and keeps serving", async () => {
      const bad = { name: "x", dtype: "INT32" as const, shape: [2], data: new Uint8Array(Int32Array.from([-1, 5]).buffer) };
      await expect(step.execute([bad])).rejects.toThrow(PythonStepError);
      await expect(step.execute([bad])).rejects.toThrow(/negative input/);
      const { tensor } = input(10, 1);
      expect((await step.execute([tensor], ["scalar"])).length).toBeGreaterThan(0);
      expect(step.alive).toBe(true);
    });

    it("refuses an output it cannot carry (numpy object dtype) with a message, and keeps serving", async () => {
      const text = { name: "x", dtype: "INT32" as const, shape: [1], data: new Uint8Array(Int32Array.from([-2]).buffer) };
      await expect(step.execute([text])).rejects.toThrow(/output text has dtype object \(BYTES\): the step host carries fixed-size dtypes only/);
      const { x, tensor } = input(1_000, 4);
      const out = await step.execute([tensor], ["big"]);
      expect(float32s(out[0]!)[999]).toBe(x[999]);
    });

    it("gives outputs that view the input, are transposed or big-endian as the model meant them; inputs are read-only", async () => {
      const views = await PythonStep.start(path.join(dir, "views.py"), {}, undefined, options);
      try {
        for (const n of [6, 3 << 20]) {
          // 12 MiB in: more than the file holds at first, so the host's write grows it
          const { x, tensor } = input(n, 5);
          const [negated, same, transposed, bigEndian, writeable] = await views.execute([tensor]);
          expect(int32s(negated!)[n - 1]).toBe(-x[n - 1]!);
          expect(int32s(same!)).toEqual(x);
          expect(transposed!.shape).toEqual([n / 2, 2]);
          const t = int32s(transposed!);
          for (const i of [0, 1, n / 2 - 1]) expect([t[2 * i], t[2 * i + 1]]).toEqual([x[i], x[n / 2 + i]]);
          expect(bigEndian!.dtype).toBe("INT32");
          expect(int32s(bigEndian!)).toEqual(x);
          expect([...writeable!.data]).toEqual([0]);
        }
      } finally {
        await views.close();
      }
    });
  });
}

/** This process's fds open on files of `folder` (Linux: /proc/self/fd), as readlink shows them. */
function openIn(folder: string): string[] {
  return readdirSync("/proc/self/fd")
    .map((fd) => {
      try {
        return readlinkSync(`/proc/self/fd/${fd}`);
      } catch {
        return "";
      }
    })
    .filter((target) => target.startsWith(folder + path.sep));
}

/** A step whose python3 first runs `sitecustomize` (on its PYTHONPATH), with fall-backs collected in `told`. */
async function startPatched(name: string, sitecustomize: string, told: string[]): Promise<PythonStep> {
  const site = path.join(dir, name);
  await mkdir(site, { recursive: true });
  await writeFile(path.join(site, "sitecustomize.py"), sitecustomize);
  const before = process.env.PYTHONPATH;
  process.env.PYTHONPATH = site;
  try {
    return await PythonStep.start(path.join(dir, "model.py"), { model_name: name }, undefined, { onFallback: (why) => told.push(why) });
  } finally {
    if (before === undefined) delete process.env.PYTHONPATH;
    else process.env.PYTHONPATH = before;
  }
}

async function until(what: () => boolean, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!what()) {
    if (Date.now() > deadline) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe("the Python step host's shared memory", () => {
  it("holds its file open but unlinked (nothing to clean up however a process ends) and lets it go when the step closes or dies", async () => {
    const shmDir = await mkdtemp(path.join(dir, "shm-"));
    const closed = await PythonStep.start(path.join(dir, "model.py"), { model_name: "a" }, undefined, { shmDir });
    const killed = await PythonStep.start(path.join(dir, "model.py"), { model_name: "b" }, undefined, { shmDir });
    expect([closed.sharedMemory, killed.sharedMemory]).toEqual([true, true]);
    await closed.execute([input(1_000, 1).tensor]);
    expect(readdirSync(shmDir)).toEqual([]);
    const held = openIn(shmDir);
    expect(held).toHaveLength(2);
    for (const f of held) expect(f).toMatch(new RegExp(`/triton-deploy-step-${process.pid}-[0-9a-f]+ \\(deleted\\)$`));
    await closed.close();
    killed.kill();
    await until(() => openIn(shmDir).length === 0);
    expect(readdirSync(shmDir)).toEqual([]);
  });

  it("keeps its file in /dev/shm, and gives each output a buffer of its own: the next request does not change it", async () => {
    const before = openIn("/dev/shm").length;
    const step = await PythonStep.start(path.join(dir, "model.py"), { model_name: "own" });
    try {
      expect(step.sharedMemory).toBe(true);
      expect(openIn("/dev/shm").length).toBe(before + 1);
      const first = input(4_096, 1);
      const [big] = await step.execute([first.tensor], ["big"]);
      const kept = Float32Array.from(float32s(big!));
      expect(big!.data.byteOffset % 8).toBe(0);
      await step.execute([input(4_096, 2).tensor], ["big"]);
      expect(float32s(big!)).toEqual(kept);
      expect(kept[4_095]).toBe(first.x[4_095]);
    } finally {
      await step.close();
    }
  });

  it("falls back to the pipes, saying why, when it cannot create its file", async () => {
    const told: string[] = [];
    const missing = path.join(dir, "no-such-folder");
    const step = await PythonStep.start(path.join(dir, "model.py"), { model_name: "nofile" }, undefined, { shmDir: missing, onFallback: (why) => told.push(why) });
    try {
      expect(step.sharedMemory).toBe(false);
      expect(told).toHaveLength(1);
      expect(told[0]).toMatch(new RegExp(`^cannot create a file in ${missing} \\(ENOENT: .*\\): tensors go over the pipes, not shared memory$`));
      const { x, tensor } = input(100_000, 7);
      expect(float32s((await step.execute([tensor], ["big"]))[0]!)[99_999]).toBe(x[99_999]);
    } finally {
      await step.close();
    }
  });

  it("falls back to the pipes, saying why, when python3 cannot map the file", async () => {
    // python3 as it is, but with an mmap that refuses, as a filesystem without mmap support would
    const told: string[] = [];
    const step = await startPatched("no-mmap", `import mmap\n\ndef _refuse(*args, **kwargs):\n    raise OSError(19, "No such device")\n\nmmap.mmap = _refuse\n`, told);
    try {
      expect(step.sharedMemory).toBe(false);
      expect(told).toEqual([expect.stringMatching(/^python3 cannot map a file in \S+ \(OSError: \[Errno 19\] No such device\): tensors go over the pipes, not shared memory$/)]);
      const { x, tensor } = input(100_000, 8);
      expect(float32s((await step.execute([tensor], ["big"]))[0]!)[12_345]).toBe(x[12_345]);
    } finally {
      await step.close();
    }
  });

  it("sends a reply whose outputs find no room in the file over the pipe, says so once, and keeps using the file", async () => {
    // python3 may not grow a file past 4 MiB, as a nearly full /dev/shm would refuse it
    const told: string[] = [];
    const step = await startPatched("small-files", `import resource\n\nresource.setrlimit(resource.RLIMIT_FSIZE, (4 << 20, 4 << 20))\n`, told);
    try {
      expect(step.sharedMemory).toBe(true);
      for (const seed of [1, 2]) {
        const { x, tensor } = input(65_536, seed); // 16 MiB out
        const big = float32s((await step.execute([tensor], ["big"]))[0]!);
        expect([big[0], big[big.length - 1]]).toEqual([x[0], x[65_535]]);
      }
      expect(told).toEqual([expect.stringMatching(/^no room in \/dev\/shm for a request's tensors \(OSError: \[Errno 27\] File too large\): those that do not fit go over the pipes$/)]);
      const { x, tensor } = input(1_000, 3); // 256 KB out: fits
      expect(float32s((await step.execute([tensor], ["big"]))[0]!)[63_999]).toBe(x[999]);
      expect(step.sharedMemory).toBe(true);
    } finally {
      await step.close();
    }
  });
});
