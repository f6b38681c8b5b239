// The binary tensor extension codec: what a sender encodes the receiver decodes to the same tensors,
// large tensors are viewed in place, JSON data round-trips every fixed-size dtype, and every malformed
// body is refused with a message that names the tensor and the numbers.
import { describe, expect, it } from "vitest";
import {
  concatParts,
  decodeInferRequest,
  decodeInferResponse,
  encodeInferRequest,
  encodeInferResponse,
  parseHeaderLength,
  ProtocolError,
  type Tensor,
} from "../src/kserve/index.ts";
import { decodeInferResponse as verifyDecode, encodeInferRequest as verifyEncode } from "../src/verify/http.ts";

const enc = new TextEncoder();

function tensors(): Tensor[] {
  return [
    { name: "image", datatype: "UINT8", shape: [1, 2, 3], data: Uint8Array.from([0, 1, 2, 253, 254, 255]) },
    { name: "x", datatype: "FP32", shape: [2, 2], data: Float32Array.from([0.5, -1.25, 3e8, -0]) },
    { name: "ids", datatype: "INT64", shape: [3], data: BigInt64Array.from([0n, -7n, 49407n]) },
    { name: "mask", datatype: "BOOL", shape: [3], data: Uint8Array.from([1, 0, 1]) },
    { name: "half", datatype: "FP16", shape: [3], data: Uint16Array.from([0x3c00, 0xc000, 0x7bff]) }, // 1, -2, 65504
    { name: "big", datatype: "UINT64", shape: [1], data: BigUint64Array.from([12345678901n]) },
    { name: "d", datatype: "FP64", shape: [1], data: Float64Array.from([Math.PI]) },
    { name: "i8", datatype: "INT8", shape: [2], data: Int8Array.from([-128, 127]) },
    { name: "bf", datatype: "BF16", shape: [2], data: Uint16Array.from([0x3f80, 0xc020]) }, // 1, -2.5
  ];
}

function plain(t: Tensor) {
  return { name: t.name, datatype: t.datatype, shape: t.shape, data: Array.from(t.data as ArrayLike<number | bigint>, (v) => String(v)) };
}

describe("request codec", () => {
  it("binary inputs decode to the same tensors, with the header padded so tensors stay aligned", () => {
    const body = encodeInferRequest({ id: "r1", inputs: tensors(), outputs: [{ name: "y" }, { name: "z", binary: false }] });
    expect(body.headerLength! % 8).toBe(0);
    const bytes = concatParts(body);
    expect(bytes.byteLength).toBe(body.byteLength);
    const got = decodeInferRequest(bytes, body.headerLength);
    expect(got.id).toBe("r1");
    expect(got.binaryOutputs).toBe(true);
    // binary outputs asked for: every listed output carries the flag, since Triton applies the
    // request-level binary_data_output only to outputs not listed (server src/http_server.cc, r24.08)
    expect(got.outputs).toEqual([{ name: "y", binary: true, parameters: { binary_data: true } }, { name: "z", binary: false, parameters: { binary_data: false } }]);
    expect(got.inputs.map(plain)).toEqual(tensors().map(plain));
  });

  it("an aligned binary tensor is a view on the received body, a misaligned one an aligned copy", () => {
    const x: Tensor = { name: "x", datatype: "FP32", shape: [4], data: Float32Array.from([1, 2, 3, 4]) };
    const body = concatParts(encodeInferRequest({ inputs: [x] }));
    const h = body.byteLength - 16;
    const viewed = decodeInferRequest(body, h).inputs[0]!.data;
    expect(viewed.buffer).toBe(body.buffer);
    // The same request from a sender that does not pad: the floats start at an odd offset.
    const header = enc.encode(JSON.stringify({ inputs: [{ name: "x", datatype: "FP32", shape: [4], parameters: { binary_data_size: 16 } }] }) + " ".repeat(1));
    const odd = new Uint8Array(header.byteLength + 16);
    odd.set(header);
    odd.set(new Uint8Array(x.data.buffer), header.byteLength);
    expect(header.byteLength % 4).not.toBe(0);
    const copied = decodeInferRequest(odd, header.byteLength).inputs[0]!.data;
    expect(copied.buffer).not.toBe(odd.buffer);
    expect(Array.from(copied as Float32Array)).toEqual([1, 2, 3, 4]);
    // A Node Buffer body too (Buffer#slice is a view, so the copy must not rely on it).
    const fromBuffer = decodeInferRequest(Buffer.from(odd), header.byteLength).inputs[0]!.data;
    expect(fromBuffer.byteOffset % 4).toBe(0);
    expect(Array.from(fromBuffer as Float32Array)).toEqual([1, 2, 3, 4]);
  });

  it("JSON inputs round-trip every fixed-size dtype (BOOL as true/false, INT64 as numbers, FP16 as numbers)", () => {
    const body = encodeInferRequest({ inputs: tensors() }, { binaryInputs: false, binaryOutputs: false });
    expect(body.headerLength).toBeUndefined();
    const json = JSON.parse(new TextDecoder().decode(concatParts(body))) as { inputs: { name: string; data: unknown[] }[]; parameters?: unknown };
    expect(json.parameters).toBeUndefined();
    const byName = Object.fromEntries(json.inputs.map((i) => [i.name, i.data]));
    expect(byName.mask).toEqual([true, false, true]);
    expect(byName.ids).toEqual([0, -7, 49407]);
    expect(byName.half).toEqual([1, -2, 65504]);
    expect(byName.bf).toEqual([1, -2.5]);
    const got = decodeInferRequest(concatParts(body), undefined);
    expect(got.binaryOutputs).toBe(false);
    expect(got.inputs.map(plain)).toEqual(tensors().map(plain));
  });

  it("accepts nested JSON data, as Triton does", () => {
    const text = JSON.stringify({ inputs: [{ name: "x", datatype: "INT32", shape: [2, 2], data: [[1, 2], [3, 4]] }] });
    expect(Array.from(decodeInferRequest(enc.encode(text), undefined).inputs[0]!.data as Int32Array)).toEqual([1, 2, 3, 4]);
  });

  it("reads bodies the verify client encodes", () => {
    const x: Tensor = { name: "INPUT__0", datatype: "UINT8", shape: [1, 2, 2, 3], data: Uint8Array.from({ length: 12 }, (_, i) => i) };
    const { body, headerLength } = verifyEncode([x], ["OUTPUT__0"]);
    const got = decodeInferRequest(body, headerLength);
    expect(plain(got.inputs[0]!)).toEqual(plain(x));
    expect(got.outputs).toEqual([{ name: "OUTPUT__0", binary: true, parameters: { binary_data: true } }]);
  });
});

describe("response codec", () => {
  it("binary and JSON outputs in one response; the header length is set only when bytes follow", () => {
    const [a, b, c] = tensors();
    const body = encodeInferResponse({ model_name: "m", model_version: "1", id: "7", outputs: [{ tensor: a!, binary: true }, { tensor: b!, binary: false }, { tensor: c!, binary: true }] });
    expect(body.headerLength! % 8).toBe(0);
    const got = decodeInferResponse(concatParts(body), body.headerLength);
    expect(got).toMatchObject({ model_name: "m", model_version: "1", id: "7" });
    expect(got.outputs.map(plain)).toEqual([a!, b!, c!].map(plain));
    const jsonOnly = encodeInferResponse({ model_name: "m", outputs: [{ tensor: b!, binary: false }] });
    expect(jsonOnly.headerLength).toBeUndefined();
    expect(decodeInferResponse(concatParts(jsonOnly), undefined).outputs.map(plain)).toEqual([plain(b!)]);
  });

  it("the verify client decodes what serve-local sends (padding included)", () => {
    const t: Tensor = { name: "OUTPUT__0", datatype: "FP32", shape: [1, 3], data: Float32Array.from([1, 2, 3]) };
    const body = encodeInferResponse({ model_name: "m", outputs: [{ tensor: t, binary: true }] });
    expect(Array.from(verifyDecode(concatParts(body), body.headerLength)[0]!.data as Float32Array)).toEqual([1, 2, 3]);
  });
});

/** A request body: JSON header object then raw bytes; headerLength defaults to the JSON length. */
function raw(header: unknown, bytes = new Uint8Array(0)): Uint8Array {
  const h = enc.encode(typeof header === "string" ? header : JSON.stringify(header));
  const out = new Uint8Array(h.byteLength + bytes.byteLength);
  out.set(h);
  out.set(bytes, h.byteLength);
  return out;
}
const hlen = (header: unknown) => enc.encode(typeof header === "string" ? header : JSON.stringify(header)).byteLength;
const bothIn = { inputs: [{ name: "x", datatype: "FP32", shape: [1], data: [1], parameters: { binary_data_size: 4 } }] };
const fp32In = (size: number) => ({ inputs: [{ name: "x", datatype: "FP32", shape: [2], parameters: { binary_data_size: size } }] });

describe("malformed bodies are refused with the numbers", () => {
  const cases: [string, () => unknown, RegExp][] = [
    ["header length past the body", () => decodeInferRequest(raw(fp32In(8), new Uint8Array(8)), 500), /Inference-Header-Content-Length is 500, but the request body has only \d+ bytes/],
    ["binary_data_size that does not fit dtype × shape", () => decodeInferRequest(raw(fp32In(12), new Uint8Array(12)), hlen(fp32In(12))), /input 'x': binary_data_size is 12, but FP32 \[2\] takes 8 bytes/],
    ["missing bytes", () => decodeInferRequest(raw(fp32In(8), new Uint8Array(5)), hlen(fp32In(8))), /input 'x': needs 8 bytes at offset \d+, but the body ends after 5 more/],
    ["trailing bytes", () => decodeInferRequest(raw(fp32In(8), new Uint8Array(11)), hlen(fp32In(8))), /3 unexpected bytes after the last binary input/],
    ["binary_data_size without the header", () => decodeInferRequest(raw(fp32In(8)), undefined), /binary_data_size but the message has no Inference-Header-Content-Length/],
    ["malformed JSON", () => decodeInferRequest(raw('{"inputs": ['), undefined), /failed to parse the request JSON/],
    ["a header length that cuts the JSON", () => decodeInferRequest(raw(fp32In(8), new Uint8Array(8)), 10), /failed to parse the request JSON \(first 10 bytes\)/],
    ["a non-numeric header length", () => parseHeaderLength("12abc"), /must be a non-negative integer, got "12abc"/],
    ["unknown datatype", () => decodeInferRequest(raw({ inputs: [{ name: "x", datatype: "FLOAT", shape: [1], data: [1] }] }), undefined), /input 'x': unknown datatype "FLOAT"/],
    ["BYTES", () => decodeInferRequest(raw({ inputs: [{ name: "s", datatype: "BYTES", shape: [1], data: ["a"] }] }), undefined), /input 's': datatype BYTES is not supported/],
    ["a negative dimension", () => decodeInferRequest(raw({ inputs: [{ name: "x", datatype: "FP32", shape: [-1], data: [] }] }), undefined), /shape must be an array of non-negative integers/],
    ["too few JSON elements", () => decodeInferRequest(raw({ inputs: [{ name: "x", datatype: "FP32", shape: [3], data: [1, 2] }] }), undefined), /data holds 2 elements, shape \[3\] needs 3/],
    ["too many JSON elements", () => decodeInferRequest(raw({ inputs: [{ name: "x", datatype: "FP32", shape: [1], data: [1, 2] }] }), undefined), /Shape does not match true shape of 'data' field: data holds 2 elements, shape \[1\] needs 1/],
    ["a shape far larger than its JSON data (no allocation)", () => decodeInferRequest(raw({ inputs: [{ name: "x", datatype: "UINT8", shape: [1e9, 256, 256, 3], data: [1, 2, 3] }] }), undefined), /data holds 3 elements, shape \[1000000000, 256, 256, 3\] needs 196608000000000/],
    ["BOOL given a number", () => decodeInferRequest(raw({ inputs: [{ name: "b", datatype: "BOOL", shape: [1], data: [1] }] }), undefined), /element 0 is 1, expected true or false/],
    ["UINT8 out of range", () => decodeInferRequest(raw({ inputs: [{ name: "u", datatype: "UINT8", shape: [2], data: [1, 256] }] }), undefined), /element 1 is 256, expected an integer in \[0, 255\]/],
    ["INT64 given a fraction", () => decodeInferRequest(raw({ inputs: [{ name: "t", datatype: "INT64", shape: [1], data: [1.5] }] }), undefined), /element 0 is 1.5, expected an integer/],
    ["a duplicate input", () => decodeInferRequest(raw({ inputs: [{ name: "x", datatype: "FP32", shape: [1], data: [1] }, { name: "x", datatype: "FP32", shape: [1], data: [1] }] }), undefined), /input 'x' appears more than once/],
    ["data and binary_data_size both", () => decodeInferRequest(raw(bothIn, new Uint8Array(4)), hlen(bothIn)), /input 'x' has both data and parameters.binary_data_size/],
    ["no inputs", () => decodeInferRequest(raw({}), undefined), /the request has no inputs/],
    ["an output asked twice", () => decodeInferRequest(raw({ inputs: [], outputs: [{ name: "y" }, { name: "y" }] }), undefined), /output 'y' is requested more than once/],
    ["binary_data that is not a boolean", () => decodeInferRequest(raw({ inputs: [], outputs: [{ name: "y", parameters: { binary_data: "yes" } }] }), undefined), /parameters.binary_data must be true or false/],
    ["a response whose binary sizes miss bytes", () => decodeInferResponse(raw({ model_name: "m", outputs: [{ name: "y", datatype: "FP32", shape: [2], parameters: { binary_data_size: 8 } }] }, new Uint8Array(4)), hlen({ model_name: "m", outputs: [{ name: "y", datatype: "FP32", shape: [2], parameters: { binary_data_size: 8 } }] })), /output 'y': needs 8 bytes/],
    ["a tensor whose data does not fit its shape (sender side)", () => encodeInferRequest({ inputs: [{ name: "x", datatype: "FP32", shape: [3], data: new Float32Array(2) }] }), /input x: 2 elements for shape \[3\] \(3\)/],
  ];
  for (const [what, run, message] of cases) {
    it(what, () => {
      let err: unknown;
      try {
        run();
      } catch (e) {
        err = e;
      }
      expect(err, "expected a ProtocolError").toBeInstanceOf(ProtocolError);
      expect((err as ProtocolError).status).toBe(400);
      expect((err as Error).message).toMatch(message);
    });
  }
});
