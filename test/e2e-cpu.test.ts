// The CPU account of e2e passes: this process's CPU seconds, its finished children's (ffmpeg), and a
// process group's (serve-local) read from /proc, each counting work actually done.
import { spawn } from "node:child_process";
import { setTimeout as sleep } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import { cpuMeter, cpuNow, groupCpuSeconds } from "../src/e2e/cpu.ts";

const burn = (ms: number) => {
  const end = performance.now() + ms;
  let x = 0;
  while (performance.now() < end) x += Math.sqrt(x + 1);
  return x;
};

describe("CPU account", () => {
  it("counts this process's work, and a finished child's as the children's", async () => {
    const meter = cpuMeter();
    burn(300);
    const before = cpuNow();
    const child = spawn(process.execPath, ["-e", "const e = Date.now() + 300; while (Date.now() < e);"], { stdio: "ignore" });
    await new Promise((r) => child.once("exit", r));
    const cpu = meter();
    expect(cpu.clientS).toBeGreaterThan(0.05); // loose: other test files share the cores
    expect(cpuNow().children! - before.children!).toBeGreaterThan(0.05);
    expect(cpu.decodeS).toBeGreaterThan(0.05);
    expect(cpu.serverS).toBeUndefined();
    expect(cpu.totalS).toBeCloseTo(cpu.clientS + cpu.decodeS!, 9);
  });

  it("reads a live process group's CPU seconds, and nothing for a group that is not there", async () => {
    const child = spawn(process.execPath, ["-e", "const e = Date.now() + 1500; while (Date.now() < e);"], { stdio: "ignore", detached: true });
    try {
      const read = () => groupCpuSeconds(child.pid!);
      const meter = cpuMeter(read);
      await sleep(700);
      const cpu = meter();
      expect(cpu.serverS).toBeGreaterThan(0.1);
      expect(cpu.totalS).toBeGreaterThanOrEqual(cpu.serverS!);
    } finally {
      child.kill("SIGKILL");
    }
    expect(groupCpuSeconds(2 ** 22 + 12345)).toBeUndefined();
  });
});
