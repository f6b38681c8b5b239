// Schema-driven parser for the protobuf text format as people write config.pbtxt by hand. Every value
// is checked against the message descriptor while parsing, so a mistake is reported where it is, with
// its field path (e.g. `input[1].dims`), instead of when Triton refuses to load the model.
// Positions of parsed fields are kept in a side table (sourcePosition) for checks that run later.

import { UserError } from "../errors.ts";
import {
  defaultOf,
  defineKey,
  enumIdent,
  enumNumber,
  findField,
  type FieldDescriptor,
  type FieldValue,
  type MessageDescriptor,
  type MessageValue,
  type ScalarType,
  type ScalarValue,
  type ValueType,
} from "./descriptor.ts";
import { tokenize, type SourcePos, type Token } from "./text-lexer.ts";

const POSITIONS = new WeakMap<object, Map<string, SourcePos>>();

/**
 * Where a parsed value was written: `container` is a parsed message, list or map object and `key`
 * a field name, list index or map key. Undefined for objects that did not come from the parser.
 */
export function sourcePosition(container: object, key: string | number): SourcePos | undefined {
  return POSITIONS.get(container)?.get(String(key));
}

const INT_RANGE: Partial<Record<ScalarType, readonly [bigint, bigint]>> = {
  int32: [-(2n ** 31n), 2n ** 31n - 1n],
  uint32: [0n, 2n ** 32n - 1n],
  // int64/uint64 are held as JavaScript numbers: exact only up to 2^53.
  int64: [-BigInt(Number.MAX_SAFE_INTEGER), BigInt(Number.MAX_SAFE_INTEGER)],
  uint64: [0n, BigInt(Number.MAX_SAFE_INTEGER)],
};
const CLOSER: Record<string, string> = { "{": "}", "<": ">" };

export function parseTextFormat(schema: MessageDescriptor, text: string, file?: string): MessageValue {
  return new Parser(tokenize(text, file), file).parseMessage(schema);
}

class Parser {
  private at = 0;
  constructor(
    private readonly tokens: Token[],
    private readonly file: string | undefined,
  ) {}

  parseMessage(schema: MessageDescriptor): MessageValue {
    return this.body(schema, "", null);
  }

  private peek(): Token {
    return this.tokens[this.at]!;
  }
  private next(): Token {
    const t = this.tokens[this.at]!;
    if (t.kind !== "eof") this.at++;
    return t;
  }
  private isSymbol(s: string): boolean {
    const t = this.peek();
    return t.kind === "symbol" && t.text === s;
  }
  private trySymbol(s: string): boolean {
    if (!this.isSymbol(s)) return false;
    this.next();
    return true;
  }
  private pos(t: Token): SourcePos {
    return { ...(this.file !== undefined ? { file: this.file } : {}), line: t.line, column: t.column };
  }
  private remember(container: object, key: string | number, t: Token): void {
    let m = POSITIONS.get(container);
    if (!m) POSITIONS.set(container, (m = new Map()));
    m.set(String(key), this.pos(t));
  }
  private fail(t: Token, field: string, message: string, hint?: string): never {
    throw new UserError({ ...this.pos(t), ...(field ? { field } : {}), message, ...(hint ? { hint } : {}) });
  }

  /** Fields up to `close` (or end of input at the top level). */
  private body(schema: MessageDescriptor, path: string, close: string | null, open?: Token): MessageValue {
    const msg: MessageValue = {};
    const oneofs = new Map<string, string>();
    for (;;) {
      const t = this.peek();
      if (close !== null && this.trySymbol(close)) return msg;
      if (t.kind === "eof") {
        if (close === null) return msg;
        this.fail(t, path, `"${close}" missing: the block opened at ${open!.line}:${open!.column} is not closed`);
      }
      if (t.kind === "symbol" && (t.text === "}" || t.text === ">")) {
        const why = close === null ? "there is no open block" : `the block opened at ${open!.line}:${open!.column} needs "${close}"`;
        this.fail(t, path, `unexpected "${t.text}": ${why}`);
      }
      if (t.kind !== "ident") this.fail(t, path, `expected a field name of ${schema.name}, found ${describe(t)}`);
      this.next();
      const f = findField(schema, t.text);
      const fpath = path ? `${path}.${t.text}` : t.text;
      if (!f) this.fail(t, fpath, `unknown field "${t.text}" in ${schema.name}`, suggest(t.text, schema));
      if (f.oneof) {
        const other = oneofs.get(f.oneof);
        if (other !== undefined && other !== f.name) {
          this.fail(t, fpath, `${f.name} and ${other} are both set, but they are alternatives (oneof ${f.oneof})`, `keep only one of them`);
        }
        oneofs.set(f.oneof, f.name);
      }
      this.field(f, msg, fpath, t);
      if (!this.trySymbol(";")) this.trySymbol(",");
    }
  }

  private field(f: FieldDescriptor, msg: MessageValue, path: string, name: Token): void {
    const type = f.type;
    if (type.kind === "unsupported") {
      this.fail(name, path, `${f.name} is a Triton field that triton-deploy does not model`, "remove it, or add it to src/config/model-config-schema.ts and model-config.ts");
    }
    const many = f.repeated || type.kind === "map";
    if (!many && msg[f.name] !== undefined) {
      const first = sourcePosition(msg, f.name);
      this.fail(name, path, `${f.name} is given twice${first ? ` (first at ${first.line}:${first.column})` : ""}, but it is not a repeated field`, "keep one");
    }
    const isMessage = type.kind === "message" || type.kind === "map";
    if (!this.trySymbol(":") && !isMessage) this.fail(this.peek(), path, `expected ":" after ${f.name}, found ${describe(this.peek())}`);

    const one = (index: number | null): void => {
      const at = this.peek();
      const elemPath = index === null || type.kind === "map" ? path : `${path}[${index}]`;
      if (type.kind === "map") return this.mapEntry(type.value, msg, f.name, path);
      const v = type.kind === "message" ? this.submessage(type.message, elemPath, f.name) : this.scalar(type, elemPath);
      if (index === null) {
        msg[f.name] = v;
        this.remember(msg, f.name, name);
      } else {
        const list = (msg[f.name] ??= []) as FieldValue[];
        list.push(v);
        if (list.length === 1) this.remember(msg, f.name, name);
        this.remember(list, list.length - 1, at);
      }
    };
    const nextIndex = () => (Array.isArray(msg[f.name]) ? (msg[f.name] as FieldValue[]).length : 0);

    if (this.isSymbol("[")) {
      if (!many) this.fail(this.peek(), path, `${f.name} is not a repeated field, so it takes one value, not a [ ] list`);
      this.next();
      if (type.kind !== "map") msg[f.name] ??= [];
      if (this.trySymbol("]")) return;
      for (;;) {
        one(nextIndex());
        const comma = this.peek();
        if (this.trySymbol(",")) {
          if (this.isSymbol("]")) this.fail(comma, path, `the list of ${f.name} ends with ",", which protobuf (and so Triton) rejects`, "remove the last comma");
          continue;
        }
        if (this.trySymbol("]")) return;
        this.fail(this.peek(), path, `expected "," or "]" in the list of ${f.name}, found ${describe(this.peek())}`);
      }
    }
    one(many ? nextIndex() : null);
  }

  private submessage(schema: MessageDescriptor, path: string, name: string): MessageValue {
    const open = this.peek();
    const close = open.kind === "symbol" ? CLOSER[open.text] : undefined;
    if (close === undefined) this.fail(open, path, `expected "{" to start ${name} (a ${schema.name} message), found ${describe(open)}`);
    this.next();
    const v = this.body(schema, path, close, open);
    this.remember(v, "", open);
    return v;
  }

  /** One `{ key: "k" value: v }` entry, stored into the map object `msg[name]`. */
  private mapEntry(valueType: ValueType, msg: MessageValue, name: string, path: string): void {
    const entrySchema: MessageDescriptor = {
      name: `${name} entry`,
      fields: [
        { name: "key", number: 1, type: { kind: "scalar", scalar: "string" }, repeated: false },
        { name: "value", number: 2, type: valueType, repeated: false },
      ],
    };
    const open = this.peek();
    const entry = this.submessage(entrySchema, `${path}[]`, name);
    const key = typeof entry.key === "string" ? entry.key : "";
    const value = entry.value ?? defaultOf(valueType) ?? {};
    const map = (msg[name] ??= {}) as Record<string, FieldValue>;
    if (Object.prototype.hasOwnProperty.call(map, key)) {
      const first = sourcePosition(map, key);
      this.fail(open, `${path}[${JSON.stringify(key)}]`, `key ${JSON.stringify(key)} is given twice${first ? ` (first at ${first.line}:${first.column})` : ""}`, "keep one entry per key");
    }
    if (Object.keys(map).length === 0) this.remember(msg, name, open);
    defineKey(map, key, value);
    this.remember(map, key, open);
  }

  private scalar(type: ValueType, path: string): ScalarValue {
    const t = this.peek();
    if (type.kind === "enum") {
      const e = type.enumType;
      const expected = `expected one of ${e.values.map(([n]) => n).join(", ")}`;
      if (t.kind === "ident") {
        this.next();
        if (enumNumber(e, t.text) === undefined) this.fail(t, path, `unknown ${e.name} value ${t.text}`, expected);
        return t.text;
      }
      const n = this.integer(path, "int32");
      const ident = enumIdent(e, n);
      if (ident === undefined) this.fail(t, path, `no ${e.name} value has the number ${n}`, expected);
      return ident;
    }
    if (type.kind !== "scalar") throw new Error("unreachable: messages are parsed by submessage()");
    switch (type.scalar) {
      case "string": {
        if (t.kind !== "string") this.fail(t, path, `expected a quoted string, found ${describe(t)}`, `write it as "${t.text}"`);
        let s = "";
        while (this.peek().kind === "string") s += this.next().text; // adjacent literals concatenate
        return s;
      }
      case "bool": {
        this.next();
        if (t.kind === "ident" && ["true", "True", "t"].includes(t.text)) return true;
        if (t.kind === "ident" && ["false", "False", "f"].includes(t.text)) return false;
        if (t.kind === "int" && (t.text === "1" || t.text === "0")) return t.text === "1";
        return this.fail(t, path, `expected true or false, found ${describe(t)}`);
      }
      case "float":
      case "double":
        return this.float(path);
      default:
        return this.integer(path, type.scalar);
    }
  }

  private integer(path: string, scalar: ScalarType): number {
    const neg = this.trySymbol("-");
    const t = this.next();
    if (t.kind !== "int") {
      const what = t.kind === "float" ? `${t.text}, which is not a whole number` : describe(t);
      this.fail(t, path, `expected an integer (${scalar}), found ${what}`);
    }
    const v = toBigInt(t.text);
    if (v === undefined) this.fail(t, path, `${t.text} starts with 0 but is not octal`, "drop the leading zero");
    const value = neg ? -v : v;
    const [lo, hi] = INT_RANGE[scalar]!;
    if (value < lo || value > hi) {
      const why = lo === 0n && value < 0n ? "must not be negative" : `is outside the ${scalar} range ${lo}..${hi}`;
      this.fail(t, path, `${neg ? "-" : ""}${t.text} ${why}`);
    }
    return Number(value);
  }

  private float(path: string): number {
    const neg = this.trySymbol("-");
    const t = this.next();
    let v: number | undefined;
    if (t.kind === "float") v = Number(t.text.replace(/[fF]$/, ""));
    else if (t.kind === "int") v = Number(toBigInt(t.text) ?? NaN);
    else if (t.kind === "ident" && /^(inf|infinity)$/i.test(t.text)) v = Infinity;
    else if (t.kind === "ident" && /^nan$/i.test(t.text)) v = NaN;
    if (v === undefined || (t.kind === "int" && Number.isNaN(v))) return this.fail(t, path, `expected a number, found ${describe(t)}`);
    return neg ? -v : v;
  }
}

/** Decimal, 0x hex or leading-0 octal, as protobuf reads integers; undefined for e.g. "08". */
function toBigInt(text: string): bigint | undefined {
  if (/^0[xX]/.test(text)) return BigInt(text);
  if (/^0\d/.test(text)) return /^0[0-7]+$/.test(text) ? BigInt(`0o${text.slice(1)}`) : undefined;
  return BigInt(text);
}

function describe(t: Token): string {
  switch (t.kind) {
    case "eof":
      return "the end of the file";
    case "string":
      return `the string ${JSON.stringify(t.text)}`;
    case "symbol":
      return `"${t.text}"`;
    default:
      return t.text;
  }
}

function suggest(name: string, schema: MessageDescriptor): string {
  const names = schema.fields.filter((f) => f.type.kind !== "unsupported").map((f) => f.name);
  const close = names.filter((n) => editDistance(n, name) <= Math.max(1, Math.floor(name.length / 4)));
  return close.length > 0 ? `did you mean ${close.join(" or ")}?` : `fields of ${schema.name}: ${names.join(", ")}`;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length]!;
}
