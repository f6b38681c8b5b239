// A cursor over a protobuf-encoded file that reads only what it is asked for, through a small buffer
// of positioned reads. Skipping a field moves the position without reading, so a multi-gigabyte
// initializer costs nothing. Synchronous reads on purpose: a header walk is hundreds of tiny reads,
// and the per-call overhead of the async thread pool would dominate the whole walk.
import { closeSync, fstatSync, openSync, readSync } from "node:fs";

/** Raised for bytes that cannot be ONNX protobuf; read-io turns it into a UserError naming the file. */
export class WireError extends Error {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(message);
    this.name = "WireError";
  }
}

export const WIRE = { VARINT: 0, FIXED64: 1, LEN: 2, START_GROUP: 3, END_GROUP: 4, FIXED32: 5 } as const;

export interface Tag {
  field: number;
  wireType: number;
  /** File offset of the tag itself, for messages. */
  at: number;
  /** Schema name of the field, where the walker knows it. */
  label?: string | undefined;
}

const UTF8 = new TextDecoder("utf-8");
const MIN_FILL = 4 * 1024;
const MAX_FILL = 1024 * 1024;

export class FileCursor {
  readonly size: number;
  private readonly fd: number;
  private buf: Buffer = Buffer.alloc(MAX_FILL);
  private bufStart = 0;
  private bufLen = 0;
  /** Read-ahead grows while reading sequentially and shrinks after a long skip (a new region). */
  private fill = MIN_FILL;
  /** Number of positioned reads issued (the benchmark reports it). */
  reads = 0;

  constructor(file: string) {
    this.fd = openSync(file, "r");
    this.size = fstatSync(this.fd).size;
  }

  close(): void {
    closeSync(this.fd);
  }

  private load(pos: number, atLeast = 0): void {
    const sequential = pos === this.bufStart + this.bufLen;
    this.fill = Math.max(atLeast, sequential ? Math.min(this.fill * 2, MAX_FILL) : MIN_FILL);
    this.bufStart = pos;
    this.bufLen = readSync(this.fd, this.buf, 0, Math.min(this.fill, this.size - pos), pos);
    this.reads++;
  }

  byteAt(pos: number): number {
    if (pos < this.bufStart || pos >= this.bufStart + this.bufLen) {
      if (pos >= this.size) throw new WireError("a value runs past the end of the file", pos);
      this.load(pos);
    }
    // In range by construction: bufLen > 0 whenever pos < size.
    return this.buf[pos - this.bufStart] as number;
  }

  /** Copy of `len` bytes at `pos` (small messages decoded by protobufjs). */
  bytes(pos: number, len: number): Uint8Array {
    if (pos + len > this.size) throw new WireError(`${len} bytes needed, only ${this.size - pos} remain`, pos);
    if (pos >= this.bufStart && pos + len <= this.bufStart + this.bufLen) {
      return Uint8Array.prototype.slice.call(this.buf, pos - this.bufStart, pos - this.bufStart + len);
    }
    if (len <= MAX_FILL) {
      this.load(pos, len); // a message straddling the buffer: reload from its start
      return this.bytes(pos, len);
    }
    const out = new Uint8Array(len);
    readSync(this.fd, out, 0, len, pos);
    this.reads++;
    return out;
  }

  /**
   * An unsigned varint at `pos`. Values up to 2^53 come back exactly; int64 negatives (ten bytes,
   * two's complement) come back as the signed number, as protobuf int64 fields mean them.
   */
  varint(pos: number): { value: number; next: number } {
    let value = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      const b = this.byteAt(pos + i);
      if (i >= 7) return this.bigVarint(pos);
      value += (b & 0x7f) * scale;
      if (b < 0x80) return { value, next: pos + i + 1 };
      scale *= 128;
    }
    throw new WireError("malformed varint", pos);
  }

  private bigVarint(pos: number): { value: number; next: number } {
    let value = 0n;
    for (let i = 0; i < 10; i++) {
      const b = this.byteAt(pos + i);
      value |= BigInt(b & 0x7f) << BigInt(7 * i);
      if (b < 0x80) return { value: Number(BigInt.asIntN(64, value)), next: pos + i + 1 };
    }
    throw new WireError("malformed varint (more than 10 bytes)", pos);
  }

  tag(pos: number): { tag: Tag; next: number } {
    const { value, next } = this.varint(pos);
    const field = Math.floor(value / 8);
    const wireType = value & 7;
    if (field === 0 || field > 536870911) throw new WireError(`invalid field number ${field}`, pos);
    return { tag: { field, wireType, at: pos }, next };
  }

  /**
   * Length of a length-delimited field starting at `pos`, checked against the enclosing message's
   * end: a length that runs past it means a truncated file or one that is not protobuf at all.
   */
  length(pos: number, end: number, what: string): { start: number; len: number } {
    const { value: len, next } = this.varint(pos);
    if (len < 0 || next + len > end) {
      throw new WireError(`${what} claims ${len} bytes, but only ${Math.max(0, end - next)} remain`, pos);
    }
    return { start: next, len };
  }

  /** Position after the value of a field of this wire type, without reading the value's bytes. */
  skip(tag: Tag, pos: number, end: number): number {
    switch (tag.wireType) {
      case WIRE.VARINT:
        return this.varint(pos).next;
      case WIRE.FIXED64:
        return this.checked(pos + 8, end, tag);
      case WIRE.FIXED32:
        return this.checked(pos + 4, end, tag);
      case WIRE.LEN: {
        const { start, len } = this.length(pos, end, `field ${tag.field}`);
        return start + len;
      }
      default:
        // Groups are not used by ONNX; wire types 6 and 7 do not exist.
        throw new WireError(`field ${tag.field} has wire type ${tag.wireType}, which ONNX never uses`, tag.at);
    }
  }

  private checked(next: number, end: number, tag: Tag): number {
    if (next > end) throw new WireError(`field ${tag.field} runs past the end of its message`, tag.at);
    return next;
  }

  /** Decode a UTF-8 string field whose length prefix starts at `pos`. */
  string(pos: number, end: number, what: string): { value: string; next: number } {
    const { start, len } = this.length(pos, end, what);
    return { value: UTF8.decode(this.bytes(start, len)), next: start + len };
  }
}
