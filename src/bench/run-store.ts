// Where a benchmark run leaves its results, seed 001/003 practice: `results.jsonl` gets one line per
// measurement as it is taken (appended, never rewritten), and `summary.json` is rewritten atomically
// after each step, so a run that is interrupted or fails keeps a valid partial summary.
import { appendFile, mkdir, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";

/** A run id: `<prefix>-YYYYMMDD-HHMMSS` in local time, e.g. `bench-20261128-153000`. */
export function runId(prefix: string, at: Date = new Date()): string {
  const p = (n: number) => String(n).padStart(2, "0");
  return `${prefix}-${at.getFullYear()}${p(at.getMonth() + 1)}${p(at.getDate())}-${p(at.getHours())}${p(at.getMinutes())}${p(at.getSeconds())}`;
}

export class RunStore {
  readonly dir: string;
  readonly resultsFile: string;
  readonly summaryFile: string;

  private constructor(dir: string) {
    this.dir = dir;
    this.resultsFile = join(dir, "results.jsonl");
    this.summaryFile = join(dir, "summary.json");
  }

  /** Creates `<outDir>/<id>/`; a second run in the same second gets `-2`, `-3` … instead of mixing files. */
  static async create(outDir: string, id: string): Promise<RunStore> {
    await mkdir(outDir, { recursive: true });
    for (let n = 1; ; n++) {
      const dir = join(outDir, n === 1 ? id : `${id}-${n}`);
      try {
        await mkdir(dir);
        return new RunStore(dir);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
      }
    }
  }

  /** The run's id: its folder name. */
  get id(): string {
    return this.dir.split(/[\\/]/).pop()!;
  }

  async appendResult(record: object): Promise<void> {
    await appendFile(this.resultsFile, `${JSON.stringify(record)}\n`);
  }

  /** Rewrites summary.json through a temporary file and a rename: readers never see half a file. */
  async writeSummary(summary: object): Promise<void> {
    await writeJsonAtomic(this.summaryFile, summary);
  }

  async writeFile(name: string, text: string): Promise<string> {
    const file = join(this.dir, name);
    const tmp = `${file}.tmp-${process.pid}`;
    await writeFile(tmp, text);
    await rename(tmp, file);
    return file;
  }
}

export async function writeJsonAtomic(file: string, value: unknown): Promise<void> {
  const tmp = `${file}.tmp-${process.pid}`;
  await writeFile(tmp, `${JSON.stringify(value, null, 2)}\n`);
  await rename(tmp, file);
}
