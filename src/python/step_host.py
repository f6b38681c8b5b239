"""Runs one generated Python-backend model.py outside Triton, as a persistent child process.

Control frames on stdin and stdout: a 4-byte little-endian length, then that many bytes of JSON
header. Tensor bytes travel through a shared-memory file when the host passed one (as Triton's own
Python backend exchanges tensors through /dev/shm), else on the pipe right after the header:
  - a tensor entry with an "offset" has its `size` bytes at that offset of the shared file;
  - the bytes of every entry without one follow the header on the pipe, in order.
Requests:
  {"op": "init", "model_py": path, "args": {...}, "dtypes": {"TYPE_FP32": "float32", ...},
   "shm_fd": 3}                     (shm_fd: the shared file, open read-write; absent: pipes only)
  {"op": "execute", "inputs": [{"name", "numpy", "shape", "size", "offset"?}], "outputs": [names]}
  {"op": "finalize"}
Replies are {"ok": true, ...} or {"ok": false, "error": "..."}. The init reply says
"shm": true when the file is mapped, or "shm": false with "shm_error" (the host then uses the pipes).
Execute replies carry outputs [{"name", "dtype", "shape", "size", "offset"?}]. Outputs are written
past the request's inputs (an output may be a view of an input), each offset a multiple of 64; the
file grows here when they do not fit (allocated first, so a full tmpfs is an error, not a SIGBUS),
and a reply whose outputs cannot get room goes on the pipe, with "shm_full": why. Inputs are
read-only views of the mapping, valid during execute() (the next request overwrites them). The
model's own prints go to stderr, so they cannot corrupt the frames."""

import importlib.util
import json
import mmap
import os
import struct
import sys
import traceback

import numpy as np

PROTOCOL_OUT = os.fdopen(os.dup(sys.stdout.fileno()), "wb", buffering=0)
sys.stdout = sys.stderr  # model code that prints must not write into the protocol stream
PROTOCOL_IN = sys.stdin.buffer

ALIGN = 64
INITIAL_SHM = 1 << 20


def aligned(n):
    return (n + ALIGN - 1) // ALIGN * ALIGN


class SharedFile:
    """The host's shared file, mapped; remapped (never resized in place: inputs may still view the old
    mapping) when the host's writes or our outputs need more."""

    def __init__(self, fd):
        self.fd = fd
        self.map = None
        self.reserve(INITIAL_SHM)

    def reserve(self, size):
        """Makes [0, size) allocated and mapped; raises OSError (e.g. ENOSPC) when it cannot."""
        have = os.fstat(self.fd).st_size
        if size > have:
            size = max(size, 2 * have)
            size = (size + mmap.PAGESIZE - 1) // mmap.PAGESIZE * mmap.PAGESIZE
            if hasattr(os, "posix_fallocate"):
                os.posix_fallocate(self.fd, 0, size)
            else:
                os.ftruncate(self.fd, size)
            have = size
        if self.map is None or len(self.map) < have:
            self.map = mmap.mmap(self.fd, have)

    def view(self, offset, size):
        if offset + size > len(self.map):
            self.reserve(offset + size)  # the host's positioned write grew the file
        return memoryview(self.map)[offset:offset + size]


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
    """The header and the bytes that follow it on the pipe (None for a tensor in the shared file)."""
    (length,) = struct.unpack("<I", read_exact(4))
    header = json.loads(read_exact(length))
    blobs = [None if "offset" in t else read_exact(t["size"]) for t in header.get("inputs", [])]
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


def place_outputs(shm, header, arrays, outputs):
    """Copies each output once into the shared file past the inputs; why not when it has no room."""
    cursor = max([t["offset"] + t["size"] for t in header["inputs"] if "offset" in t] or [0])
    offsets = []
    for array in arrays:
        offset = aligned(cursor) if array.nbytes else None
        offsets.append(offset)
        if offset is not None:
            cursor = offset + array.nbytes
    try:
        shm.reserve(cursor)
    except OSError as e:
        return "%s: %s" % (type(e).__name__, e)
    for array, offset, entry in zip(arrays, offsets, outputs):
        if offset is not None:
            # One copy, straight from the array (contiguous or not, any byte order) into the mapping.
            np.copyto(np.ndarray(array.shape, array.dtype.newbyteorder("<"), buffer=shm.map, offset=offset), array)
            entry["offset"] = offset
    return None


def execute(pb_utils, model, shm, header, blobs):
    tensors = []
    for t, blob in zip(header["inputs"], blobs):
        if blob is None:
            if shm is None:
                raise RuntimeError("input %s is in shared memory, which this process has not mapped" % t["name"])
            blob = shm.view(t["offset"], t["size"])
        array = np.frombuffer(blob, dtype=np.dtype(t["numpy"])).reshape(t["shape"])
        array.flags.writeable = False  # as from the pipe's bytes: a model cannot write into the request
        tensors.append(pb_utils.Tensor(t["name"], array))
    request = pb_utils.InferenceRequest(tensors, header.get("outputs", []))
    responses = model.execute([request])
    if not responses or len(responses) != 1:
        raise RuntimeError("execute() must return one response per request")
    response = responses[0]
    if response.has_error():
        error = response.error()
        return {"ok": False, "error": error.message() if hasattr(error, "message") else str(error)}, []
    outputs, arrays = [], []
    for tensor in response.output_tensors():
        array = np.asarray(tensor.as_numpy())
        if array.dtype.hasobject:
            raise TypeError("output %s has dtype object (BYTES): the step host carries fixed-size dtypes only" % tensor.name())
        outputs.append({"name": tensor.name(), "dtype": array.dtype.name, "shape": list(array.shape), "size": array.nbytes})
        arrays.append(array)
    reply = {"ok": True, "outputs": outputs}
    if shm is not None:
        full = place_outputs(shm, header, arrays, outputs)
        if full is None:
            return reply, []
        reply["shm_full"] = full
    blobs = []
    for array in arrays:
        array = np.asarray(array, order="C")  # unlike ascontiguousarray, keeps 0-d tensors 0-d
        if array.dtype.byteorder == ">":  # the protocol is little-endian
            array = array.astype(array.dtype.newbyteorder("<"))
        blobs.append(array)
    return reply, blobs


def open_shared(fd):
    try:
        return SharedFile(fd), None
    except (OSError, ValueError) as e:
        return None, "%s: %s" % (type(e).__name__, e)


def main():
    pb_utils = model = shm = None
    while True:
        try:
            header, blobs = read_frame()
        except EOFError:
            break
        op = header.get("op")
        try:
            if op == "init":
                reply = {"ok": True}
                if header.get("shm_fd") is not None:
                    shm, why = open_shared(header["shm_fd"])
                    reply.update({"shm": True} if shm else {"shm": False, "shm_error": why})
                pb_utils, model = load_model(header["model_py"], header.get("dtypes", {}))
                if hasattr(model, "initialize"):
                    model.initialize(header["args"])
                write_frame(reply)
            elif op == "execute":
                reply, out_blobs = execute(pb_utils, model, shm, header, blobs)
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
        blobs = None  # drop the views of this request's inputs before the next one is written


if __name__ == "__main__":
    main()
