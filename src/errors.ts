// Errors a user can act on. Every message names where (file, line:column, field) and what to do;
// the exit code follows the command-line contract: 1 a failed check, 2 bad usage or bad input.

export interface Where {
  file?: string;
  line?: number;
  column?: number;
  /** Field path inside the file, e.g. `branches[2].onnx.inputs[0].dims`. */
  field?: string;
}

export function formatWhere(w: Where): string {
  let s = w.file ?? "";
  if (w.file && w.line !== undefined) s += `:${w.line}${w.column !== undefined ? `:${w.column}` : ""}`;
  if (w.field) s += s ? ` ${w.field}` : w.field;
  return s;
}

/** One problem found in the user's input. */
export interface Problem extends Where {
  message: string;
  /** What the user should do about it. */
  hint?: string;
}

export function formatProblem(p: Problem): string {
  const where = formatWhere(p);
  return `${where ? `${where}: ` : ""}${p.message}${p.hint ? `\n    fix: ${p.hint}` : ""}`;
}

/** A failure the user caused or can fix; scripts print it without a stack trace. */
export class UserError extends Error {
  readonly problems: Problem[];
  readonly exitCode: 1 | 2;

  constructor(problems: Problem | Problem[], exitCode: 1 | 2 = 2) {
    const list = Array.isArray(problems) ? problems : [problems];
    super(list.map(formatProblem).join("\n"));
    this.name = "UserError";
    this.problems = list;
    this.exitCode = exitCode;
  }
}

export function isUserError(e: unknown): e is UserError {
  return e instanceof UserError;
}
