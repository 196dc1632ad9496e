"""A drop-in for the inspection half of the ``ai_edge_litert.interpreter`` module.

It offers the module's names (``Interpreter``, ``InterpreterWithCustomOps``,
``SignatureRunner``, ``OpResolverType``, ``Delegate``, ``load_delegate``) and answers every
call that needs no execution with what LiteRT returns: the same keys in the same order,
equal values, the same Python and numpy types, and the same errors, constructor arguments
included. Calls that would run the model raise :class:`NotImplementedError`; loading a
delegate raises ``ValueError``.

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

from ._arguments import (
    C_INT,
    UINTPTR,
    OpResolverType,
    check_arguments,
    check_threads,
    converts_to_int,
    incompatible,
    resolver_id,
)
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
from ._errors import NOT_RUN, InvalidModelError
from ._loading import load
from ._schema import BUILTIN_OPERATOR_NAMES
from ._verify import verify
from .model import Model

__all__ = ["Delegate", "Interpreter", "InterpreterWithCustomOps", "OpResolverType",
           "SignatureRunner", "load_delegate"]

_NOT_RUN = NOT_RUN + ": {call}() needs a runtime such as ai-edge-litert"


_NO_DELEGATES = (
    "tflparse does not run code: it inspects models and loads or applies no delegates "
    "(a delegate is native code that runs a model)"
)
# the signature LiteRT's binding lists for its methods that take one C++ integer
_SELF_INT = ("(self: ai_edge_litert._pywrap_litert_interpreter_wrapper.InterpreterWrapper, "
             "arg0: int) -> object")
_ALLOCATION = ".The model allocation is null/empty"


def _load_path(path: str | bytes) -> Model:
    """The model at ``path`` as LiteRT opens it (the path ends at a NUL, as a C string
    does), or the error LiteRT gives."""
    raw = (path.encode("utf-8") if isinstance(path, str) else path).split(b"\x00", 1)[0]
    name = os.fsdecode(raw)
    try:
        return load(name)
    except InvalidModelError as error:
        if _size(name) == 0:
            raise InvalidModelError(f"mmap of size 0 requested{_ALLOCATION}") from error
        raise not_a_flatbuffer(error) from error
    except OSError as error:
        descriptor = _directory_descriptor(name)
        if descriptor is not None:  # opens, but cannot be mapped (ENODEV)
            raise InvalidModelError(f"Mmap of '{descriptor}' at offset '0' failed with error "
                                    f"'19'{_ALLOCATION}") from error
        # LiteRT decodes its message as UTF-8: a path that is not gives UnicodeDecodeError
        message = (b"Could not open '" + raw + b"'" + _ALLOCATION.encode()).decode("utf-8")
        raise InvalidModelError(f"{message} ({error.strerror or error})") from error


def _size(name: str) -> int | None:
    try:
        return os.stat(name).st_size
    except OSError:
        return None


def _directory_descriptor(name: str) -> int | None:
    """The descriptor number the runtime's open() of a directory gets (the lowest free
    one), or None when ``name`` is not a directory that opens."""
    if not os.path.isdir(name):
        return None
    try:
        descriptor = os.open(name, os.O_RDONLY)
    except OSError:
        return None
    os.close(descriptor)
    return descriptor


def _cut(raw: bytes | None) -> bytes:
    """A C string as the runtime reads it: up to the first NUL."""
    return (raw or b"").split(b"\x00", 1)[0]


class Interpreter:
    """Model details exactly as LiteRT's ``Interpreter`` reports them, without a runtime.

    Construct it like LiteRT's: ``Interpreter(model_path=...)`` or
    ``Interpreter(model_content=...)``; it takes LiteRT 2.3.0's parameters in the same order
    and checks them as LiteRT does: the same exception, message and order of checks. Those
    that only matter when running (``num_threads``, the op resolver, ...) are then ignored,
    except ``experimental_compress_quantization_zero_points``, which changes what is
    reported. A delegate (only a foreign one can exist) is refused with ``ValueError``.
    Where LiteRT refuses the model, this raises :class:`InvalidModelError` with LiteRT's
    message.
    """

    def __init__(self, model_path: str | bytes | os.PathLike[Any] | None = None,
                 model_content: bytes | None = None,
                 experimental_delegates: Any = None,
                 num_threads: int | None = None,
                 experimental_op_resolver_type: Any = OpResolverType.AUTO,
                 experimental_preserve_all_tensors: bool = False,
                 experimental_disable_delegate_clustering: bool = False,
                 experimental_default_delegate_latest_features: bool = False,
                 experimental_compress_quantization_zero_points: bool = False,
                 experimental_disable_delegate_node_fusion: bool = False,
                 experimental_force_delegate_node_profiling: bool = False) -> None:
        # LiteRT's parameters in its order, checked as it checks them, in its order; all but
        # the zero-point one only matter when running
        if not hasattr(self, "_custom_op_registerers"):
            self._custom_op_registerers: Any = []
        self._compress = experimental_compress_quantization_zero_points
        resolver = resolver_id(experimental_op_resolver_type, experimental_preserve_all_tensors)
        check_threads(num_threads)
        flags = [experimental_preserve_all_tensors, experimental_disable_delegate_clustering,
                 experimental_default_delegate_latest_features,
                 experimental_compress_quantization_zero_points,
                 experimental_disable_delegate_node_fusion,
                 experimental_force_delegate_node_profiling]
        arguments = check_arguments(model_path, model_content, self._custom_op_registerers,
                                    resolver, num_threads, flags)
        if arguments.path is not None:
            model = _load_path(arguments.path)
        else:
            assert arguments.content is not None
            try:
                model = load(arguments.content)
            except InvalidModelError as error:
                raise not_a_flatbuffer(error) from error
        if arguments.empty_registerer:  # found once the model is verified, before building
            try:
                verify(model._fb)
            except InvalidModelError as error:
                raise not_a_flatbuffer(error) from error
            raise RuntimeError("bad_function_call")
        state = construct(model)
        self._delegates = experimental_delegates or []
        if experimental_delegates:
            for delegate in experimental_delegates:
                self._refuse_delegate(delegate._get_native_delegate_pointer())
        self._setup(model, state)

    @classmethod
    def _constructed(cls, model: Model, state: Constructed,
                     experimental_compress_quantization_zero_points: bool = False
                     ) -> Interpreter:
        """An interpreter over a model already loaded and constructed (``construct(model)``),
        as ``Interpreter(model_path=...)`` of the same file would be (default arguments),
        without doing either again (the audit's rules share one)."""
        interpreter = cls.__new__(cls)
        interpreter._custom_op_registerers = []
        interpreter._compress = experimental_compress_quantization_zero_points
        interpreter._delegates = []
        interpreter._setup(model, state)
        return interpreter

    def _setup(self, model: Model, state: Constructed) -> None:
        self._model: Model = model
        self._state: Constructed = state
        self._sources: dict[int, DetailSource] = {}
        try:
            self._signatures = self._read_signatures()
        except UnicodeDecodeError as error:
            raise InvalidModelError(f"{error} (a signature name is not UTF-8)") from error

    def _refuse_delegate(self, pointer: Any) -> None:
        """LiteRT's checks of a delegate's native pointer; a real one is refused, since
        applying a delegate runs its code."""
        address = converts_to_int(pointer, UINTPTR)
        if address is None:
            raise incompatible("ModifyGraphWithDelegate", [_SELF_INT], [self, pointer])
        if address == 0:
            raise RuntimeError("Null delegate.")
        raise ValueError(_NO_DELEGATES)

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
                             f"crashes here), and {NOT_RUN}")
        return constant_value(tensors[tensor_index])

    # -- operators ---------------------------------------------------------------------------

    def _get_op_details(self, op_index: int) -> dict[str, Any]:
        """Node ``op_index`` of subgraph 0, as LiteRT's experimental ``_get_op_details``.

        Nodes are the operators LiteRT keeps, in file order (construction drops some), so
        ``op_index`` counts kept operators. An index outside them is
        ``ValueError('Invalid node index')``; one that is not an integer in C ``int`` range
        is the ``TypeError`` LiteRT's binding raises.
        """
        position = converts_to_int(op_index, C_INT)
        if position is None:
            raise incompatible("NodeInputs", [_SELF_INT], [self, op_index])
        nodes = self._state.subgraphs[0].nodes
        if not 0 <= position < len(nodes):
            raise ValueError("Invalid node index")
        op = self._model.subgraphs[0].operators[nodes[position]]
        # computed in LiteRT's order, so that the first error is the same
        inputs = np.array(op.inputs, np.int32)
        operand_types = [self._get_tensor_details(t, 0)["dtype"]
                         for t in inputs.tolist() if t != -1]
        outputs = np.array(op.outputs, np.int32)
        result_types = [self._get_tensor_details(t, 0)["dtype"]
                        for t in outputs.tolist() if t != -1]
        code = self._model.operator_codes[op.opcode_index]
        if code.is_custom:
            name = _cut(code.custom_code_bytes).decode("utf-8")
        else:
            name = BUILTIN_OPERATOR_NAMES[code.builtin_code]
        return {"index": int(op_index), "op_name": name, "inputs": inputs, "outputs": outputs,
                "operand_types": operand_types, "result_types": result_types}

    def _get_ops_details(self) -> list[dict[str, Any]]:
        """Every node of subgraph 0, as LiteRT's experimental ``_get_ops_details``."""
        return [self._get_op_details(k) for k in range(len(self._state.subgraphs[0].nodes))]

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

    def _safe_to_run(self) -> bool:
        """Always true: tflparse hands out no views of memory a run could reallocate."""
        return True

    @property
    def experimental_compress_quantization_zero_points(self) -> Any:
        return self._compress


class InterpreterWithCustomOps(Interpreter):
    """LiteRT's ``InterpreterWithCustomOps``: ``Interpreter`` plus ``custom_op_registerers``.

    The registerers (symbol names or functions) are checked as LiteRT's binding checks their
    types, then ignored: custom operators need no registration to be inspected, and tflparse
    neither looks names up nor calls functions. Every other argument is a keyword argument
    of :class:`Interpreter`.
    """

    def __init__(self, custom_op_registerers: Any = None, **kwargs: Any) -> None:
        self._custom_op_registerers = custom_op_registerers or []
        super().__init__(**kwargs)


class Delegate:
    """LiteRT's ``Delegate`` wraps a native delegate library; tflparse loads none, so
    constructing one raises ``ValueError``."""

    def __init__(self, library: Any, options: Any = None) -> None:
        raise ValueError(_NO_DELEGATES)


def load_delegate(library: Any, options: Any = None) -> Delegate:
    """Raises ``ValueError``, the error LiteRT's ``load_delegate`` documents for a delegate
    that fails to load: tflparse runs no code. Code written for LiteRT that falls back to no
    delegate on ``ValueError`` keeps working."""
    try:
        return Delegate(library, options)
    except ValueError as error:
        raise ValueError(f"Failed to load delegate from {library}\n{error}") from error


class SignatureRunner:
    """The details half of LiteRT's ``SignatureRunner``."""

    def __init__(self, interpreter: Interpreter | None = None,
                 signature_key: str | None = None) -> None:
        if not interpreter:
            raise ValueError("None interpreter provided.")
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


