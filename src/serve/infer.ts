// POST /v2/models/{m}[/versions/{v}]/infer, the hot path: the request's arrival is stamped (its queue
// time starts there, src/serve/served-model.ts), the model is looked up (an unknown or unready model
// is answered before its body is read, as Triton's CheckTransactionPolicy does), then the body is
// read into one buffer, decoded with binary tensors viewed in place, checked against the model's
// config, run, and answered with the outputs' own bytes written after the JSON header (no
// copy into a response buffer, no JSON encoding of binary tensors). Outputs: the ones named, else
// all; binary or JSON by Triton's rule (binaryOutput in src/kserve/codec.ts).
import type { IncomingMessage, ServerResponse } from "node:http";
import { performance } from "node:perf_hooks";
import { binaryOutput, decodeInferRequest, encodeInferResponse, HEADER_LENGTH, parseHeaderLength, type RequestedOutput, type ResponseOutput } from "../kserve/index.ts";
import { readBody } from "./body.ts";
import type { AppContext } from "./handlers.ts";
import { sendEncoded } from "./reply.ts";
import type { RouteParams } from "./router.ts";

const HEADER = HEADER_LENGTH.toLowerCase();

export async function inferHandler(app: AppContext, req: IncomingMessage, res: ServerResponse, p: RouteParams): Promise<void> {
  const arrived = performance.now();
  const model = app.registry.acquire(p.model!, p.version);
  try {
    const body = await readBody(req, app.maxBodyBytes);
    const request = decodeInferRequest(body, parseHeaderLength(req.headers[HEADER]));
    const wanted: RequestedOutput[] = request.outputs ?? model.signature.outputs.map((o) => ({ name: o.name }));
    const tensors = await model.execute(request.inputs, wanted.map((o) => o.name), arrived);
    const outputs: ResponseOutput[] = tensors.map((tensor, i) => ({ tensor, binary: binaryOutput(request, request.outputs?.[i]) }));
    const encoded = encodeInferResponse({ model_name: model.name, model_version: model.version, ...(request.id !== undefined ? { id: request.id } : {}), outputs });
    sendEncoded(res, 200, encoded);
  } finally {
    model.release();
  }
}
