// Public API of src/kserve: the KServe v2 protocol (as Triton speaks it) as types, and the binary
// tensor extension codec, pure. serve-local and the client both speak through it.
export * from "./types.ts";
export { GPU_MEMORY_TOTAL, GPU_MEMORY_USED, SIMULATED_GPU_UUID_PREFIX } from "./gpu-metrics.ts";
export { ProtocolError, isProtocolError } from "./error.ts";
export { bytesOf, checkShape, checkTensor, dataFromBytes, dataFromJson, dataToJson, fixedDType, type Tensor, type TensorData } from "./tensor.ts";
export {
  binaryOutput,
  concatParts,
  decodeInferRequest,
  decodeInferResponse,
  encodeInferRequest,
  encodeInferResponse,
  parseHeaderLength,
  wireSize,
  type DecodedInferRequest,
  type EncodeRequestOptions,
  type EncodeResponseInput,
  type EncodedBody,
  type InferRequest,
  type InferResponse,
  type RequestedOutput,
  type ResponseOutput,
} from "./codec.ts";
