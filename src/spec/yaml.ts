// YAML at the edge: parse a file, validate it with a zod schema, and turn every problem into
// `file:line:column field: message`. The source map is kept so later checks (ONNX files, plans)
// can point at the spec line that declared the value they disagree with.
import { readFile } from "node:fs/promises";
import { LineCounter, isMap, isScalar, isSeq, parseDocument, type Document, type Node } from "yaml";
import type { z } from "zod";
import { UserError, type Problem } from "../errors.ts";

export type FieldPath = readonly (string | number)[];

/** Renders a field path the way users read it: `branches[2].onnx.inputs[0].dims`. */
export function formatFieldPath(path: FieldPath): string {
  let s = "";
  for (const p of path) s += typeof p === "number" ? `[${p}]` : s ? `.${p}` : p;
  return s;
}

/** Maps field paths of one YAML file to line:column. */
export class SourceMap {
  constructor(
    readonly file: string,
    private readonly doc: Document | undefined,
    private readonly lines: LineCounter | undefined,
  ) {}

  /** Position of the deepest node that exists along `path` (the value, or `key` to point at the key). */
  locate(path: FieldPath, key?: string): { line: number; column: number } | undefined {
    if (!this.doc || !this.lines) return undefined;
    let node: unknown = this.doc.contents;
    let best: Node | undefined = node as Node | undefined;
    const steps = key === undefined ? path : [...path, key];
    for (let i = 0; i < steps.length; i++) {
      const step = steps[i]!;
      const wantKey = key !== undefined && i === steps.length - 1;
      if (isMap(node)) {
        const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(step));
        if (!pair) break;
        if (wantKey) {
          best = pair.key as Node;
          break;
        }
        node = pair.value;
      } else if (isSeq(node) && typeof step === "number") {
        node = node.items[step];
      } else break;
      if (node && typeof node === "object" && "range" in node && (node as Node).range) best = node as Node;
      else break;
    }
    const offset = best?.range?.[0];
    if (offset === undefined) return undefined;
    const pos = this.lines.linePos(offset);
    return { line: pos.line, column: pos.col };
  }

  /** A Problem located at `path` in this file. */
  problem(path: FieldPath, message: string, hint?: string, key?: string): Problem {
    const pos = this.locate(path, key);
    const p: Problem = { file: this.file, field: formatFieldPath(key === undefined ? path : [...path, key]), message };
    if (pos) {
      p.line = pos.line;
      p.column = pos.column;
    }
    if (hint) p.hint = hint;
    return p;
  }
}

export interface Loaded<T> {
  value: T;
  source: SourceMap;
}

/** Parses YAML text and validates it; throws UserError listing every problem with its position. */
export function parseYaml<S extends z.ZodType>(text: string, file: string, schema: S): Loaded<z.infer<S>> {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, merge: true, prettyErrors: true });
  const source = new SourceMap(file, doc, lines);
  if (doc.errors.length > 0) {
    throw new UserError(
      doc.errors.map((e) => {
        const pos = e.linePos?.[0];
        const p: Problem = { file, message: `YAML: ${(e.message.split("\n")[0] ?? "").replace(/ at line \d+, column \d+:?$/, "")}`, hint: "fix the YAML syntax at this position" };
        if (pos) {
          p.line = pos.line;
          p.column = pos.col;
        }
        return p;
      }),
    );
  }
  const raw: unknown = doc.toJS({ maxAliasCount: 1000 });
  const result = schema.safeParse(raw, { reportInput: true });
  if (!result.success) throw new UserError(result.error.issues.map((i) => issueToProblem(i, source)));
  return { value: result.data as z.infer<S>, source };
}

/** Reads and validates a YAML file; `shownAs` is the name messages use (default: the path given). */
export async function loadYamlFile<S extends z.ZodType>(file: string, schema: S, shownAs = file): Promise<Loaded<z.infer<S>>> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (e) {
    throw new UserError({ file: shownAs, message: `cannot read: ${(e as NodeJS.ErrnoException).code ?? String(e)}`, hint: "check the path" });
  }
  return parseYaml(text, shownAs, schema);
}

function issueToProblem(issue: z.core.$ZodIssue, source: SourceMap): Problem {
  const path = issue.path.filter((p): p is string | number => typeof p !== "symbol");
  if (issue.code === "unrecognized_keys") {
    const key = issue.keys[0] ?? "";
    return source.problem(path, `unknown field${issue.keys.length > 1 ? "s" : ""} ${issue.keys.map((k) => `'${k}'`).join(", ")}`,
      "remove it or fix its spelling (the JSON Schema in model-specs/ lists every field)", key);
  }
  return source.problem(path, describeIssue(issue), hintFor(issue));
}

function describeIssue(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case "invalid_type":
      return issue.input === undefined ? `missing required field (expected ${issue.expected})` : `expected ${issue.expected}, got ${describeValue(issue.input)}`;
    case "invalid_value":
      return `expected one of ${issue.values.map((v) => JSON.stringify(v)).join(", ")}, got ${describeValue(issue.input)}`;
    case "invalid_union":
      return `${issue.message}${issue.input !== undefined ? ` (got ${describeValue(issue.input)})` : ""}`;
    default:
      return issue.input !== undefined && typeof issue.input !== "object" ? `${issue.message} (got ${describeValue(issue.input)})` : issue.message;
  }
}

function hintFor(issue: z.core.$ZodIssue): string | undefined {
  if (issue.code === "invalid_type" && issue.input === undefined) return "add the field";
  if (issue.code === "invalid_value") return "use one of the listed values";
  return undefined;
}

function describeValue(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "a list";
  if (typeof v === "object") return "a mapping";
  return `${typeof v} ${JSON.stringify(v)}`;
}
