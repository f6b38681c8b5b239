// The atomic part of writing a repository: a lock so two runs never interleave, a staging directory
// beside the target, and a two-rename swap. A run killed at any point leaves either the old
// repository or the new one in place; the next run finishes or undoes a swap cut in half.
import { existsSync, rmSync } from "node:fs";
import { open, readFile, readdir, rename, rm, unlink } from "node:fs/promises";
import { join } from "node:path";
import { UserError } from "../errors.ts";

export interface SwapPaths {
  parent: string;
  base: string;
  out: string;
}

const stagingPrefix = (base: string) => `.${base}.staging-`;
const previousPrefix = (base: string) => `.${base}.previous-`;

export function stagingDir(p: SwapPaths): string {
  return join(p.parent, `${stagingPrefix(p.base)}${process.pid}-${Date.now().toString(36)}`);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Takes `.<base>.lock` beside the repository; a lock left by a dead process is taken over. */
export async function acquireLock(p: SwapPaths): Promise<() => Promise<void>> {
  const lock = join(p.parent, `.${p.base}.lock`);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fh = await open(lock, "wx");
      await fh.writeFile(String(process.pid));
      await fh.close();
      return async () => {
        await unlink(lock).catch(() => undefined);
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
      const pid = Number((await readFile(lock, "utf8").catch(() => "")).trim());
      if (pid && pid !== process.pid && alive(pid)) {
        throw new UserError({ file: p.out, message: `another synth-repo (pid ${pid}) is writing this repository`, hint: `wait for it to finish, or remove ${lock} if no such process runs` });
      }
      await unlink(lock).catch(() => undefined);
    }
  }
  throw new UserError({ file: p.out, message: "could not take the repository lock", hint: `remove ${join(p.parent, `.${p.base}.lock`)} and retry` });
}

/**
 * Finishes what a killed run left: a swap cut between its two renames is undone (the old
 * repository comes back), and leftover staging or previous directories, which hold only what the
 * tool made (its copies, and links to the repository's files), are removed. Call with the lock held.
 */
export async function recoverInterrupted(p: SwapPaths): Promise<string[]> {
  const notes: string[] = [];
  const entries = await readdir(p.parent).catch(() => [] as string[]);
  const previous = entries.filter((e) => e.startsWith(previousPrefix(p.base))).sort();
  if (!existsSync(p.out) && previous.length > 0) {
    const restore = previous.pop()!;
    await rename(join(p.parent, restore), p.out);
    notes.push(`restored ${p.out} from an interrupted run (${restore})`);
  }
  for (const e of entries) {
    if ((e.startsWith(stagingPrefix(p.base)) || previous.includes(e)) && existsSync(join(p.parent, e))) {
      await rm(join(p.parent, e), { recursive: true, force: true });
      notes.push(`removed leftover ${e}`);
    }
  }
  return notes;
}

/** Puts the staged tree in place of the repository. */
export async function swapIn(p: SwapPaths, staging: string, hadOld: boolean): Promise<void> {
  if (!hadOld) {
    await rename(staging, p.out);
    return;
  }
  const previous = join(p.parent, `${previousPrefix(p.base)}${process.pid}-${Date.now().toString(36)}`);
  await rename(p.out, previous);
  try {
    await rename(staging, p.out);
  } catch (e) {
    await rename(previous, p.out);
    throw e;
  }
  await rm(previous, { recursive: true, force: true });
}

/** While staging, Ctrl-C or SIGTERM removes the staging directory before exiting. */
export function cleanupOnSignal(staging: string, release: () => Promise<void>): () => void {
  const handler = (signal: NodeJS.Signals) => {
    rmSync(staging, { recursive: true, force: true });
    void release().finally(() => process.exit(signal === "SIGINT" ? 130 : 143));
  };
  process.once("SIGINT", handler);
  process.once("SIGTERM", handler);
  return () => {
    process.off("SIGINT", handler);
    process.off("SIGTERM", handler);
  };
}
