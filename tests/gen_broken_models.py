"""Hypothesis strategies that build small TFLite models as bytes, mostly ones LiteRT accepts.

``models()`` draws ``(model_bytes, description)``. The description is a short text naming
what the draw holds that matters (rejection rule hit, external buffers, crashes expected...),
for test reports. Building blocks (each a strategy):

* ``tensor_types()``, ``shapes()``, ``shape_signatures(shape)``, ``tensor_names(previous)``
* ``scales()``, ``zero_points()``, ``quantizations(shape, ntensors)``
* ``index_vectors()``, ``dimension_metadata()``, ``sparsities(rank)``
* ``constant_data(type, shape)``: buffer bytes sized for the shape
* ``operator_codes()``, ``signature_defs(tensor_counts)``
* ``invalid_rules()``: the name of one construction-time rejection rule
  (docs/litert-rules.md, section 1)

Models are built with the flatbuffer object API that ai_edge_litert ships
(``ModelT(...).Pack``), then buffers marked external get their bytes appended after the
flatbuffer (16-byte aligned) with ``Buffer.offset/size`` set. Every model is a few KB.
"""

from __future__ import annotations

import math
from typing import Any

from hypothesis import strategies as st
from model_builder import pack_with_external as build_model
from model_builder import schema, string_buffer

__all__ = [
    "INVALID_RULES",
    "build_model",
    "constant_data",
    "dimension_metadata",
    "index_vectors",
    "invalid_rules",
    "models",
    "operator_codes",
    "quantizations",
    "required_bytes",
    "scales",
    "shape_signatures",
    "shapes",
    "signature_defs",
    "sparsities",
    "string_buffer",
    "tensor_names",
    "tensor_types",
    "zero_points",
]

TT = schema.TensorType
STRING, RESOURCE, VARIANT = TT.STRING, TT.RESOURCE, TT.VARIANT
VARLEN_TYPES = (STRING, RESOURCE, VARIANT)
ITEMSIZE = {
    TT.FLOAT32: 4, TT.FLOAT16: 2, TT.INT32: 4, TT.UINT8: 1, TT.INT64: 8, TT.BOOL: 1,
    TT.INT16: 2, TT.COMPLEX64: 8, TT.INT8: 1, TT.FLOAT64: 8, TT.COMPLEX128: 16,
    TT.UINT64: 8, TT.UINT32: 4, TT.UINT16: 2, TT.BFLOAT16: 2, TT.FLOAT8_E4M3FN: 1,
    TT.FLOAT8_E5M2: 1,
}
PACKED = {TT.INT4: 2, TT.UINT4: 2, TT.INT2: 4}  # values per byte
BUILTIN = schema.BuiltinOperator

MAX_ELEMENTS = 24  # keeps every constant tiny


def required_bytes(tensor_type: int, shape: list[int] | None) -> int:
    """Bytes a dense constant needs (docs/litert-rules.md, 1.4); 0 for STRING, RESOURCE and
    VARIANT."""
    count = math.prod(shape or [])
    if tensor_type in PACKED:
        return -(-count // PACKED[tensor_type])
    return ITEMSIZE.get(tensor_type, 0) * count


# -- tensors -----------------------------------------------------------------------------


def tensor_types() -> st.SearchStrategy[int]:
    """Every TensorType 0..22, each equally likely."""
    return st.integers(0, 22)


@st.composite
def shapes(draw: Any, allow_negative: bool = False) -> list[int] | None:
    """``None`` (absent), ``[]`` (scalar) or up to rank 3, at most MAX_ELEMENTS elements,
    sometimes with a 0 dim; with ``allow_negative`` (STRING/RESOURCE/VARIANT) a -1 or -5."""
    kind = draw(st.sampled_from(["absent", "scalar", "dims", "dims", "dims", "dims"]))
    if kind == "absent":
        return None
    if kind == "scalar":
        return []
    dims = draw(st.lists(st.integers(0, 4), min_size=1, max_size=3))
    while math.prod(dims) > MAX_ELEMENTS:
        dims[dims.index(max(dims))] -= 1
    if allow_negative and draw(st.integers(0, 4)) == 0:
        dims[draw(st.integers(0, len(dims) - 1))] = draw(st.sampled_from([-1, -5]))
    return dims


@st.composite
def shape_signatures(draw: Any, shape: list[int] | None) -> list[int] | None:
    """Absent, empty, the shape with some dims -1, or unrelated values (never validated)."""
    kind = draw(st.sampled_from(["absent", "absent", "empty", "dynamic", "same", "other"]))
    if kind == "absent":
        return None
    if kind == "empty":
        return []
    if kind == "other":
        return draw(st.lists(st.integers(-7, 7), min_size=1, max_size=3))
    dims = list(shape or [])
    if kind == "dynamic" and dims:
        dims[draw(st.integers(0, len(dims) - 1))] = -1
    return dims


@st.composite
def tensor_names(draw: Any, previous: tuple[Any, ...] = ()) -> str | bytes | None:
    """Absent, empty, ASCII, non-ASCII, with a NUL, a duplicate of an earlier one,
    rarely invalid UTF-8 (LiteRT then leaves the tensor out of get_tensor_details)."""
    choices = ["absent", "empty", "ascii", "ascii", "ascii", "unicode", "nul", "invalid"]
    if previous:
        choices += ["dup", "dup"]
    kind = draw(st.sampled_from(choices))
    if kind == "absent":
        return None
    if kind == "empty":
        return ""
    if kind == "dup":
        return draw(st.sampled_from(previous))
    if kind == "unicode":
        return draw(st.sampled_from(["é", "入力", "x\u2028y", "😀", "serving_default_é:0"]))
    if kind == "nul":
        return draw(st.sampled_from([b"a\x00b", b"\x00", b"x\x00\xff"]))
    if kind == "invalid":
        if draw(st.integers(0, 3)):  # mostly valid after all: keep the "invalid" rare
            return "t"
        return draw(st.sampled_from([b"\xff", b"a\xc3"]))
    return draw(st.text("abcxyz_:/0123456789", min_size=1, max_size=12))


@st.composite
def constant_data(draw: Any, tensor_type: int, shape: list[int] | None) -> bytes:
    """Bytes for a constant of this type and shape: at least ``required_bytes``, sometimes
    a few more; a string buffer for STRING (sometimes with fewer strings than elements)."""
    if tensor_type in VARLEN_TYPES:
        count = max(0, math.prod(shape or []))
        if draw(st.integers(0, 3)) == 0:
            count = draw(st.integers(0, count))  # fewer strings: LiteRT pads with None
        items = draw(st.lists(st.binary(max_size=4), min_size=count, max_size=count))
        return string_buffer(items)
    size = required_bytes(tensor_type, shape) + draw(st.sampled_from([0, 0, 0, 1, 3]))
    return draw(st.binary(min_size=size, max_size=size))


# -- quantization ------------------------------------------------------------------------


def scales() -> st.SearchStrategy[float]:
    """float32 scales, special values included: NaN, ±inf, -0.0, subnormals, 0."""
    special = st.sampled_from([float("nan"), float("inf"), float("-inf"), -0.0, 0.0,
                               1e-45, 1.4e-40, 3.4028234663852886e38, 0.1])
    return st.one_of(st.floats(2.0**-20, 16.0, width=32), special)


def zero_points() -> st.SearchStrategy[int]:
    """int64 zero points; some outside int32 (LiteRT keeps the low 32 bits)."""
    wide = st.sampled_from([2**31 + 5, -(2**40) - 1, 2**32, 2**32 + 1, 2**63 - 1, -(2**63),
                            2**31, -(2**31) - 1])
    return st.one_of(st.integers(-128, 255), st.integers(-(2**31), 2**31 - 1), wide)


@st.composite
def quantizations(draw: Any, shape: list[int] | None,
                  ntensors: int) -> tuple[Any | None, str]:
    """A valid ``QuantizationParametersT`` (or ``None``) for a tensor of ``shape`` in a
    subgraph of ``ntensors`` tensors, and a word saying which kind it is."""
    dims = list(shape or [])
    kind = draw(st.sampled_from(
        ["none", "none", "none", "empty", "per_tensor", "per_tensor", "per_axis", "per_axis",
         "blockwise", "multi_axis", "min_max", "custom"]))
    q = schema.QuantizationParametersT()
    if kind == "none":
        return None, kind
    if kind == "empty":
        variant = draw(st.integers(0, 3))
        if variant == 1:
            q.scale, q.zeroPoint = [], []
        elif variant == 2:
            q.zeroPoint = draw(st.lists(zero_points(), max_size=2))
        elif variant == 3:
            q.scale = []
        return q, kind
    if kind == "min_max":
        q.min = draw(st.lists(scales(), min_size=1, max_size=2))
        q.max = draw(st.lists(scales(), min_size=1, max_size=2))
        return q, kind
    if kind in ("per_tensor", "custom"):
        q.scale = [draw(scales())]
        q.zeroPoint = [draw(zero_points())]
        q.quantizedDimension = draw(st.integers(0, len(dims) - 1)) if dims else draw(
            st.sampled_from([0, 0, 1, 5]))
        if kind == "custom":
            q.detailsType = schema.QuantizationDetails.CustomQuantization
            q.details = schema.CustomQuantizationT()
            q.details.custom = draw(st.one_of(st.none(), st.lists(st.integers(0, 255),
                                                                  max_size=6)))
            if draw(st.booleans()):
                q.scale, q.zeroPoint = [], []  # custom details alone: no quantization
        return q, kind
    if kind == "per_axis":
        if dims:
            q.quantizedDimension = draw(st.integers(0, len(dims) - 1))
            count = max(dims[q.quantizedDimension], 1)  # a negative STRING dim: 1 scale
        else:  # scalars skip the count and rank checks
            q.quantizedDimension = draw(st.integers(0, 6))
            count = draw(st.integers(1, 4))
        q.scale = draw(st.lists(scales(), min_size=count, max_size=count))
        q.zeroPoint = draw(st.lists(zero_points(), min_size=count, max_size=count))
        if draw(st.booleans()):  # zero points all equal, as converters write them
            q.zeroPoint = [q.zeroPoint[0]] * count if count else []
        return q, kind
    if ntensors == 0:
        return None, "none"
    index = st.integers(0, ntensors - 1)
    if kind == "blockwise":
        q.detailsType = schema.QuantizationDetails.BlockwiseQuantization
        q.details = schema.BlockwiseQuantizationT()
        q.details.scales = draw(index)
        q.details.zeroPoints = draw(st.one_of(st.just(-1), index))
        q.details.blockSize = draw(st.sampled_from([0, 1, 2, 32, 2**31 - 1]))
        if draw(st.booleans()):
            q.details.blockShape = draw(st.lists(st.integers(0, 4), max_size=3))
        q.quantizedDimension = draw(st.integers(0, 99))  # not validated
        if draw(st.integers(0, 9)) == 0:  # out of range: the tensor drops out of the list
            q.details.scales = draw(st.sampled_from([-1, ntensors, 99]))
            kind = "blockwise_bad_index"
        if draw(st.booleans()):
            q.scale, q.zeroPoint = [0.5], [1]  # ignored
        return q, kind
    q.detailsType = schema.QuantizationDetails.MultiAxisQuantization
    q.details = schema.MultiAxisQuantizationT()
    q.details.scales = draw(index)
    q.details.zeroPoints = draw(st.one_of(st.just(-1), index))
    q.details.blockSize = draw(st.integers(0, 64))
    rank_bound = len(dims) - 1 if dims else 5
    q.details.quantizedDimensions = draw(st.lists(st.integers(0, max(rank_bound, 0)),
                                                  min_size=1, max_size=3))
    if draw(st.booleans()):
        q.scale, q.zeroPoint = [0.5], [3]  # ignored
    return q, kind


# -- sparsity ----------------------------------------------------------------------------


@st.composite
def index_vectors(draw: Any) -> tuple[int, Any]:
    """``(SparseIndexVector type, table)``: Int32Vector, Uint16Vector or Uint8Vector."""
    which = draw(st.sampled_from([1, 2, 3]))
    if which == 1:
        table: Any = schema.Int32VectorT()
        table.values = draw(st.lists(st.integers(-(2**31), 2**31 - 1), max_size=5))
    elif which == 2:
        table = schema.Uint16VectorT()
        table.values = draw(st.lists(st.integers(0, 2**16 - 1), max_size=5))
    else:
        table = schema.Uint8VectorT()
        table.values = draw(st.lists(st.integers(0, 255), max_size=5))
    return which, table


@st.composite
def dimension_metadata(draw: Any) -> Any:
    """A DENSE (format 0, any dense_size incl. -1) or SPARSE_CSR (format 1) dimension."""
    dim = schema.DimensionMetadataT()
    if draw(st.booleans()):
        dim.format = 0
        dim.denseSize = draw(st.one_of(st.integers(0, 8), st.just(-1)))
        if draw(st.integers(0, 4)) == 0:  # ignored on DENSE
            dim.arraySegmentsType, dim.arraySegments = draw(index_vectors())
    else:
        dim.format = 1
        dim.arraySegmentsType, dim.arraySegments = draw(index_vectors())
        dim.arrayIndicesType, dim.arrayIndices = draw(index_vectors())
    return dim


@st.composite
def sparsities(draw: Any, rank: int) -> Any:
    """A well-formed ``SparsityParametersT``: traversal order, optional block map, dims."""
    sp = schema.SparsityParametersT()
    blocks = draw(st.integers(0, 1)) if rank else 0
    order = draw(st.permutations(list(range(rank))))
    sp.traversalOrder = list(order) + [rank + k for k in range(blocks)]
    if blocks or draw(st.integers(0, 3)) == 0:
        sp.blockMap = draw(st.lists(st.integers(0, max(rank - 1, 0)), min_size=blocks,
                                    max_size=max(blocks, 1)))
    sp.dimMetadata = draw(st.lists(dimension_metadata(), min_size=0 if rank == 0 else 1,
                                   max_size=max(rank + blocks, 1)))
    return sp


# -- operators and signatures ------------------------------------------------------------

# (name, builtin code, usable versions); ADD_N adds a scratch tensor at construction.
_OPS = [("ADD", BUILTIN.ADD, (1, 2)), ("MUL", BUILTIN.MUL, (1,)),
        ("ADD_N", BUILTIN.ADD_N, (1,)), ("CUMSUM", BUILTIN.CUMSUM, (1,)),
        ("GELU", BUILTIN.GELU, (1,)), ("CUSTOM", BUILTIN.CUSTOM, (1,))]


@st.composite
def operator_codes(draw: Any) -> tuple[Any, str]:
    """An ``OperatorCodeT`` with a builtin_code / deprecated_builtin_code combination.

    New style: ``builtin_code = c``, ``deprecated = min(c, 127)`` (what converters write);
    old style (c < 127): ``builtin_code = 0``, ``deprecated = c``.
    """
    name, code, versions = draw(st.sampled_from(_OPS))
    op = schema.OperatorCodeT()
    op.version = draw(st.sampled_from(versions))
    if code < 127 and draw(st.integers(0, 2)) == 0:
        op.builtinCode, op.deprecatedBuiltinCode = 0, code
    else:
        op.builtinCode, op.deprecatedBuiltinCode = code, min(code, 127)
    if code == BUILTIN.CUSTOM:
        op.customCode = draw(st.sampled_from(["MyOp", "TFLite_Detection_PostProcess_x", "é"]))
    return op, name


def _io_list(draw: Any, ntensors: int) -> list[int] | None:
    kind = draw(st.sampled_from(["absent", "ok", "ok", "ok", "ok", "optional", "oob"]))
    if kind == "absent":
        return None
    values = draw(st.lists(st.integers(0, ntensors - 1), max_size=3)) if ntensors else []
    if kind == "optional":
        values.insert(draw(st.integers(0, len(values))), -1)
    elif kind == "oob":
        values.append(draw(st.sampled_from([ntensors, ntensors + 5, -2])))
    return values


@st.composite
def signature_defs(draw: Any, tensor_counts: list[int]) -> list[Any]:
    """0..3 SignatureDefs: keys incl. duplicates and '', names incl. duplicates, unsorted,
    NUL; tensor indices in range (rarely out of range, or an out-of-range subgraph)."""
    count = draw(st.sampled_from([0, 0, 1, 1, 1, 2, 3]))
    keys = st.sampled_from(["serving_default", "a", "b", "B", "", "é", "k\x00z"])
    names = st.sampled_from(["x", "y", "b", "a", "B", "_", "é", "in\x00put", "zz", "aa"])
    defs = []
    previous_keys: list[str] = []
    for _ in range(count):
        sig = schema.SignatureDefT()
        if previous_keys and draw(st.integers(0, 4)) == 0:
            sig.signatureKey = draw(st.sampled_from(previous_keys))
        else:
            sig.signatureKey = draw(keys)
        previous_keys.append(sig.signatureKey)
        sig.subgraphIndex = draw(st.integers(0, len(tensor_counts) - 1))
        if draw(st.integers(0, 19)) == 0:
            sig.subgraphIndex = len(tensor_counts) + 4  # LiteRT crashes on its details
        ntensors = tensor_counts[sig.subgraphIndex] if sig.subgraphIndex < len(
            tensor_counts) else 1
        for side in ("inputs", "outputs"):
            if draw(st.integers(0, 9)) == 0:
                continue  # absent vector
            maps = []
            for _ in range(draw(st.integers(0, 3))):
                tensor_map = schema.TensorMapT()
                if draw(st.integers(0, 14)):
                    tensor_map.name = draw(names)
                tensor_map.tensorIndex = draw(st.integers(0, max(ntensors - 1, 0)))
                if ntensors == 0 or draw(st.integers(0, 19)) == 0:
                    tensor_map.tensorIndex = draw(st.sampled_from([ntensors, 99]))
                maps.append(tensor_map)
            setattr(sig, side, maps)
        defs.append(sig)
    return defs


# -- rejection rules (docs/litert-rules.md, section 1) ------------------------------------

INVALID_RULES = [
    "bad_qdim", "negative_qdim", "scale_zp_length", "scale_without_zp", "bad_type",
    "nscales_ne_dim", "blockwise_without_table", "multi_axis_bad", "buffer_index_oob",
    "buffer_offset_oob", "const_too_small", "negative_dim", "variable_with_buffer",
    "string_variable", "external_buffer_with_data", "sparse_no_traversal",
    "sparse_no_dim_metadata", "sparse_bad_format", "sparse_csr_no_segments", "version",
    "no_subgraphs", "no_buffers", "subgraph_no_tensors", "signature_no_key",
    "signature_bad_utf8", "op_bad_opcode_index", "op_custom_no_code", "op_bad_version",
    "op_code_out_of_range", "bad_identifier", "truncated", "subgraphs_absent",
]


def invalid_rules() -> st.SearchStrategy[str]:
    return st.sampled_from(INVALID_RULES)


def _apply_rule(draw: Any, rule: str, model: Any) -> None:
    """Make ``model`` break ``rule``: mostly by appending one bad tensor to subgraph 0."""
    subgraph = model.subgraphs[0]
    tensors = subgraph.tensors
    bad = schema.TensorT()
    bad.name, bad.type, bad.shape = "bad", TT.FLOAT32, [2, 3]
    q = schema.QuantizationParametersT()
    append = True
    if rule == "bad_type":
        bad.type = draw(st.sampled_from([23, 24, 100, 127, -1, -128]))
    elif rule in ("bad_qdim", "negative_qdim"):
        q.scale, q.zeroPoint = [0.5], [0]
        q.quantizedDimension = 2 if rule == "bad_qdim" else -1
        if rule == "negative_qdim" and draw(st.booleans()):
            bad.shape = []
        bad.quantization = q
    elif rule == "scale_zp_length":
        q.scale, q.zeroPoint = draw(st.sampled_from([([0.5, 0.25], [1]), ([0.5], [])]))
        bad.quantization = q
    elif rule == "scale_without_zp":
        q.scale = [0.5]
        bad.quantization = q
    elif rule == "nscales_ne_dim":
        q.scale, q.zeroPoint, q.quantizedDimension = [1.0] * 2, [0] * 2, 1
        bad.quantization = q
    elif rule == "blockwise_without_table":
        q.detailsType = schema.QuantizationDetails.BlockwiseQuantization
        bad.quantization = q
    elif rule == "multi_axis_bad":
        q.detailsType = schema.QuantizationDetails.MultiAxisQuantization
        q.details = schema.MultiAxisQuantizationT()
        q.details.quantizedDimensions = [0]
        problem = draw(st.sampled_from(["scales", "zp", "block", "dims_absent", "dims_empty",
                                        "dim_negative", "dim_rank"]))
        if problem == "scales":
            q.details.scales = len(tensors) + 9
        elif problem == "zp":
            q.details.zeroPoints = -2
        elif problem == "block":
            q.details.blockSize = -1
        elif problem == "dims_absent":
            q.details.quantizedDimensions = None
        elif problem == "dims_empty":
            q.details.quantizedDimensions = []
        elif problem == "dim_negative":
            q.details.quantizedDimensions = [-1]
        else:
            q.details.quantizedDimensions = [2]
        bad.quantization = q
    elif rule == "buffer_index_oob":
        bad.buffer = len(model.buffers) + 3
    elif rule == "buffer_offset_oob":
        buffer = schema.BufferT()
        buffer.offset, buffer.size = 1 << 20, 24
        model.buffers.append(buffer)
        bad.buffer = len(model.buffers) - 1
    elif rule in ("const_too_small", "variable_with_buffer", "external_buffer_with_data"):
        buffer = schema.BufferT()
        buffer.data = b"\0" * (draw(st.integers(0, 23)) if rule == "const_too_small" else 24)
        model.buffers.append(buffer)
        bad.buffer = len(model.buffers) - 1
        bad.isVariable = rule == "variable_with_buffer"
        if rule == "external_buffer_with_data":
            bad.externalBuffer = 1
    elif rule == "negative_dim":
        bad.shape = [draw(st.sampled_from([-1, -3])), 2]
    elif rule == "string_variable":
        bad.type, bad.isVariable = draw(st.sampled_from(VARLEN_TYPES)), True
    elif rule.startswith("sparse_"):
        buffer = schema.BufferT()
        buffer.data = b"\0" * 8
        model.buffers.append(buffer)
        bad.buffer = len(model.buffers) - 1
        sp = schema.SparsityParametersT()
        sp.traversalOrder = [0, 1]
        dense = schema.DimensionMetadataT()
        dense.format, dense.denseSize = 0, 2
        csr = schema.DimensionMetadataT()
        csr.format = 1
        csr.arraySegmentsType, csr.arraySegments = 1, schema.Int32VectorT()
        csr.arraySegments.values = [0, 1, 2]
        csr.arrayIndicesType, csr.arrayIndices = 1, schema.Int32VectorT()
        csr.arrayIndices.values = [0, 2]
        sp.dimMetadata = [dense, csr]
        if rule == "sparse_no_traversal":
            sp.traversalOrder = None
        elif rule == "sparse_no_dim_metadata":
            sp.dimMetadata = None
        elif rule == "sparse_bad_format":
            dense.format = 2
        else:
            variant = draw(st.integers(0, 2))
            if variant == 0:
                csr.arraySegments, csr.arraySegmentsType = None, 0
            elif variant == 1:
                csr.arraySegmentsType = 0
            else:
                csr.arrayIndices.values = None
        bad.sparsity = sp
    else:
        append = False
    if append:
        tensors.append(bad)
        return
    if rule == "version":
        model.version = draw(st.sampled_from([0, 2, 4]))
    elif rule == "no_subgraphs":
        model.subgraphs = []
    elif rule == "subgraphs_absent":
        model.subgraphs = None  # LiteRT crashes (SIGSEGV) constructing
    elif rule == "no_buffers":
        model.buffers = None
        for sg in model.subgraphs:
            for tensor in sg.tensors or []:
                tensor.buffer = 0
    elif rule == "subgraph_no_tensors":
        model.subgraphs[-1].tensors = None
        model.subgraphs[-1].operators = None
    elif rule == "signature_no_key":
        sig = schema.SignatureDefT()
        sig.inputs, sig.outputs = [], []
        model.signatureDefs = [*(model.signatureDefs or []), sig]
    elif rule == "signature_bad_utf8":
        sig = schema.SignatureDefT()
        sig.signatureKey = b"\xff"
        sig.inputs, sig.outputs = [], []
        model.signatureDefs = [*(model.signatureDefs or []), sig]
    elif rule.startswith("op_"):
        code = schema.OperatorCodeT()
        code.builtinCode = code.deprecatedBuiltinCode = BUILTIN.ADD
        op = schema.OperatorT()
        op.inputs, op.outputs = [], []
        if rule == "op_custom_no_code":
            code.builtinCode = code.deprecatedBuiltinCode = BUILTIN.CUSTOM
        elif rule == "op_bad_version":
            code.version = 99
        elif rule == "op_code_out_of_range":
            code.builtinCode, code.deprecatedBuiltinCode = 250, 127
        model.operatorCodes = [*(model.operatorCodes or []), code]
        op.opcodeIndex = len(model.operatorCodes) - 1
        if rule == "op_bad_opcode_index":
            op.opcodeIndex = len(model.operatorCodes) + 4
        subgraph.operators = [*(subgraph.operators or []), op]


# -- the model ---------------------------------------------------------------------------


@st.composite
def _subgraph(draw: Any, model: Any, external: dict[int, bytes], notes: list[str],
              ntensors: int) -> Any:
    subgraph = schema.SubGraphT()
    tensors = []
    names: list[Any] = []
    for _ in range(ntensors):
        tensor = schema.TensorT()
        tensor.type = draw(tensor_types())
        tensor.shape = draw(shapes(allow_negative=tensor.type in VARLEN_TYPES))
        tensor.name = draw(tensor_names(tuple(names)))
        if tensor.name is not None:
            names.append(tensor.name)
        tensor.shapeSignature = draw(shape_signatures(tensor.shape))
        negative = any(d < 0 for d in tensor.shape or [])
        storage = draw(st.sampled_from(
            ["none", "none", "none", "empty_buffer", "offset_1", "const", "const", "const",
             "external", "variable"]))
        if storage in ("const", "external") and not negative:
            data = draw(constant_data(tensor.type, tensor.shape))
            buffer = schema.BufferT()
            if storage == "external" and data:
                external[len(model.buffers)] = data
                notes.append("external buffer")
            else:
                buffer.data = data
            shared = [i for i, b in enumerate(model.buffers) if i and b.data == data]
            if shared and draw(st.integers(0, 3)) == 0:
                tensor.buffer = shared[0]
            else:
                model.buffers.append(buffer)
                tensor.buffer = len(model.buffers) - 1
        elif storage == "empty_buffer":
            model.buffers.append(schema.BufferT())
            tensor.buffer = len(model.buffers) - 1
        elif storage == "offset_1":
            buffer = schema.BufferT()
            buffer.offset, buffer.size = 1, draw(st.integers(0, 8))
            model.buffers.append(buffer)
            tensor.buffer = len(model.buffers) - 1
        elif storage == "variable" and tensor.type not in VARLEN_TYPES:
            tensor.isVariable = True
        if draw(st.integers(0, 9)) == 0:
            tensor.hasRank = True
        tensors.append(tensor)
    for tensor in tensors:  # second pass: quantization and sparsity may name any tensor
        tensor.quantization, kind = draw(quantizations(tensor.shape, ntensors))
        if kind != "none":
            notes.append(kind)
        if draw(st.integers(0, 6)) == 0 and not any(d < 0 for d in tensor.shape or []):
            tensor.sparsity = draw(sparsities(len(tensor.shape or [])))
            notes.append("sparse")
    subgraph.tensors = tensors
    subgraph.inputs = _io_list(draw, ntensors)
    subgraph.outputs = _io_list(draw, ntensors)
    if draw(st.integers(0, 4)) == 0:
        subgraph.name = draw(st.sampled_from(["main", "", "body"]))
    operators = []
    for _ in range(draw(st.sampled_from([0, 0, 1, 2, 3]))):
        op_code, op_name = draw(operator_codes())
        model.operatorCodes.append(op_code)
        op = schema.OperatorT()
        op.opcodeIndex = len(model.operatorCodes) - 1
        tensor_index = st.integers(0, ntensors - 1) if ntensors else st.just(-1)
        index = st.one_of(tensor_index, tensor_index, tensor_index, st.just(-1),
                          st.sampled_from([ntensors, 99, -2]))
        op.inputs = draw(st.lists(index, max_size=3))
        op.outputs = draw(st.lists(index, max_size=2))
        if draw(st.integers(0, 5)) == 0:
            op.intermediates = draw(st.lists(tensor_index, max_size=2))
        if op_name == "CUSTOM" and draw(st.booleans()):
            op.customOptions = draw(st.lists(st.integers(0, 255), max_size=4))
        operators.append(op)
        notes.append(op_name)
    subgraph.operators = operators or (None if draw(st.booleans()) else [])
    return subgraph


@st.composite
def models(draw: Any, invalid_share: int = 8) -> tuple[bytes, str]:
    """``(model_bytes, description)``: 1..3 subgraphs of 0..6 tensors, buffers (some
    after the flatbuffer), operators, 0..3 signatures. About one draw in
    ``invalid_share`` also breaks one construction rule (docs/litert-rules.md,
    section 1)."""
    notes: list[str] = []
    model = schema.ModelT()
    model.version = 3
    buffer0 = schema.BufferT()
    if draw(st.integers(0, 19)) == 0:
        buffer0.data = b"\x01\x02"  # ignored: buffer 0 never makes a constant
        notes.append("buffer0 data")
    model.buffers = [buffer0]
    model.operatorCodes = []
    external: dict[int, bytes] = {}
    nsubgraphs = draw(st.sampled_from([1, 1, 1, 2, 3]))
    counts = [draw(st.integers(1 if i == 0 else 0, 6)) for i in range(nsubgraphs)]
    model.subgraphs = [draw(_subgraph(model, external, notes, count)) for count in counts]
    model.signatureDefs = draw(signature_defs(counts)) or (
        None if draw(st.booleans()) else [])
    if model.signatureDefs:
        notes.append(f"{len(model.signatureDefs)} signatures")
    if not model.operatorCodes and draw(st.booleans()):
        model.operatorCodes = None
    if draw(st.integers(0, 9)) == 0:
        model.description = "generated"
        meta = schema.MetadataT()
        meta.name, meta.buffer = "min_runtime_version", 0
        model.metadata = [meta]
    rule = None
    # Hypothesis favours the bounds of an integer range and draws mid-range values less
    # often than uniformly: this window fires for about one draw in ``invalid_share``.
    if invalid_share and draw(st.integers(0, 99)) in range(30, 30 + 200 // invalid_share):
        rule = draw(invalid_rules())
        notes.insert(0, f"invalid: {rule}")
        _apply_rule(draw, rule, model)
    data = build_model(model, {i: b for i, b in external.items()
                               if model.buffers and i < len(model.buffers)})
    if rule == "bad_identifier":
        data = data[:4] + b"TFL2" + data[8:]
    elif rule == "truncated":
        data = data[: draw(st.integers(0, len(data) - 4))]
        notes.append("truncated")
    elif draw(st.integers(0, 29)) == 0:
        data += b"garbage tail"
        notes.append("garbage tail")
    notes.insert(0, f"{nsubgraphs} subgraphs, tensors {counts}, {len(data)} bytes")
    return data, "; ".join(dict.fromkeys(notes))
