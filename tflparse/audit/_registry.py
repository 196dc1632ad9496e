"""The audit's registry and the facts its rules share.

A rule is one small function registered with :func:`rule`, which gives it a stable id, a
severity and a one-line summary; :data:`RULES` is the table of all of them, in the order they
run (the order their modules are imported by ``tflparse.audit``, then the order within each).
A rule receives a :class:`Context` (the model plus facts computed once: readable tensors,
operators, LiteRT's construction result) and yields ``(Location, message)`` pairs (a
:data:`Hit`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Callable, NamedTuple, Union

import numpy as np

from .._construction import Constructed, construct
from .._dtypes import type_name
from .._errors import InvalidModelError
from .._quant_kind import QuantKind
from .._schema import BuiltinOperator, TensorType
from ..interpreter import Interpreter
from ..model import Model, Quantization, Tensor
from ..weights import OperatorQuant, WeightStats, model_weight_stats, operator_quantities

__all__ = ["SEVERITIES", "Location", "Finding", "Hit", "Check", "Rule", "RULES", "rule",
           "TensorFacts", "OperatorFacts", "Context", "WEIGHT_OPS", "BOUNDARY_OPS"]

#: severities from the least to the most serious
SEVERITIES = ("info", "warning", "error")

_B = BuiltinOperator
#: the weight and bias operand positions of the operators whose bias scale is checked
WEIGHT_OPS: dict[int, tuple[int, int, int]] = {  # builtin -> (input, weights, bias)
    _B.CONV_2D: (0, 1, 2),
    _B.DEPTHWISE_CONV_2D: (0, 1, 2),
    _B.FULLY_CONNECTED: (0, 1, 2),
    _B.CONV_3D: (0, 1, 2),
    _B.TRANSPOSE_CONV: (2, 1, 3),  # (output_shape, weights, input, bias)
}
_ACTIVATION_TYPES = frozenset({TensorType.INT8, TensorType.UINT8, TensorType.INT16})
#: operators at the edge of a quantized graph (they convert, not compute)
BOUNDARY_OPS = frozenset({_B.QUANTIZE, _B.DEQUANTIZE})


@dataclass(frozen=True)
class Location:
    """Where a finding is; every field is optional (None: not applicable)."""

    subgraph: int | None = None
    tensor: int | None = None
    tensor_name: str | None = None
    operator: int | None = None
    buffer: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {"subgraph": self.subgraph, "tensor": self.tensor,
                "tensor_name": self.tensor_name, "operator": self.operator,
                "buffer": self.buffer}


@dataclass(frozen=True)
class Finding:
    """One problem: a rule id, its severity, where, and a message that ends with a hint."""

    rule: str
    severity: str
    location: Location
    message: str

    def to_json(self) -> dict[str, Any]:
        return {"rule": self.rule, "severity": self.severity,
                "location": self.location.to_json(), "message": self.message}


#: (where, message), or (where, message, severity) from a rule with two severities
Hit = Union[tuple[Location, str], tuple[Location, str, str]]
Check = Callable[["Context"], Iterator[Hit]]


class Rule(NamedTuple):
    id: str
    severity: str
    summary: str
    check: Check


#: every rule, by id, in the order they run
RULES: dict[str, Rule] = {}


def rule(rule_id: str, severity: str, summary: str) -> Callable[[Check], Check]:
    """Register the decorated function as rule ``rule_id`` (the one place a rule is added)."""
    if severity not in SEVERITIES:
        raise ValueError(f"severity must be one of {SEVERITIES}, not {severity!r}")

    def register(check: Check) -> Check:
        if rule_id in RULES:
            raise ValueError(f"rule {rule_id!r} is registered twice")
        RULES[rule_id] = Rule(rule_id, severity, summary, check)
        return check
    return register


# --------------------------------------------------------------------------------------------
# Facts computed once per model


@dataclass(frozen=True)
class TensorFacts:
    """What the rules need of one readable tensor."""

    subgraph: int
    index: int
    name: str
    type: int
    shape: tuple[int, ...]
    constant: bool
    tensor: Tensor
    quantization: Quantization | None
    #: affine parameters (None unless the tensor has a non-empty scale and no details union)
    scale: np.ndarray | None
    zero_point: np.ndarray | None

    def at(self, operator: int | None = None) -> Location:
        return Location(self.subgraph, self.index, self.name, operator)

    @property
    def affine(self) -> bool:
        return self.scale is not None

    @property
    def type_name(self) -> str:
        return type_name(self.type)


@dataclass(frozen=True)
class OperatorFacts:
    index: int
    builtin: int | None  # None for custom operators and unknown opcode indices
    name: str
    inputs: list[int]
    outputs: list[int]


def _facts(tensor: Tensor, subgraph: int) -> TensorFacts:
    q = tensor.quantization
    scale = zero_point = None
    if q is not None and q.kind == QuantKind.AFFINE:
        scale = q.scale
        zero_point = q.zero_point
    return TensorFacts(subgraph, tensor.index, tensor.name, int(tensor.type),
                       tuple(tensor.shape.tolist()), tensor.is_constant, tensor, q, scale,
                       zero_point)


class Context:
    """A model and the facts the rules share, each computed on first use."""

    def __init__(self, model: Model, weights: bool = True,
                 progress: Callable[[int, int], None] | None = None) -> None:
        self.model = model
        #: whether the weight rules read the constants' values (False: metadata only)
        self.read_weights = weights
        #: called with (bytes read, bytes in all) during the pass over the constants
        self.progress = progress
        #: (subgraph, tensor index, message) of tensors the model view cannot read
        self.unreadable: list[tuple[int, int, str]] = []

    @cached_property
    def tensors(self) -> list[list[TensorFacts]]:
        """The readable tensors of every subgraph (unreadable ones go to ``unreadable``)."""
        result = []
        for si, subgraph in enumerate(self.model.subgraphs):
            found = []
            for ti in range(len(subgraph.tensors)):
                try:
                    found.append(_facts(subgraph.tensors[ti], si))
                except InvalidModelError as error:
                    self.unreadable.append((si, ti, str(error)))
            result.append(found)
        return result

    def tensor(self, subgraph: int, index: int) -> TensorFacts | None:
        """A readable tensor by its index in the file, or None."""
        return self.by_index[subgraph].get(index)

    @cached_property
    def by_index(self) -> list[dict[int, TensorFacts]]:
        return [{t.index: t for t in tensors} for tensors in self.tensors]

    @cached_property
    def operators(self) -> list[list[OperatorFacts]]:
        codes = self.model.operator_codes
        result = []
        for subgraph in self.model.subgraphs:
            found = []
            for op in subgraph.operators:
                builtin: int | None = None
                name = f"opcode {op.opcode_index}?"
                if 0 <= op.opcode_index < len(codes):
                    code = codes[op.opcode_index]
                    name = code.name
                    if not code.is_custom:
                        builtin = code.builtin_code
                found.append(OperatorFacts(op.index, builtin, name, op.inputs.tolist(),
                                           op.outputs.tolist()))
            result.append(found)
        return result

    @cached_property
    def construction(self) -> Constructed | InvalidModelError:
        """LiteRT's construction result, or the error with its refusal message."""
        try:
            return construct(self.model)
        except InvalidModelError as error:
            return error

    @cached_property
    def interpreter(self) -> Interpreter:
        """The Interpreter over this model and its construction (which must have succeeded),
        one for all the rules."""
        construction = self.construction
        assert not isinstance(construction, InvalidModelError)
        return Interpreter._constructed(self.model, construction)

    @cached_property
    def integer_model(self) -> bool:
        """Whether some operator other than QUANTIZE/DEQUANTIZE computes on quantized
        int8/uint8/int16 activations (constants do not count: hybrid models are not integer)."""
        for si, ops in enumerate(self.operators):
            for op in ops:
                if op.builtin in BOUNDARY_OPS:
                    continue
                for t in self.operands(si, op):
                    if not t.constant and t.affine and t.type in _ACTIVATION_TYPES:
                        return True
        return False

    def operands(self, subgraph: int, op: OperatorFacts) -> Iterator[TensorFacts]:
        """The readable tensors an operator reads and writes."""
        for index in op.inputs + op.outputs:
            found = self.tensor(subgraph, index) if index >= 0 else None
            if found is not None:
                yield found

    def operand(self, subgraph: int, op: OperatorFacts, position: int,
                outputs: bool = False) -> TensorFacts | None:
        indices = op.outputs if outputs else op.inputs
        if position >= len(indices) or indices[position] < 0:
            return None
        return self.tensor(subgraph, indices[position])

    @cached_property
    def weights(self) -> set[tuple[int, int]]:
        """(subgraph, tensor) of the weight operands of conv and fully-connected operators."""
        found = set()
        for si, ops in enumerate(self.operators):
            for op in ops:
                if op.builtin in WEIGHT_OPS:
                    weights = self.operand(si, op, WEIGHT_OPS[op.builtin][1])
                    if weights is not None:
                        found.add((si, weights.index))
        return found

    @cached_property
    def int8_softmax_outputs(self) -> set[tuple[int, int]]:
        """(subgraph, tensor) of int16 outputs of SOFTMAX operators with int8 input."""
        found = set()
        for si, ops in enumerate(self.operators):
            for op in ops:
                x = self.operand(si, op, 0)
                out = self.operand(si, op, 0, outputs=True)
                if (op.builtin == BuiltinOperator.SOFTMAX and x is not None and out is not None
                        and x.type == TensorType.INT8 and out.type == TensorType.INT16):
                    found.add((si, out.index))
        return found

    @cached_property
    def weight_stats(self) -> dict[tuple[int, int], WeightStats]:
        """(subgraph, tensor) -> statistics of each readable quantized constant, from one
        chunked pass over the values (none when ``read_weights`` is False)."""
        if not self.read_weights:
            return {}
        found = model_weight_stats(self.model, self.progress, skip_invalid=True)
        return {(s.subgraph, s.tensor): s for s in found}

    @cached_property
    def operator_quantities(self) -> list[OperatorQuant]:
        """Requantization quantities of the quantized conv / fully-connected operators."""
        return operator_quantities(self.model, self.weight_stats)

    def all_tensors(self) -> Iterator[TensorFacts]:
        for tensors in self.tensors:
            yield from tensors

    def affine_tensors(self) -> Iterator[TensorFacts]:
        return (t for t in self.all_tensors() if t.affine)

