// serve-local's Python steps exchange tensors through shared memory, as Triton's Python backend does:
// each step process holds an unlinked file in /dev/shm (nothing to clean up however serve-local ends,
// SIGKILL included), and where no file can be mapped the steps fall back to their pipes, with one
// line saying why however many step processes there are.
import { readdirSync, readlinkSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KServeClient } from "../src/client/index.ts";
import { tritonDataType, writeModelConfig } from "../src/config/index.ts";
import { childPids, isAlive, spawnServeLocal, waitReady, type CliServer } from "./support/serve-cli.ts";

const DOUBLE_PY = `
import triton_python_backend_utils as pb_utils

class TritonPythonModel:
    def execute(self, requests):
        x = pb_utils.get_input_tensor_by_name(requests[0], "x").as_numpy()
        return [pb_utils.InferenceResponse(output_tensors=[pb_utils.Tensor("y", x * 2)])]
`;
const N = 300_000; // 1.2 MB each way: more than the file holds at first

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "serve-python-shm-"));
  const model = path.join(dir, "models", "double");
  await mkdir(path.join(model, "1"), { recursive: true });
  await writeFile(path.join(model, "1", "model.py"), DOUBLE_PY);
  const io = (name: string) => ({ name, data_type: tritonDataType("FP32"), dims: [N] });
  await writeFile(path.join(model, "config.pbtxt"), writeModelConfig({ name: "double", backend: "python", max_batch_size: 0, input: [io("x")], output: [io("y")], instance_group: [{ count: 2, kind: "KIND_CPU" }] }));
  await mkdir(path.join(dir, "no-mmap"));
  await writeFile(path.join(dir, "no-mmap", "sitecustomize.py"), `import mmap\n\ndef _refuse(*args, **kwargs):\n    raise OSError(19, "No such device")\n\nmmap.mmap = _refuse\n`);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Both instances answer, each with the input doubled. */
async function expectDoubles(url: string): Promise<void> {
  const c = new KServeClient(url);
  try {
    const x = Float32Array.from({ length: N }, (_, i) => i / 7);
    const outs = await Promise.all([1, 2, 3, 4].map(() => c.infer("double", [{ name: "x", datatype: "FP32", shape: [N], data: x }], ["y"])));
    for (const [y] of outs) {
      const v = y!.data as Float32Array;
      for (const i of [0, 1, 12_345, N - 1]) expect(v[i]).toBe(x[i]! * 2);
    }
  } finally {
    c.close();
  }
}

const stepFiles = (pid: number) => readdirSync("/dev/shm").filter((f) => f.startsWith(`triton-deploy-step-${pid}-`));

async function stop(s: CliServer, signal: NodeJS.Signals): Promise<void> {
  if (isAlive(s.pid)) s.child.kill(signal);
  await s.exited;
}

describe("serve-local's Python steps and shared memory", () => {
  it("each step process holds an unlinked file in /dev/shm, and none is left when serve-local is killed", async () => {
    const s = spawnServeLocal(["--repo", path.join(dir, "models"), "--port", "0"]);
    try {
      const { url } = await waitReady(s);
      await expectDoubles(url);
      const steps = childPids(s.pid);
      expect(steps).toHaveLength(2);
      for (const pid of steps) expect(readlinkSync(`/proc/${pid}/fd/3`)).toMatch(new RegExp(`^/dev/shm/triton-deploy-step-${s.pid}-[0-9a-f]+ \\(deleted\\)$`));
      expect(stepFiles(s.pid)).toEqual([]);
      expect(s.stderr()).not.toMatch(/Python steps:/);
      await stop(s, "SIGKILL");
      const deadline = Date.now() + 10_000;
      while (steps.some(isAlive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect(steps.filter(isAlive)).toEqual([]); // their stdin closed with serve-local
      expect(stepFiles(s.pid)).toEqual([]);
    } finally {
      await stop(s, "SIGKILL");
    }
  });

  it("where python3 cannot map the file, says so in one line for both instances and serves over the pipes", async () => {
    const before = process.env.PYTHONPATH;
    process.env.PYTHONPATH = path.join(dir, "no-mmap");
    let s: CliServer;
    try {
      s = spawnServeLocal(["--repo", path.join(dir, "models"), "--port", "0"]);
    } finally {
      if (before === undefined) delete process.env.PYTHONPATH;
      else process.env.PYTHONPATH = before;
    }
    try {
      const { url } = await waitReady(s);
      await expectDoubles(url);
      const lines = s.stderr().split("\n").filter((l) => l.includes("Python steps:"));
      expect(lines).toEqual([expect.stringMatching(/^serve-local: Python steps: python3 cannot map a file in \/dev\/shm \(OSError: \[Errno 19\] No such device\): tensors go over the pipes, not shared memory$/)]);
    } finally {
      await stop(s, "SIGTERM");
    }
  });
});
