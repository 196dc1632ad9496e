"""Which quantization a tensor ends up with in LiteRT: one classifier, for one tensor or a column.

LiteRT decides from two stored facts (docs/litert-rules.md, "Quantization fields"): the
``QuantizationDetails`` union tag and the number of values in ``scale``. Blockwise and
multi-axis details win whatever ``scale`` holds; any other tag (none, CustomQuantization or
a tag the schema does not define) means affine quantization when ``scale`` is non-empty,
and none otherwise. This module only classifies; validation is ``_construction``'s.

>>> quant_kind(0, 1), quant_kind(1, 3), quant_kind(2, 0), quant_kind(9, 0)
(<QuantKind.AFFINE: 1>, <QuantKind.AFFINE: 1>, <QuantKind.BLOCKWISE: 2>, <QuantKind.NONE: 0>)
"""

from __future__ import annotations

from enum import IntEnum

import numpy as np

from ._schema import QuantizationDetails

__all__ = ["QuantKind", "quant_kind", "quant_kinds"]


class QuantKind(IntEnum):
    """How LiteRT parses a tensor's quantization."""

    #: no quantization table, or an empty/absent ``scale`` without blockwise or multi-axis
    #: details (zero points, min/max and custom details alone count for nothing)
    NONE = 0
    #: per-tensor or per-axis ``scale``/``zero_point`` (the details union is none, custom or
    #: a tag the schema does not define)
    AFFINE = 1
    #: ``BlockwiseQuantization`` details: scales and zero points live in other tensors
    BLOCKWISE = 2
    #: ``MultiAxisQuantization`` details: validated at construction, reported empty
    MULTI_AXIS = 3


_BY_DETAILS: dict[int, QuantKind] = {
    QuantizationDetails.BlockwiseQuantization: QuantKind.BLOCKWISE,
    QuantizationDetails.MultiAxisQuantization: QuantKind.MULTI_AXIS,
}


def quant_kind(details_type: int, scale_count: int) -> QuantKind:
    """The kind of one tensor's quantization from its union tag and ``len(scale)``.

    A tensor without a quantization table is ``quant_kind(0, 0)``; an absent ``scale``
    counts as 0 (or any negative number).
    """
    found = _BY_DETAILS.get(details_type)
    if found is not None:
        return found
    return QuantKind.AFFINE if scale_count > 0 else QuantKind.NONE


def quant_kinds(details_type: np.ndarray, scale_count: np.ndarray) -> np.ndarray:
    """:func:`quant_kind` of whole columns at once, as an int8 array of ``QuantKind`` values.

    >>> quant_kinds(np.array([0, 2, 3, 1, 0]), np.array([0, 1, 1, 2, -1])).tolist()
    [0, 2, 3, 1, 0]
    """
    kinds = np.where(scale_count > 0, QuantKind.AFFINE, QuantKind.NONE).astype(np.int8)
    for tag, kind in _BY_DETAILS.items():
        kinds[details_type == tag] = kind
    return kinds
