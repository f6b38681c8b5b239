"""A minimal stand-in for Triton's `triton_python_backend_utils`, enough to run the model.py files
that synth-repo generates outside Triton (serve-local and the tests). It offers the names Triton's
module offers for what those files use; it is not Triton, and says so in its errors."""

import numpy as np

# Filled by step_host.py from the tool's one dtype table (src/dtype.ts), so no table lives here.
TRITON_TO_NUMPY = {}


class TritonError(Exception):
    def __init__(self, message, code=None):
        super().__init__(message)
        self._message = message
        self._code = code

    def message(self):
        return self._message

    def code(self):
        return self._code


class TritonModelException(Exception):
    pass


class Tensor:
    def __init__(self, name, array):
        self._name = name
        self._array = np.asarray(array)

    def name(self):
        return self._name

    def as_numpy(self):
        return self._array

    def shape(self):
        return list(self._array.shape)

    def is_cpu(self):
        return True


class InferenceRequest:
    def __init__(self, inputs, requested_output_names=(), request_id=""):
        self._inputs = list(inputs)
        self._requested = list(requested_output_names)
        self._id = request_id

    def inputs(self):
        return self._inputs

    def requested_output_names(self):
        return self._requested

    def request_id(self):
        return self._id


class InferenceResponse:
    def __init__(self, output_tensors=None, error=None):
        self._outputs = list(output_tensors or [])
        self._error = error

    def output_tensors(self):
        return self._outputs

    def has_error(self):
        return self._error is not None

    def error(self):
        return self._error


def get_input_tensor_by_name(request, name):
    for t in request.inputs():
        if t.name() == name:
            return t
    return None


def get_output_tensor_by_name(response, name):
    for t in response.output_tensors():
        if t.name() == name:
            return t
    return None


def _find(entries, name):
    for e in entries or []:
        if e.get("name") == name:
            return e
    return {}


def get_input_config_by_name(model_config, name):
    return _find(model_config.get("input"), name)


def get_output_config_by_name(model_config, name):
    return _find(model_config.get("output"), name)


def triton_string_to_numpy(triton_type_string):
    try:
        return np.dtype(TRITON_TO_NUMPY[triton_type_string])
    except KeyError:
        raise TritonModelException("unknown Triton data type %r" % (triton_type_string,))
