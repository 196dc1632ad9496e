"""The quantization classifier: the column form agrees with the scalar form, and the scalar
form follows LiteRT's decision order (details first, then whether ``scale`` is non-empty)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from tflparse._quant_kind import QuantKind, quant_kind, quant_kinds
from tflparse._schema import QuantizationDetails

TAGS = list(range(0, 8))  # the schema's tags (0..3) and some it does not define
COUNTS = [-1, 0, 1, 2, 7]


@pytest.mark.parametrize(("tag", "count"), list(itertools.product(TAGS, COUNTS)),
                         ids=lambda v: str(v))
def test_scalar_form_follows_litert_decision_order(tag: int, count: int) -> None:
    expected = (QuantKind.BLOCKWISE if tag == QuantizationDetails.BlockwiseQuantization
                else QuantKind.MULTI_AXIS if tag == QuantizationDetails.MultiAxisQuantization
                else QuantKind.AFFINE if count > 0 else QuantKind.NONE)
    assert quant_kind(tag, count) is expected


def test_column_form_agrees_with_scalar_form() -> None:
    pairs = list(itertools.product(TAGS, COUNTS))
    tags = np.array([t for t, _ in pairs], np.int64)
    counts = np.array([c for _, c in pairs], np.int64)
    assert quant_kinds(tags, counts).tolist() == [quant_kind(t, c) for t, c in pairs]


def test_column_form_of_no_rows_is_empty() -> None:
    assert quant_kinds(np.zeros(0, np.int64), np.zeros(0, np.int64)).shape == (0,)
