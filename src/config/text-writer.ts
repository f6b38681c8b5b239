// Schema-driven protobuf text-format writer in the style of Triton's own examples: fields in schema
// order, 2-space indent, `dims: [ 1, 3, 256, 256 ]`, repeated messages as `input [ { … }, { … } ]`,
// enums bare, one map entry per line with keys sorted (as protobuf's printer sorts them), so the same
// config always gives the same bytes. Values are checked against the schema as they are written.

import { UserError } from "../errors.ts";
import { enumNumber, isPlainObject, type FieldDescriptor, type MessageDescriptor, type ScalarType, type ValueType } from "./descriptor.ts";

const INDENT = "  ";
const INT_LIMITS: Partial<Record<ScalarType, readonly [number, number]>> = {
  int32: [-(2 ** 31), 2 ** 31 - 1],
  uint32: [0, 2 ** 32 - 1],
  int64: [-Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
  uint64: [0, Number.MAX_SAFE_INTEGER],
};

/**
 * Text format of `value` (an object shaped by `schema`). Unset fields, empty lists and empty maps are
 * omitted; scalars that are set are written even when they equal the default (`max_batch_size: 0`).
 */
export function writeTextFormat(schema: MessageDescriptor, value: object): string {
  const lines: string[] = [];
  writeFields(schema, value, "", "", lines);
  return lines.map((l) => `${l}\n`).join("");
}

function fail(path: string, message: string): never {
  throw new UserError({ field: path, message: `cannot write config.pbtxt: ${message}` });
}

/** Present fields of `value` in schema order; refuses keys the schema does not know. */
function present(schema: MessageDescriptor, value: object, path: string): [FieldDescriptor, unknown][] {
  const v = value as Record<string, unknown>;
  for (const k of Object.keys(v)) {
    const f = schema.fields.find((x) => x.name === k);
    if (!f || f.type.kind === "unsupported") fail(join(path, k), `${schema.name} has no field "${k}" that triton-deploy models`);
  }
  const out: [FieldDescriptor, unknown][] = [];
  const oneofs = new Map<string, string>();
  for (const f of schema.fields) {
    const x = v[f.name];
    if (x === undefined) continue;
    if (Array.isArray(x) && x.length === 0) continue;
    if (f.type.kind === "map" && isPlainObject(x) && Object.keys(x).length === 0) continue;
    if (f.oneof) {
      const other = oneofs.get(f.oneof);
      if (other) fail(join(path, f.name), `${f.name} and ${other} are alternatives (oneof ${f.oneof}); set only one`);
      oneofs.set(f.oneof, f.name);
    }
    out.push([f, x]);
  }
  return out;
}

function writeFields(schema: MessageDescriptor, value: object, path: string, ind: string, lines: string[]): void {
  for (const [f, x] of present(schema, value, path)) {
    const p = join(path, f.name);
    const t = f.type;
    if (t.kind === "map") {
      for (const [k, v] of mapEntries(x, p)) lines.push(`${ind}${f.name} { key: ${quote(k)} value${inlineValue(t.value, v, `${p}[${JSON.stringify(k)}]`)} }`);
    } else if (t.kind === "message") {
      if (f.repeated) {
        const items = list(x, p);
        lines.push(`${ind}${f.name} [`);
        items.forEach((item, i) => {
          lines.push(`${ind}${INDENT}{`);
          writeFields(t.message, asObject(item, `${p}[${i}]`), `${p}[${i}]`, ind + INDENT + INDENT, lines);
          lines.push(`${ind}${INDENT}}${i < items.length - 1 ? "," : ""}`);
        });
        lines.push(`${ind}]`);
      } else {
        const obj = asObject(x, p);
        const inner = present(t.message, obj, p);
        // A message holding one plain value reads best on one line: `reshape { shape: [ 1, 3 ] }`.
        const simple = inner.length === 0 || (inner.length === 1 && (inner[0]![0].type.kind === "scalar" || inner[0]![0].type.kind === "enum"));
        if (simple) lines.push(`${ind}${f.name} {${inlineFields(t.message, obj, p)}}`);
        else {
          lines.push(`${ind}${f.name} {`);
          writeFields(t.message, obj, p, ind + INDENT, lines);
          lines.push(`${ind}}`);
        }
      }
    } else if (t.kind !== "unsupported") {
      lines.push(`${ind}${f.name}: ${f.repeated ? scalarList(t, x, p) : scalar(t, x, p)}`);
    }
  }
}

/** ` f: v g { … } ` on one line (with surrounding spaces), or "" for an empty message. */
function inlineFields(schema: MessageDescriptor, value: object, path: string): string {
  const parts: string[] = [];
  for (const [f, x] of present(schema, value, path)) {
    const p = join(path, f.name);
    const t = f.type;
    if (t.kind === "map") {
      for (const [k, v] of mapEntries(x, p)) parts.push(`${f.name} { key: ${quote(k)} value${inlineValue(t.value, v, `${p}[${JSON.stringify(k)}]`)} }`);
    } else if (t.kind === "message") {
      if (f.repeated) parts.push(`${f.name} [ ${list(x, p).map((m, i) => `{${inlineFields(t.message, asObject(m, `${p}[${i}]`), `${p}[${i}]`)}}`).join(", ")} ]`);
      else parts.push(`${f.name} {${inlineFields(t.message, asObject(x, p), p)}}`);
    } else if (t.kind !== "unsupported") {
      parts.push(`${f.name}: ${f.repeated ? scalarList(t, x, p) : scalar(t, x, p)}`);
    }
  }
  return parts.length ? ` ${parts.join(" ")} ` : "";
}

function inlineValue(t: ValueType, v: unknown, path: string): string {
  return t.kind === "message" ? `: {${inlineFields(t.message, asObject(v, path), path)}}` : `: ${scalar(t, v, path)}`;
}

function mapEntries(x: unknown, path: string): [string, unknown][] {
  if (!isPlainObject(x)) fail(path, "expected an object of key → value");
  return Object.keys(x)
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
    .map((k) => [k, x[k]]);
}

function list(x: unknown, path: string): unknown[] {
  if (!Array.isArray(x)) fail(path, "expected a list");
  return x;
}

function asObject(x: unknown, path: string): object {
  if (!isPlainObject(x)) fail(path, "expected an object");
  return x;
}

function scalarList(t: ValueType, x: unknown, path: string): string {
  return `[ ${list(x, path).map((v, i) => scalar(t, v, `${path}[${i}]`)).join(", ")} ]`;
}

function scalar(t: ValueType, v: unknown, path: string): string {
  if (t.kind === "enum") {
    if (typeof v !== "string" || enumNumber(t.enumType, v) === undefined) fail(path, `${JSON.stringify(v)} is not a ${t.enumType.name} value`);
    return v;
  }
  if (t.kind !== "scalar") return fail(path, "expected a plain value");
  switch (t.scalar) {
    case "string":
      if (typeof v !== "string") fail(path, `expected a string, got ${JSON.stringify(v)}`);
      return quote(v, path);
    case "bool":
      if (typeof v !== "boolean") fail(path, `expected true or false, got ${JSON.stringify(v)}`);
      return String(v);
    case "float":
    case "double":
      if (typeof v !== "number") fail(path, `expected a number, got ${JSON.stringify(v)}`);
      return Number.isNaN(v) ? "nan" : v === Infinity ? "inf" : v === -Infinity ? "-inf" : Object.is(v, -0) ? "-0" : String(v);
    default: {
      const [lo, hi] = INT_LIMITS[t.scalar]!;
      if (typeof v !== "number" || !Number.isInteger(v) || v < lo || v > hi) fail(path, `expected an integer in ${lo}..${hi} (${t.scalar}), got ${JSON.stringify(v)}`);
      return String(v);
    }
  }
}

/** C-style double-quoted string; non-ASCII text stays as UTF-8, which Triton reads as is. */
export function quote(s: string, path = ""): string {
  if (/\p{Cs}/u.test(s)) fail(path, `string ${JSON.stringify(s)} holds a lone UTF-16 surrogate, which UTF-8 cannot carry`);
  const body = s.replace(/[\\"\u0000-\u001f\u007f]/g, (c) => {
    if (c === "\\" || c === '"') return `\\${c}`;
    if (c === "\n") return "\\n";
    if (c === "\r") return "\\r";
    if (c === "\t") return "\\t";
    return `\\${c.charCodeAt(0).toString(8).padStart(3, "0")}`;
  });
  return `"${body}"`;
}

function join(path: string, name: string): string {
  return path ? `${path}.${name}` : name;
}
