"""Files that claim more than they hold are refused, not allocated.

Each model is checked in a child process whose address space is limited to 1 GiB, so an
allocation driven by the file's claims fails the test instead of swapping the machine.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("ai_edge_litert.schema_py_generated")
from handmade import buffer, build_model, s, tensor  # noqa: E402


def sparse_huge() -> bytes:
    sparsity = s.SparsityParametersT()
    sparsity.traversalOrder = [0, 1]
    dims = []
    for _ in range(2):
        dim = s.DimensionMetadataT()
        dim.format, dim.denseSize = s.DimensionType.DENSE, 60000
        dims.append(dim)
    sparsity.dimMetadata = dims
    return build_model([tensor([60000, 60000], s.TensorType.FLOAT32, 1, sparsity=sparsity)],
                  [buffer(), buffer(bytes(16))])


def strings_huge() -> bytes:
    return build_model([tensor([1 << 30, 1 << 20], s.TensorType.STRING, 1)],
                  [buffer(), buffer(np.array([0, 8], "<i4").tobytes())])


def blockwise_huge() -> bytes:
    q = s.QuantizationParametersT()
    details = s.BlockwiseQuantizationT()
    details.scales, details.zeroPoints, details.blockSize = 1, -1, 32
    q.detailsType, q.details = s.QuantizationDetails.BlockwiseQuantization, details
    return build_model([tensor([4], s.TensorType.INT8, quantization=q),
                   tensor([1 << 20, 1 << 20], s.TensorType.INT8)], [buffer()])


CHILD = textwrap.dedent("""
    import resource, sys
    resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))
    sys.path.insert(0, sys.argv[2])
    from fuzzing import exercise
    problems = exercise(open(sys.argv[1], "rb").read())
    print("\\n".join(problems))
    sys.exit(1 if problems else 0)
""")


@pytest.mark.parametrize("build", [sparse_huge, strings_huge, blockwise_huge],
                         ids=lambda f: f.__name__)
def test_claims_are_not_allocated(build: object, tmp_path: Path) -> None:
    path = tmp_path / "model.tflite"
    path.write_bytes(build())  # type: ignore[operator]
    result = subprocess.run([sys.executable, "-c", CHILD, str(path), str(Path(__file__).parent)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_refusal_names_the_tensor(tmp_path: Path) -> None:
    import tflparse

    model = tflparse.load(sparse_huge())
    with pytest.raises(tflparse.InvalidModelError, match=r"tensors\[0\]\.sparsity: would need "
                       r"14400000000 bytes of memory"):
        model.subgraphs[0].tensors[0].to_array()
