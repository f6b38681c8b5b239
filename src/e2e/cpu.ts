// CPU seconds a pass used, by who used them: this process (decode reading, preprocessing on any
// thread, HTTP), its finished child processes (ffmpeg, which a pass ends before it returns) and,
// where the caller knows it, the server's process group. A wall time read against these says how
// close a pass came to what the machine's cores allow: two cores cannot finish X CPU-seconds of
// work in under X/2 seconds, however the stages overlap.
import { readdirSync, readFileSync } from "node:fs";

/** CPU seconds (user + system) so far. */
export interface CpuReading {
  /** This process, every thread. */
  self: number;
  /** Child processes that have exited and been waited for; undefined where /proc is not there. */
  children?: number;
}

/** The fields after the command name in a /proc/<pid>/stat line (the name may hold spaces). */
function statFields(text: string): string[] {
  return text.slice(text.lastIndexOf(")") + 2).split(" ");
}

const TICKS_PER_S = 100; // USER_HZ on Linux

export function cpuNow(): CpuReading {
  const u = process.cpuUsage();
  const self = (u.user + u.system) / 1e6;
  try {
    const f = statFields(readFileSync("/proc/self/stat", "utf8"));
    // fields 16, 17 of stat(5) (cutime, cstime) are the 14th and 15th after the name
    return { self, children: (Number(f[13]) + Number(f[14])) / TICKS_PER_S };
  } catch {
    return { self };
  }
}

/**
 * CPU seconds of every live process in process group `pgid` (a server started as its own group:
 * npm, tsx, node and any Python step hosts), or undefined where /proc cannot tell.
 */
export function groupCpuSeconds(pgid: number): number | undefined {
  let total = 0;
  let seen = false;
  let entries: string[];
  try {
    entries = readdirSync("/proc");
  } catch {
    return undefined;
  }
  for (const d of entries) {
    if (!/^\d+$/.test(d)) continue;
    let f: string[];
    try {
      f = statFields(readFileSync(`/proc/${d}/stat`, "utf8"));
    } catch {
      continue; // gone meanwhile
    }
    // stat(5): pgrp is field 5 (3rd after the name); utime, stime fields 14, 15
    if (Number(f[2]) !== pgid) continue;
    seen = true;
    total += (Number(f[11]) + Number(f[12])) / TICKS_PER_S;
  }
  return seen ? total : undefined;
}

/** CPU seconds a pass took, by part. */
export interface PassCpu {
  /** This process: decode reading, preprocessing (any thread), HTTP, post-processing, GC. */
  clientS: number;
  /** ffmpeg (children that finished during the pass). */
  decodeS?: number;
  /** The server's process group, when the caller said which. */
  serverS?: number;
  /** Their sum. */
  totalS: number;
}

/** Starts counting; the returned function gives the CPU seconds spent since. */
export function cpuMeter(server?: () => number | undefined): () => PassCpu {
  const c0 = cpuNow();
  const s0 = server?.();
  return () => {
    const c1 = cpuNow();
    const s1 = server?.();
    const clientS = c1.self - c0.self;
    const decodeS = c0.children !== undefined && c1.children !== undefined ? c1.children - c0.children : undefined;
    const serverS = s0 !== undefined && s1 !== undefined ? s1 - s0 : undefined;
    return { clientS, ...(decodeS !== undefined ? { decodeS } : {}), ...(serverS !== undefined ? { serverS } : {}), totalS: clientS + (decodeS ?? 0) + (serverS ?? 0) };
  };
}
