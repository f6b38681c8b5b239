// The reference reader: decode the whole file with protobufjs and build the same OnnxIO shape as the
// header walk. Costs the full file in memory and time; tests cross-check the walk against it and the
// benchmark uses it as the baseline.
import { readFile } from "node:fs/promises";
import { assembleIO, assertOnnxFile, initializerFactsOfTensor, metadataRecord, noGraphError, notOnnxError, tensorIOFromValueInfo, type OnnxIO } from "./io.ts";
import { ModelProto, decodeAs, int64ToNumber, type Model } from "./schema.ts";

export async function readOnnxIOFull(file: string): Promise<OnnxIO> {
  assertOnnxFile(file);
  const bytes = await readFile(file);
  if (bytes.length === 0) throw notOnnxError(file, "the file is empty", 0);
  let model: Model;
  try {
    model = decodeAs<Model>(ModelProto, bytes);
  } catch (e) {
    const offset = /offset (\d+)/.exec((e as Error).message)?.[1];
    throw notOnnxError(file, (e as Error).message, offset === undefined ? 0 : Number(offset));
  }
  const g = model.graph;
  if (!g) throw noGraphError(file);
  const sparse = (g.sparse_initializer ?? []).flatMap((s) => (s.values ? [s.values] : []));
  return assembleIO({
    irVersion: int64ToNumber(model.ir_version),
    producerName: model.producer_name ?? "",
    opsets: (model.opset_import ?? []).map((o) => ({ domain: o.domain ?? "", version: int64ToNumber(o.version) })),
    inputs: (g.input ?? []).map(tensorIOFromValueInfo),
    outputs: (g.output ?? []).map(tensorIOFromValueInfo),
    initializers: [...(g.initializer ?? []), ...sparse].map((t) => initializerFactsOfTensor(file, t)),
    metadata: metadataRecord(model.metadata_props ?? []),
  });
}
