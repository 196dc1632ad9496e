"""tflparse.Interpreter against the real LiteRT interpreter, call by call.

Every inspection call (with its error cases) is made on both; the results must be identical
or both must refuse. LiteRT runs in a child process, so a case where it crashes costs one
call and is reported as "LiteRT crashes here". Models: every file in ../shared/models, the
fixtures, and hypothesis-generated models from two generators: ``gen_valid_models``
(every schema feature, quantization, sparsity, operators that LiteRT treats specially) and
``gen_broken_models`` (models that also break one of LiteRT's construction rules, or are
truncated or mislabelled); and corrupted copies of all of these (``fuzzing.fuzz_inputs``),
where LiteRT's flatbuffer verifier must refuse exactly what ours refuses.

BFLOAT16's dtype depends on whether ml_dtypes was imported (docs/litert-rules.md, 2.5): each
model runs against a LiteRT worker that did or did not import it, and tflparse is pinned to
match.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterator
from pathlib import Path
from unittest import mock

import pytest
from conftest import fixture_paths, shared_model_paths, shared_models_param
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

pytest.importorskip("ai_edge_litert.interpreter")
from fuzzing import fuzz_inputs  # noqa: E402
from gen_broken_models import models as rule_breaking_models  # noqa: E402
from gen_valid_models import models  # noqa: E402
from handmade import high_rank, sparse_chain  # noqa: E402
from litert_oracle import LiteRT, compare, plan_for, run_tflparse, same  # noqa: E402
from model_builder import one_subgraph_model, tensor  # noqa: E402

pytestmark = [pytest.mark.litert, pytest.mark.slow]
EXAMPLES = int(os.environ.get("TFLPARSE_DIFFERENTIAL_EXAMPLES", "500"))


@pytest.fixture(scope="session")
def workers() -> Iterator[dict[bool, LiteRT]]:
    found = {False: LiteRT(with_ml_dtypes=False), True: LiteRT(with_ml_dtypes=True)}
    yield found
    for worker in found.values():
        worker.close()


def check_model(workers: dict[bool, LiteRT], data: bytes, with_ml_dtypes: bool = False) -> int:
    """Assert identity on every call; return how many calls crashed LiteRT."""
    plan = plan_for(data)
    theirs = workers[with_ml_dtypes].run(data, plan)
    if with_ml_dtypes:
        import ml_dtypes

        bfloat16 = ml_dtypes.bfloat16
    else:
        bfloat16 = None
    with mock.patch("tflparse._details.bfloat16_type", return_value=bfloat16):
        ours = run_tflparse(data, plan)
    difference, crashes = compare(plan, ours, theirs)
    assert difference is None, difference
    return crashes


@pytest.mark.parametrize("path", shared_models_param())
def test_shared_models_read_as_litert_reads_them(workers: dict[bool, LiteRT], path: Path) -> None:
    crashes = check_model(workers, path.read_bytes())
    if crashes:  # shown in pytest's warnings summary
        warnings.warn(f"LiteRT crashes here: {crashes} call(s) on {path.name}; tflparse raised "
                      "ValueError instead", stacklevel=1)


@pytest.mark.parametrize("path", [pytest.param(p, id=p.name) for p in fixture_paths()])
def test_fixtures_read_as_litert_reads_them(workers: dict[bool, LiteRT], path: Path) -> None:
    check_model(workers, path.read_bytes())


@settings(max_examples=EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=models(), with_ml_dtypes=st.booleans())
def test_generated_models_read_as_litert_reads_them(
        workers: dict[bool, LiteRT], data: bytes, with_ml_dtypes: bool) -> None:
    check_model(workers, data, with_ml_dtypes)


@settings(max_examples=EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(case=rule_breaking_models(), with_ml_dtypes=st.booleans())
def test_rule_breaking_models_refused_or_read_as_litert_does(
        workers: dict[bool, LiteRT], case: tuple[bytes, str], with_ml_dtypes: bool) -> None:
    data, description = case
    note(description)
    check_model(workers, data, with_ml_dtypes)


SMALL_SEEDS = [p.read_bytes() for p in fixture_paths() + shared_model_paths()
               if p.stat().st_size <= 64_000]


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=fuzz_inputs(SMALL_SEEDS))
def test_corrupted_models_refused_as_litert_verifier_does(
        workers: dict[bool, LiteRT], data: bytes) -> None:
    check_model(workers, data)


HANDMADE = {
    "3000 sparsity levels": lambda: sparse_chain(1, 3000),
    "rank 70 sparse constant": lambda: sparse_chain(70, 0),
    "rank 70 constant": lambda: high_rank(70, constant=True),
    "rank 70 empty tensor": lambda: high_rank(70, constant=False),
    "rank 64 constant": lambda: high_rank(64, constant=True),
    # LiteRT prints the unsigned version field with %d (found by the corrupted-model test)
    "schema version 2**31": lambda: one_subgraph_model([tensor("x", 0, [1])], version=1 << 31),
    "schema version 2**32-1": lambda: one_subgraph_model([tensor("x", 0, [1])],
                                                         version=(1 << 32) - 1),
}


@pytest.mark.parametrize("name", sorted(HANDMADE))
def test_extreme_handmade_models_read_as_litert_reads_them(
        workers: dict[bool, LiteRT], name: str) -> None:
    """Shapes the generators stay clear of: more dimensions than numpy arrays can have, and
    sparsity thousands of levels deep."""
    assert check_model(workers, HANDMADE[name]()) == 0


def test_constructor_takes_litert_parameters() -> None:
    """The same parameters in the same order; runtime-only ones accepted, typos refused."""
    import inspect

    from ai_edge_litert.interpreter import Interpreter as LiteRTInterpreter

    import tflparse

    ours = inspect.signature(tflparse.Interpreter.__init__).parameters
    theirs = inspect.signature(LiteRTInterpreter.__init__).parameters
    assert list(ours) == list(theirs)
    for name, parameter in theirs.items():
        if isinstance(parameter.default, (bool, type(None))):
            assert ours[name].default == parameter.default, name
    model = fixture_paths()[0]
    positional = tflparse.Interpreter(str(model), None, None, 2)  # num_threads=2
    reference = LiteRTInterpreter(str(model), None, None, 2)
    assert same(positional.get_tensor_details(), reference.get_tensor_details()) is None
    for interpreter in (tflparse.Interpreter, LiteRTInterpreter):
        with pytest.raises(TypeError):
            interpreter(model_path=str(model), num_thread=2)
