// Tokens of the protobuf text format, each with its line:column, so every parse error can point at
// the exact spot in a hand-written config.pbtxt. Follows protobuf's own tokenizer: `#` comments,
// identifiers, decimal/hex/octal integers, floats (with an optional f suffix), single- or double-quoted
// strings with C escapes (decoded as bytes, then read as UTF-8), and one-character symbols.

import { UserError } from "../errors.ts";

export type TokenKind = "ident" | "int" | "float" | "string" | "symbol" | "eof";

export interface Token {
  kind: TokenKind;
  /** Source text (symbols and numbers) or the decoded value (strings). */
  text: string;
  line: number;
  column: number;
}

export interface SourcePos {
  file?: string;
  line: number;
  column: number;
}

const SYMBOLS = new Set(["{", "}", "<", ">", "[", "]", ":", ",", ";", "-"]);
const SIMPLE_ESCAPES: Record<string, number> = { a: 7, b: 8, f: 12, n: 10, r: 13, t: 9, v: 11, "\\": 92, "?": 63, "'": 39, '"': 34 };
const isDigit = (c: string | undefined) => c !== undefined && c >= "0" && c <= "9";
const isHex = (c: string | undefined) => c !== undefined && /^[0-9a-fA-F]$/.test(c);
const isIdentStart = (c: string | undefined) => c !== undefined && /^[A-Za-z_]$/.test(c);
const isIdentPart = (c: string | undefined) => c !== undefined && /^[A-Za-z0-9_]$/.test(c);
const UTF8 = new TextDecoder("utf-8", { fatal: true });

export function tokenize(text: string, file?: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  let line = 1;
  let lineStart = 0;
  const fail = (at: number, message: string, hint?: string): never => {
    throw new UserError({ file, line, column: at - lineStart + 1, message, ...(hint ? { hint } : {}) });
  };

  while (i < text.length) {
    const c = text[i]!;
    if (c === "\n") {
      i++;
      line++;
      lineStart = i;
      continue;
    }
    if (c === " " || c === "\t" || c === "\r" || c === "\f" || c === "\v") {
      i++;
      continue;
    }
    if (c === "#") {
      while (i < text.length && text[i] !== "\n") i++;
      continue;
    }
    const start = i;
    const column = start - lineStart + 1;
    if (isIdentStart(c)) {
      while (isIdentPart(text[i])) i++;
      tokens.push({ kind: "ident", text: text.slice(start, i), line, column });
    } else if (isDigit(c) || (c === "." && isDigit(text[i + 1]))) {
      const kind = scanNumber();
      if (isIdentPart(text[i]) || text[i] === ".") fail(i, `malformed number "${text.slice(start, i + 1)}"`, "put a space between a number and what follows it");
      tokens.push({ kind, text: text.slice(start, i), line, column });
    } else if (c === '"' || c === "'") {
      tokens.push({ kind: "string", text: scanString(c, start), line, column });
    } else if (SYMBOLS.has(c)) {
      i++;
      tokens.push({ kind: "symbol", text: c, line, column });
    } else {
      fail(i, `unexpected character ${JSON.stringify(c)}`, "config.pbtxt holds `field: value` pairs, `{ }` blocks, `[ ]` lists and `#` comments");
    }
  }
  tokens.push({ kind: "eof", text: "", line, column: i - lineStart + 1 });
  return tokens;

  function scanNumber(): "int" | "float" {
    if (text[i] === "0" && (text[i + 1] === "x" || text[i + 1] === "X")) {
      i += 2;
      if (!isHex(text[i])) fail(i, "a hex number needs digits after 0x");
      while (isHex(text[i])) i++;
      return "int";
    }
    let float = false;
    while (isDigit(text[i])) i++;
    if (text[i] === ".") {
      float = true;
      i++;
      while (isDigit(text[i])) i++;
    }
    if (text[i] === "e" || text[i] === "E") {
      const save = i;
      i++;
      if (text[i] === "+" || text[i] === "-") i++;
      if (!isDigit(text[i])) fail(save, "an exponent needs digits, e.g. 1e-3");
      while (isDigit(text[i])) i++;
      float = true;
    }
    if (text[i] === "f" || text[i] === "F") {
      i++;
      float = true;
    }
    return float ? "float" : "int";
  }

  // Strings are byte strings in protobuf: escapes produce bytes, and the whole is then read as UTF-8.
  function scanString(quote: string, start: number): string {
    const bytes: number[] = [];
    const enc = new TextEncoder();
    i++;
    for (;;) {
      const ch = text[i];
      if (ch === undefined || ch === "\n") fail(i, "string is not closed on this line", `end it with ${quote}; use \\n for a newline inside a string`);
      if (ch === quote) {
        i++;
        break;
      }
      if (ch !== "\\") {
        const cp = text.codePointAt(i)!;
        const s = String.fromCodePoint(cp);
        bytes.push(...enc.encode(s));
        i += s.length;
        continue;
      }
      const escAt = i;
      const e = text[i + 1];
      i += 2;
      if (e !== undefined && e in SIMPLE_ESCAPES) bytes.push(SIMPLE_ESCAPES[e]!);
      else if (e !== undefined && e >= "0" && e <= "7") {
        let v = Number(e);
        for (let n = 0; n < 2 && text[i]! >= "0" && text[i]! <= "7"; n++) v = v * 8 + Number(text[i++]);
        if (v > 255) fail(escAt, `octal escape \\${v.toString(8)} is above \\377`);
        bytes.push(v);
      } else if (e === "x" || e === "X") {
        if (!isHex(text[i])) fail(escAt, "\\x needs one or two hex digits");
        let h = text[i++]!;
        if (isHex(text[i])) h += text[i++];
        bytes.push(parseInt(h, 16));
      } else if (e === "u" || e === "U") {
        const n = e === "u" ? 4 : 8;
        const hex = text.slice(i, i + n);
        if (hex.length !== n || !/^[0-9a-fA-F]+$/.test(hex)) fail(escAt, `\\${e} needs exactly ${n} hex digits`);
        const cp = parseInt(hex, 16);
        if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) fail(escAt, `\\${e}${hex} is not a Unicode scalar value`);
        bytes.push(...enc.encode(String.fromCodePoint(cp)));
        i += n;
      } else {
        fail(escAt, `unknown escape \\${e ?? ""}`, "valid escapes: \\n \\t \\r \\\" \\' \\\\ \\NNN (octal) \\xNN (hex) \\uNNNN");
      }
    }
    try {
      return UTF8.decode(Uint8Array.from(bytes));
    } catch {
      return fail(start, "string escapes do not form valid UTF-8", "Triton reads string fields as UTF-8 text");
    }
  }
}
