// Reads an ONNX model's graph inputs/outputs by walking the protobuf wire format: the walk descends
// only into ModelProto → GraphProto → inputs/outputs/initializer headers and seeks past node bodies and
// weight bytes, so a multi-gigabyte export is checked in milliseconds. Small messages (value infos,
// opsets, metadata entries) are decoded with the same protobufjs schema as the full decode.
import { UserError } from "../errors.ts";
import {
  assembleIO,
  assertOnnxFile,
  initializerFacts,
  metadataRecord,
  noGraphError,
  notOnnxError,
  tensorIOFromValueInfo,
  type InitializerFacts,
  type OnnxIO,
  type OnnxOpset,
  type OnnxTensorIO,
} from "./io.ts";
import { FIELD, OperatorSetIdProto, StringStringEntryProto, ValueInfoProto, decodeAs, int64ToNumber } from "./schema.ts";
import type { OperatorSetId, StringStringEntry, ValueInfo } from "./schema.ts";
import { FileCursor, WIRE, WireError, type Tag } from "./wire.ts";

export type { OnnxDim, OnnxExternalRef, OnnxIO, OnnxOpset, OnnxTensorIO } from "./io.ts";
export { readOnnxIOFull } from "./read-io-full.ts";
export { checkEstablishedOutputs, checkExternalData, checkOnnxAgainstSpec, type OnnxCheckWhere } from "./check.ts";

/** Statistics of one walk, for the benchmark. */
export interface WalkStats {
  reads: number;
}

/** Graph inputs/outputs of an ONNX file without reading its weights. Throws UserError (exit 2). */
export async function readOnnxIO(file: string, stats?: WalkStats): Promise<OnnxIO> {
  assertOnnxFile(file);
  const cur = new FileCursor(file);
  try {
    return new ModelWalk(cur, file).run();
  } catch (e) {
    if (e instanceof WireError) throw notOnnxError(file, e.message, e.offset);
    throw e;
  } finally {
    if (stats) stats.reads = cur.reads;
    cur.close();
  }
}

/** Names of the fields the walk descends into, so a truncation message says "graph", not "field 7". */
const LABELS: Record<string, string> = {
  "model.7": "graph",
  "model.8": "opset_import",
  "model.14": "metadata_props",
  "graph.5": "graph.initializer",
  "graph.11": "graph.input",
  "graph.12": "graph.output",
  "graph.15": "graph.sparse_initializer",
};

type Fields = Record<number, (tag: Tag, pos: number, end: number) => number>;

function fieldLabel(tag: Tag): string {
  return tag.label ? `${tag.label} (field ${tag.field})` : `field ${tag.field}`;
}

class ModelWalk {
  private irVersion = 0;
  private producerName = "";
  private sawGraph = false;
  private readonly opsets: OnnxOpset[] = [];
  private readonly metadata: StringStringEntry[] = [];
  private readonly inputs: OnnxTensorIO[] = [];
  private readonly outputs: OnnxTensorIO[] = [];
  private readonly initializers: InitializerFacts[] = [];

  constructor(
    private readonly cur: FileCursor,
    private readonly file: string,
  ) {}

  run(): OnnxIO {
    if (this.cur.size === 0) throw new WireError("the file is empty", 0);
    const M = FIELD.model;
    this.fields(0, this.cur.size, {
      [M.irVersion]: (t, p) => this.varint(t, p, (v) => (this.irVersion = v)),
      [M.producerName]: (t, p, end) => this.string(t, p, end, (v) => (this.producerName = v)),
      [M.graph]: (t, p, end) => this.message(t, p, end, (s, e) => this.graph(s, e)),
      [M.opsetImport]: (t, p, end) =>
        this.small<OperatorSetId>(t, p, end, OperatorSetIdProto, (o) => this.opsets.push({ domain: o.domain ?? "", version: int64ToNumber(o.version) })),
      [M.metadataProps]: (t, p, end) => this.small<StringStringEntry>(t, p, end, StringStringEntryProto, (e) => this.metadata.push(e)),
    }, "model");
    if (!this.sawGraph) throw noGraphError(this.file);
    return assembleIO({
      irVersion: this.irVersion,
      producerName: this.producerName,
      opsets: this.opsets,
      inputs: this.inputs,
      outputs: this.outputs,
      initializers: this.initializers,
      metadata: metadataRecord(this.metadata),
    });
  }

  private graph(start: number, end: number): void {
    this.sawGraph = true;
    const G = FIELD.graph;
    this.fields(start, end, {
      [G.initializer]: (t, p, e) => this.message(t, p, e, (s, me) => this.initializers.push(this.tensor(s, me))),
      [G.sparseInitializer]: (t, p, e) => this.message(t, p, e, (s, me) => this.sparseTensor(s, me)),
      [G.input]: (t, p, e) => this.small<ValueInfo>(t, p, e, ValueInfoProto, (v) => this.inputs.push(tensorIOFromValueInfo(v))),
      [G.output]: (t, p, e) => this.small<ValueInfo>(t, p, e, ValueInfoProto, (v) => this.outputs.push(tensorIOFromValueInfo(v))),
    }, "graph");
  }

  /** An initializer's name and external-data facts; its weight bytes (raw_data, *_data) are skipped. */
  private tensor(start: number, end: number): InitializerFacts {
    const T = FIELD.tensor;
    let name = "";
    let location = 0;
    const external: StringStringEntry[] = [];
    this.fields(start, end, {
      [T.name]: (t, p, e) => this.string(t, p, e, (v) => (name = v)),
      [T.dataLocation]: (t, p) => this.varint(t, p, (v) => (location = v)),
      [T.externalData]: (t, p, e) => this.small<StringStringEntry>(t, p, e, StringStringEntryProto, (x) => external.push(x)),
    });
    return initializerFacts(this.file, name, location, external);
  }

  /** A sparse initializer's name is its values tensor's name; it is a constant like any initializer. */
  private sparseTensor(start: number, end: number): void {
    this.fields(start, end, {
      [FIELD.sparseTensor.values]: (t, p, e) => this.message(t, p, e, (s, me) => this.initializers.push(this.tensor(s, me))),
    });
  }

  /** Walk the fields of one message; handlers return the position after the field, others are skipped. */
  private fields(start: number, end: number, handlers: Fields, scope = ""): void {
    let pos = start;
    while (pos < end) {
      const { tag, next } = this.cur.tag(pos);
      tag.label = LABELS[`${scope}.${tag.field}`];
      const handler = handlers[tag.field];
      pos = handler ? handler(tag, next, end) : this.cur.skip(tag, next, end);
      if (pos > end) throw new WireError(`${fieldLabel(tag)} runs past the end of its message`, tag.at);
    }
  }

  private expect(tag: Tag, wireType: number): void {
    if (tag.wireType !== wireType) {
      throw new WireError(`${fieldLabel(tag)} has wire type ${tag.wireType} where ONNX uses ${wireType}`, tag.at);
    }
  }

  private varint(tag: Tag, pos: number, set: (v: number) => void): number {
    this.expect(tag, WIRE.VARINT);
    const { value, next } = this.cur.varint(pos);
    set(value);
    return next;
  }

  private string(tag: Tag, pos: number, end: number, set: (v: string) => void): number {
    this.expect(tag, WIRE.LEN);
    const { value, next } = this.cur.string(pos, end, fieldLabel(tag));
    set(value);
    return next;
  }

  private message(tag: Tag, pos: number, end: number, body: (start: number, end: number) => void): number {
    this.expect(tag, WIRE.LEN);
    const { start, len } = this.cur.length(pos, end, fieldLabel(tag));
    body(start, start + len);
    return start + len;
  }

  /** Decode a small submessage whole with protobufjs (value infos, opsets, key/value entries). */
  private small<T>(tag: Tag, pos: number, end: number, type: Parameters<typeof decodeAs>[0], use: (m: T) => void): number {
    this.expect(tag, WIRE.LEN);
    const { start, len } = this.cur.length(pos, end, fieldLabel(tag));
    let decoded: T;
    try {
      decoded = decodeAs<T>(type, this.cur.bytes(start, len));
    } catch (e) {
      if (e instanceof UserError || e instanceof WireError) throw e;
      throw new WireError(`${fieldLabel(tag)} does not decode as ${type.name} (${(e as Error).message})`, tag.at);
    }
    use(decoded);
    return start + len;
  }
}
