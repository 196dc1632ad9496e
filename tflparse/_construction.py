"""What LiteRT 2.3.0 decides when it constructs an ``Interpreter`` from a model.

``construct(model)`` applies the runtime's construction checks in the runtime's order and
collects its messages the way its error reporter does (every message of a failed build,
concatenated). It either raises :class:`InvalidModelError` with that text, or returns a
:class:`Constructed` record of what the Python ``Interpreter`` later reports from: the tensor
count of each subgraph including scratch tensors that kernels add at construction, the
input and output lists after the runtime's silent reset of bad ones, the operators that
become nodes, and each tensor's parsed quantization kind.

The rules are written down in ``docs/litert-rules.md`` with the tests that check each one
against the real interpreter; the per-operator tables live in ``_kernels.py``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from . import _flatbuf, _kernels
from ._columns import OperatorColumns, TensorColumns
from ._dtypes import TYPES, type_info
from ._errors import InvalidModelError
from ._quant_kind import QuantKind, quant_kinds
from ._schema import (
    BUILTIN_OPERATOR_NAMES,
    BuiltinOperator,
    LSTMKernelType,
    LSTMOptions,
    TensorType,
)
from ._verify import verify
from .model import Model, MultiAxisQuantization, Operator, Subgraph, Tensor

__all__ = ["Constructed", "SubgraphState", "construct", "bytes_required", "UNSIZED_TYPES",
           "SIZE_T", "zero_points_match", "axis_in_range", "scale_count_fits"]

SCHEMA_VERSION = 3
#: types whose byte size the runtime does not derive from the shape
UNSIZED_TYPES = frozenset({TensorType.STRING, TensorType.RESOURCE, TensorType.VARIANT})
#: the runtime's size_t wraps at this value
SIZE_T = 1 << 64
_FILE_ORDER_LIMIT = 1 << 31


class SubgraphState(NamedTuple):
    """One subgraph as the constructed interpreter holds it."""

    #: tensors in the file plus scratch tensors added by kernels at construction
    num_tensors: int
    inputs: list[int]
    outputs: list[int]
    #: operator indices (into the subgraph's operators) that became nodes, in order
    nodes: list[int]


class Constructed(NamedTuple):
    """Everything the Interpreter facade needs beyond the model view."""

    subgraphs: list[SubgraphState]


class _Failed(Exception):
    """The build stops here; the collected messages are the error."""


def as_c_int(value: int) -> int:
    """An unsigned 32-bit field as LiteRT's messages print it (``%d``: its signed reading)."""
    return value - (1 << 32) if value >= 1 << 31 else value


def has_kernel(builtin: int, version: int) -> bool:
    """Whether the default op resolver has a kernel for this builtin code and version."""
    supported = _kernels.SUPPORTED_VERSIONS.get(builtin)
    return supported is not None and supported[0] <= version <= supported[1]


def _multiply(a: int, b: int) -> tuple[int, bool]:
    """``a * b`` in size_t arithmetic, and whether the runtime's overflow check trips."""
    product = (a * b) % SIZE_T
    overflow = ((a | b) >> 32) != 0 and a != 0 and product // a != b
    return product, overflow


def bytes_required(tensor_type: int, dims: np.ndarray) -> tuple[int, str | None]:
    """(bytes, error) as the runtime's BytesRequired computes them for a tensor.

    A negative dimension counts as an element overflow, whatever the other dimensions are;
    otherwise products are size_t products checked the runtime's way, and packed types
    (INT4, UINT4: two per byte; INT2: four) round up. ``error`` is the runtime's message.
    Established against LiteRT 2.3.0 (tests/test_differential.py).
    """
    elements_overflow = "tflite/util.cc BytesRequired number of elements overflowed.\n"
    values = dims.tolist()
    if any(dim < 0 for dim in values):
        return 0, elements_overflow
    count = 1
    for dim in values:
        count, overflow = _multiply(count, dim)
        if overflow:
            return 0, elements_overflow
    info = type_info(tensor_type)
    bits = info.bits if info is not None else 8
    total, overflow = _multiply(max(bits // 8, 1), count)
    if overflow:
        return 0, "tflite/util.cc BytesRequired number of bytes overflowed.\n"
    if bits < 8:
        per_byte = 8 // bits
        total = (total + per_byte - 1) // per_byte
    return total, None


# The runtime's three checks of affine parameters, one function each: construction applies
# them in order (the first failure is its message), the audit reports each on its own.


def zero_points_match(scale_count: int, zero_point_count: int | None) -> bool:
    """Whether the zero points are present (``None``: absent) and as many as the scales."""
    return zero_point_count is not None and zero_point_count == scale_count


def axis_in_range(axis: int, rank: int) -> bool:
    """Whether ``quantized_dimension`` is acceptable: never negative, and below the rank
    unless the shape is empty (a scalar or absent shape skips the upper bound)."""
    return axis >= 0 and (rank == 0 or axis < rank)


def scale_count_fits(scale_count: int, axis: int, shape: Sequence[int]) -> bool:
    """Whether there is one scale, or one per entry of dimension ``axis`` (which must be in
    range); an empty shape accepts any count."""
    return scale_count == 1 or not len(shape) or scale_count == shape[axis]


def _check_quantization(tensor: Tensor, num_file_tensors: int) -> str | None:
    """The runtime's message for invalid quantization parameters, or None when valid."""
    q = tensor.quantization
    kind = QuantKind.NONE if q is None else q.kind
    if q is None or kind == QuantKind.NONE:
        return None
    dims = tensor.shape
    if kind == QuantKind.BLOCKWISE:
        return None if q.details is not None else "Blockwise quantization details are missing."
    if kind == QuantKind.MULTI_AXIS:
        multi = q.details
        if not isinstance(multi, MultiAxisQuantization) or multi.quantized_dimensions is None:
            return "Invalid MultiAxisQuantization parameters."
        count = num_file_tensors
        if not 0 <= multi.scales < count:
            return (f"MultiAxisQuantization scales tensor index must be in range [0, {count}). "
                    f"Was {multi.scales}.")
        if multi.zero_points != -1 and not 0 <= multi.zero_points < count:
            return (f"MultiAxisQuantization zero_points tensor index must be in range "
                    f"[0, {count}), or -1 if optional. Was {multi.zero_points}.")
        if multi.block_size < 0:
            return f"MultiAxisQuantization block_size must be non-negative. Was {multi.block_size}."
        axes = multi.quantized_dimensions.tolist()
        if not axes:
            return "MultiAxisQuantization must have at least one quantized dimension."
        for position, axis in enumerate(axes):
            if axis < 0 or (len(dims) and axis >= len(dims)):
                return (f"MultiAxisQuantization quantized_dimensions must be in range "
                        f"[0, {len(dims)}). Value {axis} at index {position} is invalid.")
        return None
    scale, zero_point = q.scale, q.zero_point
    assert scale is not None
    if zero_point is None:
        return "Quantization parameters has non-null scale but null zero_point."
    if not zero_points_match(len(scale), len(zero_point)):
        return (f"QuantizationParam has {len(zero_point)} zero_point values and {len(scale)} "
                "scale values. Must have same number.")
    axis = q.quantized_dimension
    if not axis_in_range(axis, len(dims)):
        return f"quantized_dimension must be in range [0, {len(dims)}). Was {axis}."
    if not scale_count_fits(len(scale), axis, dims.tolist()):
        return (f"num_scales must be 1 for per-layer quantization, or {dims[axis]} for per-axis "
                f"quantization, but got {len(scale)}.")
    return None


def _check_sparsity(tensor: Tensor) -> tuple[str | None, bool]:
    """(message, whether the runtime keeps a sparsity record) for a constant tensor."""
    sparsity = tensor.sparsity
    if sparsity is None:
        return None, False
    if sparsity.traversal_order is None or sparsity.dim_metadata is None:
        return "Invalid sparsity parameter.", False
    for i, dim in enumerate(sparsity.dim_metadata):
        if dim.format not in (0, 1):
            return f"The {i}th dimension has unknown type: {dim.format}.", True
        if dim.format == 1 and (dim.array_segments is None or dim.array_indices is None):
            return f"The {i}th sparse dimension has invalid parameters.", True
    return None, True


_SIZED = np.zeros(256, bool)
_BITS = np.zeros(256, np.int64)
for _code, _info in TYPES.items():
    _SIZED[_code] = _info.bits > 0
    _BITS[_code] = _info.bits
_KNOWN = np.zeros(256, bool)
_KNOWN[list(TYPES)] = True
_SAFE_ELEMENTS = float(1 << 52)


def _shape_products(columns: TensorColumns) -> tuple[np.ndarray, np.ndarray]:
    """(element count of every tensor, whether that count is unsafe: a negative or huge dim)."""
    counts = np.maximum(columns.shape_count, 0)
    values, first = columns.fb.ragged(columns.shape_start, counts, "i4")
    products = np.ones(columns.count, np.float64)
    negative = np.zeros(columns.count, bool)
    present = np.flatnonzero(counts)
    if len(present):
        with np.errstate(over="ignore", invalid="ignore"):
            products[present] = np.multiply.reduceat(values.astype(np.float64), first[present])
        negative[present] = np.minimum.reduceat(values, first[present]) < 0
    unsafe = negative | ~np.isfinite(products) | (np.abs(products) > _SAFE_ELEMENTS)
    return np.where(unsafe, 0, products).astype(np.int64), unsafe


def _suspicious(model: Model, columns: TensorColumns) -> np.ndarray:
    """Tensors that might draw a construction message (a superset of those that do)."""
    types = columns.type & 0xFF
    known = _KNOWN[types]
    buffers = model.buffer_columns
    buffer = columns.buffer
    bad_buffer = (buffer != 0) & (buffer >= buffers.count)
    constant = buffers.holds_data(buffer)
    external = constant & ~buffers.at(buffers.has_data, buffer)
    out_of_file = external & (buffers.at(buffers.offset, buffer).astype(np.float64)
                              + buffers.at(buffers.size, buffer).astype(np.float64) > model.size)
    elements, unsafe = _shape_products(columns)
    sized = _SIZED[types] & known
    suspicious = ~known | bad_buffer | out_of_file | (unsafe & sized)
    suspicious |= ~constant & ~sized & known & columns.is_variable.astype(bool)
    suspicious |= constant & (columns.is_variable.astype(bool) | (columns.external_buffer != 0)
                              | columns.has_sparsity)
    # constants must hold the bytes their shape needs
    check = np.flatnonzero(constant & sized & ~unsafe & ~columns.has_sparsity)
    if len(check):
        bits = _BITS[types[check]]
        required = (elements[check] * bits + 7) // 8
        suspicious[check] |= buffers.data_sizes(buffer[check]) < required
    # quantization: anything but valid affine parameters goes the exact way
    row = columns.quant_row
    quantized = np.flatnonzero(row >= 0)
    qrow = row[quantized]
    scales = columns.scale_count[qrow]
    kinds = quant_kinds(columns.details_type[qrow], scales)
    affine = kinds == QuantKind.AFFINE
    suspicious[quantized[(kinds == QuantKind.BLOCKWISE) | (kinds == QuantKind.MULTI_AXIS)]] = True
    rank = np.maximum(columns.shape_count[quantized], 0)
    axis = columns.quantized_dimension[qrow]
    bad = affine & ((columns.zp_count[qrow] != scales) | (axis < 0) | ((rank > 0) & (axis >= rank)))
    per_axis = affine & ~bad & (scales != 1) & (rank > 0)
    if per_axis.any():
        at = quantized[per_axis]
        dim = columns.fb.gather(columns.shape_start[at] + 4 * axis[per_axis], "i4")
        bad[per_axis] = dim != scales[per_axis]
    suspicious[quantized[bad]] = True
    result: np.ndarray = suspicious
    return result


def _scratch_tensors(model: Model, op: Operator | None, builtin: int | None,
                     opcode_index: int) -> int:
    """How many tensors the operator's kernel adds when it is initialised at construction
    (``op`` None: what every operator of the code adds, LSTM's options aside)."""
    if builtin is None:
        custom = model.operator_codes[opcode_index].custom_code_bytes or b""
        return _kernels.CUSTOM_SCRATCH_TENSORS.get(custom.decode("utf-8", "replace"), 0)
    if builtin == BuiltinOperator.LSTM and op is not None:
        options = op.builtin_options()
        if options is not None and options.integer(LSTMOptions.KERNEL_TYPE) == LSTMKernelType.BASIC:
            return _kernels.LSTM_BASIC_SCRATCH_TENSORS
    return _kernels.SCRATCH_TENSORS.get(builtin, 0)


def plain_operators(ops: OperatorColumns, builtins: np.ndarray, num_tensors: int
                    ) -> np.ndarray:
    """Operators that certainly become nodes without a message (a subset of those that do).

    ``builtins``: per operator code, its builtin code (-1: custom). An operator is plain
    when its code exists, it has no custom options if builtin, the options its kernel needs,
    every input and output index in ``[-1, num_tensors)``, no tensor both input and output,
    and its scratch count does not depend on its options (LSTM's does).
    """
    index = ops.opcode_index
    plain: np.ndarray = (index < len(builtins)) & ~ops.rows.broken
    builtin = np.full(ops.count, -2, np.int64)
    builtin[plain] = builtins[index[plain]]
    plain &= ~((builtin >= 0) & ops.has_custom_options)
    plain &= builtin != BuiltinOperator.LSTM
    for code, (union, options_type, _) in _kernels.NEEDS_OPTIONS.items():
        needs = builtin == code
        if np.count_nonzero(needs):
            second = union == 2
            stored = ops.options_2_type if second else ops.options_type
            present = ops.has_options_2 if second else ops.has_options
            plain &= ~(needs & ((stored != options_type) | ~present))
    keys = []
    for start, count in ((ops.input_start, ops.input_count),
                         (ops.output_start, ops.output_count)):
        count = np.maximum(count, 0)
        values, _ = ops.fb.ragged(start, count, "i4")
        values = values.astype(np.int64)
        rows = np.repeat(np.arange(ops.count), count)
        bad = (values < -1) | (values >= num_tensors)
        plain[rows[bad]] = False
        keys.append(rows * (num_tensors + 2) + values + 1)  # (operator, tensor) pairs
    plain[np.repeat(np.arange(ops.count), np.maximum(ops.output_count, 0))[
        np.isin(keys[1], keys[0])]] = False  # a tensor both input and output
    return plain


class _Builder:
    def __init__(self, model: Model) -> None:
        self.model = model
        self.messages: list[str] = []

    def report(self, message: str) -> None:
        self.messages.append(message)

    def fail(self, message: str | None = None) -> _Failed:
        if message is not None:
            self.report(message)
        return _Failed()

    def check_operator_codes(self) -> list[int | None]:
        """Resolve every operator code; None stands for a (possibly unresolved) custom op."""
        resolved: list[int | None] = []
        for code in self.model.operator_codes:
            builtin = code.builtin_code
            if builtin == BuiltinOperator.CUSTOM:
                if code.custom_code_bytes is None:
                    self.report("Operator with CUSTOM builtin_code has no custom_code.\n")
                    self.report("Operator with CUSTOM builtin_code has no custom_code.\n")
                    raise self.fail("Registration failed.\n")
                resolved.append(None)
                continue
            if builtin not in BUILTIN_OPERATOR_NAMES:
                self.report(f"Op builtin_code out of range: {builtin}. Are you using old TFLite "
                            "binary with newer model?")
                raise self.fail("Registration failed.\n")
            if not has_kernel(builtin, code.version):
                self.report(
                    f"Didn't find op for builtin opcode '{BUILTIN_OPERATOR_NAMES[builtin]}' "
                    f"version '{code.version}'. An older version of this builtin might be "
                    "supported. Are you using an old TFLite binary with a newer model?\n"
                )
                raise self.fail("Registration failed.\n")
            resolved.append(builtin)
        return resolved

    def io_list(self, indices: np.ndarray, label: str, count: int) -> list[int]:
        values: list[int] = indices.tolist()
        for index in values:
            if index != -1 and not 0 <= index < count:
                self.report(f"Invalid tensor index {index} in {label}. "
                            f"The subgraph has {count} tensors\n")
                return []
        return values

    def check_tensors(self, subgraph: Subgraph, num_buffers: int) -> None:
        """Every tensor check of the runtime, in its order, with its messages.

        A vectorised screen finds the tensors that could draw any message; only those go
        through the exact per-tensor checks, so a valid model costs a few array operations.
        """
        columns = subgraph.tensor_columns
        error = columns.first_error()
        if error is not None:
            raise error
        ok = True
        for i in np.flatnonzero(_suspicious(self.model, columns)).tolist():
            ok = self.check_tensor(subgraph.tensors[i], i, num_buffers, columns.count) and ok
        if not ok:
            raise self.fail()

    def check_tensor(self, tensor: Tensor, i: int, num_buffers: int, count: int) -> bool:
        """The runtime's checks of one tensor; False when it reported an error."""
        tensor_type = tensor.type
        if type_info(tensor_type) is None:
            self.report(f"Unsupported data type {tensor_type} in tensor\n")
            return False
        ok = True
        buffer_index = tensor.buffer
        constant = False
        if buffer_index != 0:
            if buffer_index >= num_buffers:
                raise self.fail(f"Tensor {i} specifies out of range buffer "
                                f"{as_c_int(buffer_index)} "
                                f"(only {num_buffers} buffers).\n")
            entry = self.model.buffers[buffer_index]
            if entry.has_data_field:
                constant = True
            elif entry.offset > 1:
                if entry.offset + entry.size > self.model.size:
                    raise self.fail(f"Constant buffer {buffer_index} specified an out of "
                                    "range offset.\n")
                constant = True
        problem = _check_quantization(tensor, count)
        if problem is not None:
            self.report(f"{problem}Tensor {i} has invalid quantization parameters.")
            ok = False
        if constant:
            if tensor.is_variable or tensor.external_buffer != 0:
                self.report(f"Tensor {i} is a variable tensor with buffer or external "
                            "buffer. It's not supported now.\n")
                ok = False
            problem, sparse = _check_sparsity(tensor)
            if problem is not None:
                self.report(f"{problem}Tensor {i} has invalid sparsity parameters.")
                ok = False
            if not self.check_constant_size(tensor, sparse, i):
                ok = False
        elif not self.check_arena_tensor(tensor, i):
            ok = False
        return ok

    def check_constant_size(self, tensor: Tensor, sparse: bool, i: int) -> bool:
        if sparse or tensor.type in UNSIZED_TYPES:
            return True
        required, overflow = bytes_required(tensor.type, tensor.shape)
        if overflow is not None:
            self.report(overflow)
        else:
            entry = tensor.buffer_entry  # the size only: the bytes are not read
            span = entry.span if entry is not None else None
            if (span[1] if span is not None else 0) >= required:
                return True
            self.report("tflite/core/subgraph.cc:1965 required_bytes <= bytes was not true.")
        self.report(f"Tensor {i} is invalidly specified in schema.\n")
        return False

    def check_arena_tensor(self, tensor: Tensor, i: int) -> bool:
        if tensor.type in UNSIZED_TYPES:
            if not tensor.is_variable:
                return True
            self.report("String variable tensor isn't supported.")
        else:
            overflow = bytes_required(tensor.type, tensor.shape)[1]
            if overflow is None:
                return True
            self.report(overflow)
        self.report(f"Tensor {i} is invalidly specified in schema.\n")
        return False

    def add_nodes(self, subgraph_index: int, registrations: list[int | None],
                  num_tensors: int) -> tuple[list[int], int]:
        """The operators that become nodes, and the tensor count after kernel Init()."""
        nodes: list[int] = []
        ok = True
        subgraph = self.model.subgraphs[subgraph_index]
        operators = subgraph.operators
        plain, adds = [False] * len(operators), []
        if len(operators) > _flatbuf.SCALAR_ROWS and len(registrations):
            # most operators just become nodes: found in bulk, the others go one by one
            codes = np.array([-1 if b is None else b for b in registrations], np.int64)
            scratch = np.array([_scratch_tensors(self.model, None, b, i)
                                for i, b in enumerate(registrations)], np.int64)
            columns = subgraph.operator_columns
            plain = plain_operators(columns, codes, num_tensors).tolist()
            adds = scratch[np.where(plain, columns.opcode_index, 0)].tolist()
        for k in range(len(operators)):
            if plain[k]:
                nodes.append(k)
                num_tensors += adds[k]
                continue
            op = operators[k]
            index = op.opcode_index
            if index >= len(registrations):
                self.report(f"Missing registration for opcode_index {index}\n")
                ok = False
                continue
            builtin = registrations[index]
            if builtin is not None and op.custom_options is not None:
                self.report(f"Found builtin operator {BUILTIN_OPERATOR_NAMES[builtin]} with "
                            "custom options.\n")
            if builtin is not None and builtin in _kernels.NEEDS_OPTIONS:
                union, options_type, message = _kernels.NEEDS_OPTIONS[builtin]
                second = union == 2
                stored = op.builtin_options_2_type if second else op.builtin_options_type
                if stored != options_type or op.builtin_options(second) is None:
                    raise self.fail(message)
            inputs, outputs = op.inputs.tolist(), op.outputs.tolist()
            if not (self.node_indices(inputs, "node inputs", num_tensors)
                    and self.node_indices(outputs, "node outputs", num_tensors)):
                continue
            if builtin in _kernels.DROPS_OVERLAPPING_NODE:
                overlap = next(((t, a, b) for a, t in enumerate(inputs)
                                for b, u in enumerate(outputs) if t == u), None)
                if overlap is not None:
                    tensor, position, out_position = overlap
                    self.report(f"Tensor {tensor} is both input {position} and output "
                                f"{out_position}\n")
                    continue
            nodes.append(k)
            num_tensors += _scratch_tensors(self.model, op, builtin, index)
        if not ok:
            raise self.fail()
        return nodes, num_tensors

    def node_indices(self, indices: list[int], label: str, count: int) -> bool:
        for index in indices:
            if index != -1 and not 0 <= index < count:
                self.report(f"Invalid tensor index {index} in {label}. "
                            f"The subgraph has {count} tensors\n")
                return False
        return True

    def build(self) -> Constructed:
        model = self.model
        if model.version != SCHEMA_VERSION:
            raise self.fail(f"Model provided is schema version {as_c_int(model.version)} not "
                            f"equal to "
                            f"supported version {SCHEMA_VERSION}.\n")
        registrations = self.check_operator_codes()
        if len(model.subgraphs) == 0:
            raise self.fail("No subgraph in the model.\n")
        if not model.has_field("buffers"):
            raise self.fail("No buffers in the model.\n")
        num_buffers = len(model.buffers)
        broken = np.flatnonzero(model.buffer_columns.rows.broken)
        if len(broken):
            raise model.buffer_columns.rows.errors[int(broken[0])]
        states: list[SubgraphState] = []
        for si, subgraph in enumerate(model.subgraphs):
            if not subgraph.has_tensors_field:
                raise self.fail(f"Did not get tensors in subgraph {si}.\n")
            count = len(subgraph.tensors)
            inputs = self.io_list(subgraph.inputs, "inputs", count)
            outputs = self.io_list(subgraph.outputs, "outputs", count)
            self.check_tensors(subgraph, num_buffers)
            nodes, num_tensors = self.add_nodes(si, registrations, count)
            states.append(SubgraphState(num_tensors, inputs, outputs, nodes))
        for signature in model.signature_defs:
            if signature.key_bytes is None:
                raise self.fail("Missing exported method name for SignatureDef")
        return Constructed(states)


def not_a_flatbuffer(error: InvalidModelError) -> InvalidModelError:
    """A structural error as LiteRT's verifier words it, with tflparse's finding after it."""
    return InvalidModelError(f"The model is not a valid Flatbuffer buffer ({error})",
                             location=error.location, offset=error.offset)


def construct(model: Model) -> Constructed:
    """Apply LiteRT's construction checks; raise ``InvalidModelError`` where it refuses."""
    try:
        verify(model._fb)
    except InvalidModelError as error:
        raise not_a_flatbuffer(error) from error
    builder = _Builder(model)
    try:
        return builder.build()
    except _Failed:  # the messages are the whole story: no cause to chain
        raise InvalidModelError("".join(builder.messages)) from None
    except InvalidModelError as error:  # the reader found the bytes malformed
        raise not_a_flatbuffer(error) from error
