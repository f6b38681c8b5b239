// The protobuf text format (config.pbtxt), driven by message descriptors: one writer and one parser
// for every message, so what we write is exactly what we can read back and check.
// Lexer, parser and writer live in text-lexer.ts, text-parser.ts and text-writer.ts.

export { parseTextFormat, sourcePosition } from "./text-parser.ts";
export { writeTextFormat, quote } from "./text-writer.ts";
export type { SourcePos } from "./text-lexer.ts";
