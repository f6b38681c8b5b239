// How every command ends: a UserError prints its problems (file, line:column, field, fix) and exits
// with its code; anything else is a bug and prints its stack. Scripts in scripts/ only parse flags
// and call the library through this.
import { Command, CommanderError } from "commander";
import { isUserError, UserError } from "./errors.ts";

export async function runCli(main: () => Promise<number | void>): Promise<never> {
  let code: number;
  try {
    code = (await main()) ?? 0;
  } catch (e) {
    if (isUserError(e)) {
      process.stderr.write(`error: ${e.message}\n`);
      code = e.exitCode;
    } else if (e instanceof CommanderError) {
      code = e.exitCode === 0 ? 0 : 2;
    } else {
      process.stderr.write(`internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
      code = 1;
    }
  }
  process.exit(code);
}

/** A commander program whose usage errors exit 2, as the command-line contract says. */
export function command(name: string, description: string): Command {
  return new Command(name)
    .description(description)
    .exitOverride()
    .configureOutput({ outputError: (s, write) => write(s) })
    .showHelpAfterError("(run with --help for usage)");
}

/** A numeric flag's value, at least `min` (an integer unless `integer` is false); a usage error (exit 2) naming the flag otherwise. */
export function numberFlag(flag: string, v: string, min: number, integer = true): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n < min || (integer && !Number.isInteger(n))) throw new UserError({ field: flag, message: `must be ${integer ? "an integer" : "a number"} >= ${min}, got '${v}'` }, 2);
  return n;
}

export function formatBytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`;
}
