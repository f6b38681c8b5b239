// How every command ends: a UserError prints its problems (file, line:column, field, fix) and exits
// with its code; anything else is a bug and prints its stack. Scripts in scripts/ only parse flags
// and call the library through this.
import { Command, CommanderError, InvalidArgumentError } from "commander";
import { isUserError, UserError } from "./errors.ts";
import { VERIFY_HEADER_ENV } from "./plan/post-deploy.ts";

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

/** The HTTP header flag every command that talks to a server takes (repeatable). */
export const HEADER_FLAG = {
  flags: "--header <name=value>",
  description: `HTTP header sent with every request, e.g. the restricted model-repository API's key (repeatable; or $${VERIFY_HEADER_ENV.name} and $${VERIFY_HEADER_ENV.value})`,
} as const;

/** Commander's parser for --header NAME=VALUE: accumulates into one record; a usage error otherwise. */
export function headerFlag(v: string, prev: Record<string, string> = {}): Record<string, string> {
  const eq = v.indexOf("=");
  const name = eq > 0 ? v.slice(0, eq).trim() : "";
  if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name)) throw new InvalidArgumentError("expected NAME=VALUE with an HTTP header name, e.g. --header triton-repository-key=SECRET");
  return { ...prev, [name.toLowerCase()]: v.slice(eq + 1) };
}

/**
 * The headers a command sends: its --header flags, and the environment form the post-deploy step
 * uses ($TRITON_RESTRICTED_HEADER naming the header, $TRITON_RESTRICTED_VALUE its value); a flag wins
 * over the environment for the same header.
 */
export function serverHeaders(flags: Readonly<Record<string, string>> = {}, env: Readonly<Record<string, string | undefined>> = process.env): Record<string, string> {
  const name = env[VERIFY_HEADER_ENV.name];
  const value = env[VERIFY_HEADER_ENV.value];
  return { ...(name && value ? { [name.toLowerCase()]: value } : {}), ...flags };
}
