"""A drop-in for the inspection half of ``ai_edge_litert.interpreter.Interpreter``.

It answers every call that needs no execution with the dictionaries LiteRT returns: the same
keys in the same order, equal values, the same Python and numpy types, and the same errors.
Calls that would run the model raise :class:`NotImplementedError`.

>>> from tflparse import Interpreter
>>> interpreter = Interpreter(model_path="fixtures/mnist_int8.tflite")
>>> detail = interpreter.get_input_details()[0]
>>> detail["dtype"], detail["shape"].tolist(), detail["quantization"]
(<class 'numpy.int8'>, [1, 28, 28, 1], (0.003921568859368563, -128))
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from ._construction import Constructed, construct, not_a_flatbuffer
from ._details import (
    DetailSource,
    TensorDetails,
    constant_value,
    details_of,
    invalid_index,
    listed_details,
    tensor_details,
)
from ._errors import InvalidModelError
from ._loading import load
from ._schema import BUILTIN_OPERATOR_NAMES
from .model import Model

__all__ = ["Interpreter", "SignatureRunner"]

_NOT_RUN = (
    "tflparse inspects models and does not run them: {call}() needs a runtime such as "
    "ai-edge-litert"
)


def _cut(raw: bytes | None) -> bytes:
    """A C string as the runtime reads it: up to the first NUL."""
    return (raw or b"").split(b"\x00", 1)[0]


class Interpreter:
    """Model details exactly as LiteRT's ``Interpreter`` reports them, without a runtime.

    Construct it like LiteRT's: ``Interpreter(model_path=...)`` or
    ``Interpreter(model_content=...)``; it takes LiteRT 2.3.0's parameters in the same order.
    Those that only matter when running (``num_threads``, ``experimental_delegates``, ...)
    are accepted and ignored, except ``experimental_compress_quantization_zero_points``,
    which changes what is reported. An unknown keyword is a ``TypeError``, as in LiteRT.
    Where LiteRT refuses to construct, this raises :class:`InvalidModelError` with LiteRT's
    message.
    """

    def __init__(self, model_path: str | os.PathLike[str] | None = None,
                 model_content: bytes | None = None,
                 experimental_delegates: Any = None,
                 num_threads: int | None = None,
                 experimental_op_resolver_type: Any = 0,
                 experimental_preserve_all_tensors: bool = False,
                 experimental_disable_delegate_clustering: bool = False,
                 experimental_default_delegate_latest_features: bool = False,
                 experimental_compress_quantization_zero_points: bool = False,
                 experimental_disable_delegate_node_fusion: bool = False,
                 experimental_force_delegate_node_profiling: bool = False) -> None:
        # LiteRT's parameters, in its order; all but the zero-point one only matter when
        # running, and are accepted and ignored (a misspelt keyword is a TypeError there too)
        self._compress = bool(experimental_compress_quantization_zero_points)
        source: str | os.PathLike[str] | bytes
        if model_path and not model_content:
            source = model_path
        elif model_content and not model_path:
            if not isinstance(model_content, bytes):
                raise TypeError("model_content must be bytes, not "
                                f"{type(model_content).__name__}")
            source = model_content
        elif not model_content and not model_path:
            raise ValueError("`model_path` or `model_content` must be specified.")
        else:
            raise ValueError("Can't both provide `model_path` and `model_content`")
        try:
            model = load(source)
        except InvalidModelError as error:
            raise not_a_flatbuffer(error) from error
        except OSError as error:
            raise InvalidModelError(
                f"Could not open '{os.fspath(source)!s}'.The model allocation is "
                f"null/empty ({error.strerror or error})"
            ) from error
        self._setup(model)

    @classmethod
    def _of(cls, model: Model) -> Interpreter:
        """An interpreter over a model already loaded (internal: one read of a remote file)."""
        interpreter = cls.__new__(cls)
        interpreter._compress = False
        interpreter._setup(model)
        return interpreter

    def _setup(self, model: Model) -> None:
        self._model: Model = model
        self._state: Constructed = construct(model)
        self._sources: dict[int, DetailSource] = {}
        try:
            self._signatures = self._read_signatures()
        except UnicodeDecodeError as error:
            raise InvalidModelError(f"{error} (a signature name is not UTF-8)") from error

    @property
    def model(self) -> Model:
        """The model view behind this interpreter (tflparse's extension)."""
        return self._model

    # -- tensors -----------------------------------------------------------------------------

    def num_subgraphs(self) -> int:
        return len(self._state.subgraphs)

    def _count(self, subgraph_index: int) -> int:
        subgraphs = self._state.subgraphs
        if not 0 <= subgraph_index < len(subgraphs):
            # LiteRT crashes the process here; we raise instead.
            raise ValueError(f"Invalid subgraph index {subgraph_index} exceeds max subgraph "
                             f"index {len(subgraphs)}")
        return subgraphs[subgraph_index].num_tensors

    def _source(self, subgraph_index: int) -> DetailSource:
        source = self._sources.get(subgraph_index)
        if source is None:
            count = self._count(subgraph_index)
            source = DetailSource(self._model, subgraph_index, count, self._compress)
            self._sources[subgraph_index] = source
        return source

    def _get_tensor_details(self, tensor_index: int, subgraph_index: int) -> TensorDetails:
        return tensor_details(self._source(int(subgraph_index)), tensor_index)

    def get_tensor_details(self, subgraph_index: int = 0) -> list[TensorDetails]:
        """Details of every tensor of a subgraph, leaving out those LiteRT leaves out."""
        count = len(self._state.subgraphs)
        if subgraph_index < 0 or subgraph_index >= count:
            raise ValueError(f"subgraph_index is out of range: {subgraph_index} for the model, "
                             f"which has {count} subgraphs.")
        return listed_details(self._source(subgraph_index))

    def _details_or_raise(self, indices: list[int], subgraph_index: int) -> list[TensorDetails]:
        found = []
        for detail in details_of(self._source(subgraph_index), indices):
            if isinstance(detail, ValueError):
                raise detail
            found.append(detail)
        return found

    def get_input_details(self) -> list[TensorDetails]:
        """Details of subgraph 0's inputs, in file order."""
        return self._details_or_raise(self._state.subgraphs[0].inputs, 0)

    def get_output_details(self) -> list[TensorDetails]:
        """Details of subgraph 0's outputs, in file order."""
        return self._details_or_raise(self._state.subgraphs[0].outputs, 0)

    def get_tensor(self, tensor_index: int, subgraph_index: int = 0) -> Any:
        """A copy of a constant tensor's value, exactly as LiteRT's ``get_tensor`` returns it.

        That is: INT4/UINT4/INT2 unpacked, STRING/RESOURCE/VARIANT as object arrays of bytes
        (missing entries None), a sparse constant as its stored values (1-D, not densified),
        a rank-0 numeric tensor as a numpy scalar (a rank-0 string one as a 0-d object array).
        Tensors without constant data raise ``ValueError``:
        tflparse does not run models, so only constants have values.
        """
        subgraphs = self._state.subgraphs
        subgraph_index = int(subgraph_index)
        tensor_index = int(tensor_index)
        if not 0 <= subgraph_index < len(subgraphs):
            raise ValueError(f"Invalid subgraph index {subgraph_index} exceeds max subgraph "
                             f"index {len(subgraphs)}")
        count = subgraphs[subgraph_index].num_tensors
        if not 0 <= tensor_index < count:
            raise invalid_index(tensor_index, count)
        tensors = self._model.subgraphs[subgraph_index].tensors
        if tensor_index >= len(tensors):
            raise ValueError(f"Tensor {tensor_index} is a scratch tensor that a kernel adds at "
                             "construction; it has no data before the model runs (LiteRT "
                             "crashes here), and tflparse does not run models")
        return constant_value(tensors[tensor_index])

    # -- operators ---------------------------------------------------------------------------

    def _get_ops_details(self) -> list[dict[str, Any]]:
        """The nodes of subgraph 0, as LiteRT's experimental ``_get_ops_details``."""
        operators = self._model.subgraphs[0].operators
        codes = self._model.operator_codes
        result = []
        for position, k in enumerate(self._state.subgraphs[0].nodes):
            op = operators[k]
            code = codes[op.opcode_index]
            if code.is_custom:
                name = _cut(code.custom_code_bytes).decode("utf-8")
            else:
                name = BUILTIN_OPERATOR_NAMES[code.builtin_code]
            inputs = np.array(op.inputs, np.int32)
            outputs = np.array(op.outputs, np.int32)
            result.append({
                "index": position,
                "op_name": name,
                "inputs": inputs,
                "outputs": outputs,
                "operand_types": [self._get_tensor_details(t, 0)["dtype"]
                                  for t in inputs.tolist() if t != -1],
                "result_types": [self._get_tensor_details(t, 0)["dtype"]
                                 for t in outputs.tolist() if t != -1],
            })
        return result

    # -- signatures --------------------------------------------------------------------------

    def _read_signatures(self) -> dict[str, tuple[int, dict[str, int], dict[str, int]]]:
        """key -> (subgraph index, inputs, outputs), with the runtime's ordering rules."""
        found: dict[str, tuple[int, dict[str, int], dict[str, int]]] = {}
        for signature in self._model.signature_defs:
            key = _cut(signature.key_bytes).decode("utf-8")
            inputs = self._tensor_map(signature.inputs)
            outputs = self._tensor_map(signature.outputs)
            if key not in found:
                found[key] = (signature.subgraph_index, inputs, outputs)
        return found

    @staticmethod
    def _tensor_map(maps: Any) -> dict[str, int]:
        named: dict[bytes, int] = {}
        for entry in maps or ():
            if entry.name_bytes is not None:
                named[_cut(entry.name_bytes)] = entry.tensor_index
        return {name.decode("utf-8"): named[name] for name in sorted(named)}

    def _get_full_signature_list(self) -> dict[str, dict[str, dict[str, int]]]:
        return {key: {"inputs": dict(inputs), "outputs": dict(outputs)}
                for key, (_, inputs, outputs) in self._signatures.items()}

    def get_signature_list(self) -> dict[str, dict[str, list[str]]]:
        """``{key: {'inputs': [names], 'outputs': [names]}}``, names sorted by UTF-8 bytes."""
        return {key: {"inputs": list(inputs), "outputs": list(outputs)}
                for key, (_, inputs, outputs) in self._signatures.items()}

    def get_signature_runner(self, signature_key: str | None = None) -> SignatureRunner:
        """A runner for one signature; it reports details but cannot be called."""
        if signature_key is None:
            if len(self._signatures) != 1:
                raise ValueError(
                    f"SignatureDef signature_key is None and model has {len(self._signatures)} "
                    "Signatures. None is only allowed when the model has 1 SignatureDef")
            signature_key = next(iter(self._signatures))
        return SignatureRunner(self, signature_key)

    # -- what needs a runtime ----------------------------------------------------------------

    def allocate_tensors(self) -> None:
        """Does nothing: tflparse allocates no tensors."""

    def invoke(self) -> None:
        raise NotImplementedError(_NOT_RUN.format(call="invoke"))

    def set_tensor(self, tensor_index: int, value: Any) -> None:
        raise NotImplementedError(_NOT_RUN.format(call="set_tensor"))

    def resize_tensor_input(self, input_index: int, tensor_size: Any,
                            strict: bool = False) -> None:
        raise NotImplementedError(_NOT_RUN.format(call="resize_tensor_input"))

    def tensor(self, tensor_index: int) -> Any:
        raise NotImplementedError(_NOT_RUN.format(call="tensor"))

    def reset_all_variables(self) -> None:
        raise NotImplementedError(_NOT_RUN.format(call="reset_all_variables"))

    @property
    def experimental_compress_quantization_zero_points(self) -> bool:
        return self._compress


class SignatureRunner:
    """The details half of LiteRT's ``SignatureRunner``."""

    def __init__(self, interpreter: Interpreter, signature_key: str) -> None:
        if not signature_key:
            raise ValueError("None signature_key provided.")
        self._interpreter = interpreter
        signatures = interpreter._signatures
        if signature_key not in signatures:
            raise ValueError(f'Invalid signature_key provided: "{signature_key}".')
        self._subgraph_index, self._inputs, self._outputs = signatures[signature_key]
        self._signature_key = signature_key

    def _details(self, named: dict[str, int]) -> dict[str, TensorDetails]:
        get = self._interpreter._get_tensor_details
        return {name: get(index, self._subgraph_index) for name, index in named.items()}

    def get_input_details(self) -> dict[str, TensorDetails]:
        """``{input name: details}`` in sorted name order."""
        return self._details(self._inputs)

    def get_output_details(self) -> dict[str, TensorDetails]:
        """``{output name: details}`` in sorted name order."""
        return self._details(self._outputs)

    def __call__(self, **inputs: Any) -> Any:
        raise NotImplementedError(_NOT_RUN.format(call="SignatureRunner.__call__"))


