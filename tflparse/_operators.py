"""Every operator of one subgraph as numpy columns, read in bulk (internal).

LiteRT's construction walks the operators one by one; most of them draw no message and only
add a node (and maybe scratch tensors). ``plain_operators`` finds those in a few array
operations, so only the rest take the exact, one-operator-at-a-time path.
"""

from __future__ import annotations

import numpy as np

from . import _kernels
from . import _schema as S
from ._flatbuf import Columns, FlatBuffer, TableVector

__all__ = ["OperatorColumns", "plain_operators"]


class OperatorColumns:
    """The fields of every operator that construction looks at, as columns."""

    __slots__ = ("fb", "rows", "count", "opcode_index", "input_start", "input_count",
                 "output_start", "output_count", "options_type", "options_2_type",
                 "has_options", "has_options_2", "has_custom_options")

    def __init__(self, fb: FlatBuffer, vector: TableVector | None) -> None:
        F = S.Operator
        self.fb = fb
        if vector is None:
            vector = TableVector(fb, 0, 0, "operators")
        self.rows = rows = Columns.of_vector(vector)
        self.count = len(rows)
        self.opcode_index = rows.scalar(F.OPCODE_INDEX).astype(np.int64)
        self.input_start, self.input_count = rows.vectors(F.INPUTS)
        self.output_start, self.output_count = rows.vectors(F.OUTPUTS)
        self.options_type = rows.scalar(F.BUILTIN_OPTIONS_TYPE).astype(np.int64)
        self.options_2_type = rows.scalar(F.BUILTIN_OPTIONS_2_TYPE).astype(np.int64)
        self.has_options = _present(rows, F.BUILTIN_OPTIONS)
        self.has_options_2 = _present(rows, F.BUILTIN_OPTIONS_2)
        self.has_custom_options = _present(rows, F.CUSTOM_OPTIONS)


def _present(rows: Columns, field: S.Ref | S.Vector) -> np.ndarray:
    found: np.ndarray = rows.field(field.voffset, 4, field.name) != 0
    return found


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
    plain &= builtin != S.BuiltinOperator.LSTM
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
