"""Runs one generated Python-backend model.py outside Triton, as a persistent child process.

Frames on stdin and stdout: a 4-byte little-endian length, that many bytes of JSON header, then
the raw tensor bytes the header announces (each tensor's `size`, in order). Requests:
  {"op": "init", "model_py": path, "args": {...}, "dtypes": {"TYPE_FP32": "float32", ...}}
  {"op": "execute", "inputs": [{"name", "numpy", "shape", "size"}], "outputs": [names]}
  {"op": "finalize"}
Replies are {"ok": true, ...} or {"ok": false, "error": "..."}; execute replies carry outputs
[{"name", "dtype", "shape", "size"}] followed by their bytes. The model's own prints go to stderr,
so they cannot corrupt the frames."""

import importlib.util
import json
import os
import struct
import sys
import traceback

import numpy as np

PROTOCOL_OUT = os.fdopen(os.dup(sys.stdout.fileno()), "wb", buffering=0)
sys.stdout = sys.stderr  # model code that prints must not write into the protocol stream
PROTOCOL_IN = sys.stdin.buffer


def read_exact(n):
    chunks = []
    while n > 0:
        chunk = PROTOCOL_IN.read(n)
        if not chunk:
            raise EOFError
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


def read_frame():
    (length,) = struct.unpack("<I", read_exact(4))
    header = json.loads(read_exact(length))
    blobs = [read_exact(t["size"]) for t in header.get("inputs", [])]
    return header, blobs


def write_all(buf):
    # A raw pipe write may take fewer bytes than offered; arrays go out from their own memory.
    view = memoryview(buf)
    if view.nbytes == 0:
        return
    view = view.cast("B") if view.ndim != 1 or view.format != "B" else view
    while len(view):
        view = view[PROTOCOL_OUT.write(view):]


def write_frame(header, blobs=()):
    data = json.dumps(header).encode()
    write_all(struct.pack("<I", len(data)) + data)
    for blob in blobs:
        write_all(blob)


def load_model(path, dtypes):
    here = os.path.dirname(os.path.abspath(__file__))
    if here not in sys.path:
        sys.path.insert(0, here)
    import triton_python_backend_utils as pb_utils

    pb_utils.TRITON_TO_NUMPY.update(dtypes)
    spec = importlib.util.spec_from_file_location("generated_model", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return pb_utils, module.TritonPythonModel()


def execute(pb_utils, model, header, blobs):
    tensors = []
    for t, blob in zip(header["inputs"], blobs):
        array = np.frombuffer(blob, dtype=np.dtype(t["numpy"])).reshape(t["shape"])
        tensors.append(pb_utils.Tensor(t["name"], array))
    request = pb_utils.InferenceRequest(tensors, header.get("outputs", []))
    responses = model.execute([request])
    if not responses or len(responses) != 1:
        raise RuntimeError("execute() must return one response per request")
    response = responses[0]
    if response.has_error():
        error = response.error()
        return {"ok": False, "error": error.message() if hasattr(error, "message") else str(error)}, []
    outputs, out_blobs = [], []
    for tensor in response.output_tensors():
        array = np.asarray(tensor.as_numpy(), order="C")  # unlike ascontiguousarray, keeps 0-d tensors 0-d
        if array.dtype.byteorder == ">":  # the protocol is little-endian
            array = array.astype(array.dtype.newbyteorder("<"))
        outputs.append({"name": tensor.name(), "dtype": array.dtype.name, "shape": list(array.shape), "size": array.nbytes})
        out_blobs.append(array)
    return {"ok": True, "outputs": outputs}, out_blobs


def main():
    pb_utils = model = None
    while True:
        try:
            header, blobs = read_frame()
        except EOFError:
            break
        op = header.get("op")
        try:
            if op == "init":
                pb_utils, model = load_model(header["model_py"], header.get("dtypes", {}))
                if hasattr(model, "initialize"):
                    model.initialize(header["args"])
                write_frame({"ok": True})
            elif op == "execute":
                reply, out_blobs = execute(pb_utils, model, header, blobs)
                write_frame(reply, out_blobs)
            elif op == "finalize":
                if model is not None and hasattr(model, "finalize"):
                    model.finalize()
                write_frame({"ok": True})
                break
            else:
                write_frame({"ok": False, "error": "unknown op %r" % (op,)})
        except Exception as e:  # the host reports it; the process stays up for the next request
            traceback.print_exc(file=sys.stderr)
            write_frame({"ok": False, "error": "%s: %s" % (type(e).__name__, e)})


if __name__ == "__main__":
    main()
