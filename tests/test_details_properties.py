"""Properties of the detail dictionaries over generated models (no oracle needed)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

import tflparse

pytest.importorskip("ai_edge_litert.schema_py_generated")
from gen_valid_models import models  # noqa: E402

pytestmark = pytest.mark.slow


@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
@given(models())
def test_legacy_quantization_tuple_agrees_with_parameters(data: bytes) -> None:
    """`quantization` is (scale, zero point) exactly when there is one scale, else (0.0, 0)."""
    try:
        interpreter = tflparse.Interpreter(model_content=data)
    except ValueError:
        return
    for subgraph in range(interpreter.num_subgraphs()):
        for detail in interpreter.get_tensor_details(subgraph):
            scale, zero_point = detail["quantization"]
            params = detail["quantization_parameters"]
            assert type(scale) is float and type(zero_point) is int
            affine = params["scales"].dtype == np.float32  # blockwise scales are float16
            if affine and len(params["scales"]) == 1:
                assert np.float32(scale).tobytes() == params["scales"][0].tobytes()
                assert zero_point == int(params["zero_points"][0])
            else:
                assert (scale, zero_point) == (0.0, 0)
            assert params["zero_points"].dtype == np.int32
            assert len(params["zero_points"]) in (0, 1, len(params["scales"]))
