"""``tflparse.interpreter`` as a drop-in for ``ai_edge_litert.interpreter``, against LiteRT.

- The module offers LiteRT's public names, and ``OpResolverType`` has its members.
- The constructor: every argument case below, alone and with every other case (both
  orders), is given to LiteRT's constructor and to ours; both must succeed, or raise the
  same exception type with the same message (tflparse may add an explanation in
  parentheses; ``InvalidModelError`` stands for LiteRT's ValueError). Cases run in this
  process, except those with a delegate whose pointer LiteRT dereferences: LiteRT crashes
  there, so they run in the oracle's worker (``litert_oracle``), and tflparse must raise.
- ``_get_op_details``: every index from -2 to the operator count + 1, C int limits and
  non-integers, on the shared models, the fixtures and generated models, against LiteRT
  (its errors name an internal object of LiteRT; that one repr is masked).
"""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any
from unittest import mock

import numpy as np
import pytest
from conftest import FIXTURES, fixture_paths, shared_models_param
from hypothesis import HealthCheck, given, note, settings

litert = pytest.importorskip("ai_edge_litert.interpreter")
from gen_broken_models import models as rule_breaking_models  # noqa: E402
from gen_valid_models import models  # noqa: E402
from litert_oracle import (  # noqa: E402
    CRASH,
    FakeDelegate,
    LiteRT,
    ResolverMember,
    Result,
    compare,
    construct_with,
    execute,
    noop_registerer,
    run_tflparse,
)

import tflparse  # noqa: E402
import tflparse.interpreter as ours  # noqa: E402

pytestmark = [pytest.mark.litert, pytest.mark.slow]
EXAMPLES = int(os.environ.get("TFLPARSE_DIFFERENTIAL_EXAMPLES", "500"))
#: each generated model costs ~30 calls here; test_differential already makes the list call
#: (_get_ops_details) on EXAMPLES models of both generators
OP_EXAMPLES = max(1, EXAMPLES // 5)
MODEL = FIXTURES / "mnist_int8.tflite"
DATA = MODEL.read_bytes()


@pytest.fixture(scope="module")
def worker() -> Iterator[LiteRT]:
    oracle = LiteRT()
    yield oracle
    oracle.close()


# -- names -----------------------------------------------------------------------------------


def test_module_offers_litert_names() -> None:
    public = {name for name in dir(litert) if not name.startswith("_")
              and not isinstance(getattr(litert, name), type(os))}
    public -= {"metrics"}  # LiteRT's usage counters
    assert public <= set(dir(ours)), public - set(dir(ours))
    assert {m.name: m.value for m in ours.OpResolverType} == {
        m.name: m.value for m in litert.OpResolverType}
    for name in ("Interpreter", "InterpreterWithCustomOps", "OpResolverType", "load_delegate"):
        assert getattr(tflparse, name) is getattr(ours, name)
    for name in ("_get_op_details", "_get_ops_details", "_get_tensor_details", "_safe_to_run"):
        assert callable(getattr(ours.Interpreter, name)), name


def test_signatures_match_litert() -> None:
    import inspect

    def names(function: Any) -> list[str]:
        return list(inspect.signature(function).parameters)

    for name in ("InterpreterWithCustomOps", "SignatureRunner", "Delegate"):
        assert names(getattr(ours, name).__init__) == names(getattr(litert, name).__init__)
    assert names(ours.load_delegate) == names(litert.load_delegate)
    assert names(ours.Interpreter._get_op_details) == names(litert.Interpreter._get_op_details)


# -- the constructor -------------------------------------------------------------------------

# One argument each; None values of a source case mean "not given".
OBJECT = object()  # no __bool__: the binding cannot read it as a bool
CASES: dict[str, dict[str, Any]] = {
    # num_threads
    "threads=-1": {"num_threads": -1},
    "threads=0": {"num_threads": 0},
    "threads=False": {"num_threads": False},
    "threads=4.2": {"num_threads": 4.2},
    "threads='2'": {"num_threads": "2"},
    "threads=int64": {"num_threads": np.int64(2)},
    "threads=2**31": {"num_threads": 2**31},
    "threads=2": {"num_threads": 2},
    "threads=True": {"num_threads": True},
    # op resolver type
    "resolver='test'": {"experimental_op_resolver_type": "test"},
    "resolver=1": {"experimental_op_resolver_type": 1},
    "resolver=None": {"experimental_op_resolver_type": None},
    "resolver=[]": {"experimental_op_resolver_type": []},
    "resolver=REF": {"experimental_op_resolver_type": ResolverMember("BUILTIN_REF")},
    # delegates
    "delegates=5": {"experimental_delegates": 5},
    "delegates=[5]": {"experimental_delegates": [5]},
    "delegates='ab'": {"experimental_delegates": "ab"},
    "delegates=[]": {"experimental_delegates": []},
    "delegates=[null]": {"experimental_delegates": [FakeDelegate(0)]},
    "delegates=[pointer 'x']": {"experimental_delegates": [FakeDelegate("x")]},
    "delegates=[pointer -1]": {"experimental_delegates": [FakeDelegate(-1)]},
    "delegates=[pointer 2**64]": {"experimental_delegates": [FakeDelegate(2**64)]},
    "delegates=[pointer 1.0]": {"experimental_delegates": [FakeDelegate(1.0)]},
    "delegates=[pointer 1]": {"experimental_delegates": [FakeDelegate(1)]},  # LiteRT crashes
    # custom op registerers (names are left out: LiteRT looks them up, tflparse does not)
    "registerers=5": {"custom_op_registerers": 5},
    "registerers=[5]": {"custom_op_registerers": [5]},
    "registerers=[b'x']": {"custom_op_registerers": [b"x"]},
    "registerers=[None]": {"custom_op_registerers": [None]},
    "registerers=[function]": {"custom_op_registerers": [noop_registerer]},
    "registerers=[]": {"custom_op_registerers": []},
    # the boolean options
    "preserve='x'": {"experimental_preserve_all_tensors": "x"},
    "preserve=array": {"experimental_preserve_all_tensors": np.array([1, 2])},
    "preserve=True": {"experimental_preserve_all_tensors": True},
    "clustering=[1]": {"experimental_disable_delegate_clustering": [1]},
    "latest=object": {"experimental_default_delegate_latest_features": OBJECT},
    "compress=array": {"experimental_compress_quantization_zero_points": np.array([1, 2])},
    "compress=int8": {"experimental_compress_quantization_zero_points": np.int8(1)},
    "fusion=None": {"experimental_disable_delegate_node_fusion": None},
    "profiling=2": {"experimental_force_delegate_node_profiling": 2},
    # the model source
    "path=5": {"model_path": 5},
    "path=[path]": {"model_path": [str(MODEL)]},
    "path=missing": {"model_path": "{tmp}/missing.tflite"},
    "path=folder": {"model_path": "{tmp}"},
    "path=empty file": {"model_path": "{tmp}/empty.tflite"},
    "path=junk file": {"model_path": "{tmp}/junk.tflite"},
    "path=unencodable": {"model_path": "{tmp}/\udcff.tflite"},
    "path=bytes, not UTF-8": {"model_path": b"{tmp}/\xff.tflite"},
    "path=NUL": {"model_path": str(MODEL) + "\x00.ignored"},
    "path=bytes": {"model_path": os.fsencode(MODEL)},
    "path=Path": {"model_path": MODEL},
    "content=str": {"model_path": None, "model_content": "abc"},
    "content=bytearray": {"model_path": None, "model_content": bytearray(DATA)},
    "content=memoryview": {"model_path": None, "model_content": memoryview(b"TFL3")},
    "content=5": {"model_path": None, "model_content": 5},
    "content=short": {"model_path": None, "model_content": b"short"},
    "content=array": {"model_path": None, "model_content": np.frombuffer(DATA, np.uint8)},
    "content=no subgraph": {"model_path": None, "model_content": "{no subgraph}"},
    "content=model": {"model_path": None, "model_content": DATA},
    "content=b''": {"model_path": None, "model_content": b""},
    "path='' and content": {"model_path": "", "model_content": DATA},
    "both": {"model_path": str(MODEL), "model_content": DATA},
    "neither": {"model_path": None, "model_content": None},
}
CRASHES = {"delegates=[pointer 1]"}  # LiteRT applies the "delegate": runs in the worker


@pytest.fixture(scope="module")
def cases(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """CASES with the files they need made and named."""
    tmp = tmp_path_factory.mktemp("paths")
    (tmp / "empty.tflite").write_bytes(b"")
    (tmp / "junk.tflite").write_bytes(b"junk" * 10)
    no_subgraph = _no_subgraph_model()
    found = {}
    for name, kwargs in CASES.items():
        resolved = {}
        for key, value in kwargs.items():
            if isinstance(value, str) and value == "{no subgraph}":
                value = no_subgraph
            elif isinstance(value, str):
                value = value.replace("{tmp}", str(tmp))
            elif isinstance(value, bytes):
                value = value.replace(b"{tmp}", os.fsencode(tmp))
            resolved[key] = value
        found[name] = resolved
    return found


def _no_subgraph_model() -> bytes:
    """A well-formed model that LiteRT refuses to build: it has no subgraph."""
    from model_builder import pack
    from model_builder import schema as s

    model = s.ModelT()
    model.version, model.subgraphs, model.buffers = 3, [], []
    return pack(model)


def _kwargs(*parts: dict[str, Any]) -> dict[str, Any]:
    merged: dict[str, Any] = {"model_path": str(MODEL)}
    for part in parts:
        merged.update(part)
    return {key: value for key, value in merged.items() if value is not None
            or key not in ("model_path", "model_content")}


_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")
_SELF = re.compile(r"Invoked with: <[^<>]*>")


def _masked(result: Result, descriptors: bool = False) -> Result:
    """A result with what differs between objects and processes masked: addresses, the
    binding's own ``self`` repr, (across processes) descriptor numbers."""
    if result[0] != "raise":
        return result
    message = _ADDRESS.sub(" at 0x?", _SELF.sub("Invoked with: <self>", result[2]))
    if descriptors:
        message = re.sub(r"Mmap of '\d+'", "Mmap of '?'", message)
    return (result[0], result[1], message, result[3])


def _construct_in_process(kwargs: dict[str, Any]) -> tuple[Result, Result]:
    plan = [("construct", kwargs)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # LiteRT's memory warning for preserve_all_tensors
        theirs = list(execute(lambda **kw: construct_with(litert, DATA, kw), plan))[0]
    mine = run_tflparse(DATA, plan)[0]
    return mine, theirs


def _differences(combinations: list[tuple[str, ...]], cases: dict[str, dict[str, Any]],
                 worker: LiteRT) -> list[str]:
    found = []
    # where LiteRT may crash, it runs in the worker; arguments that cannot be sent there
    # (a memoryview) are refused by LiteRT's binding before any delegate is looked at
    isolated = [c for c in combinations if CRASHES.intersection(c) and _picklable(c, cases)]
    in_process = [c for c in combinations if c not in isolated]
    for combination in in_process:
        kwargs = _kwargs(*(cases[name] for name in combination))
        mine, theirs = _construct_in_process(kwargs)
        difference, _ = compare([("construct",)], [_masked(mine)], [_masked(theirs)])
        if difference:
            found.append(f"{combination}: {difference}")
    plan = [("construct", _kwargs(*(cases[name] for name in c))) for c in isolated]
    theirs_all = worker.run(DATA, plan) if plan else []
    mine_all = run_tflparse(DATA, plan)
    for combination, mine, theirs in zip(isolated, mine_all, theirs_all):
        difference, _ = compare([("construct",)], [_masked(mine, True)],
                                [_masked(theirs, True)])
        if difference:
            found.append(f"{combination}: {difference}")
    return found


def _picklable(combination: tuple[str, ...], cases: dict[str, dict[str, Any]]) -> bool:
    import pickle

    try:
        pickle.dumps([cases[name] for name in combination])
    except TypeError:
        return False
    return True


def _keys(name: str) -> set[str]:
    keys = set(CASES[name])
    return {"source"} if keys & {"model_path", "model_content"} else keys


@pytest.mark.parametrize("name", list(CASES))
def test_constructor_case(name: str, cases: dict[str, dict[str, Any]], worker: LiteRT) -> None:
    """The case alone, then paired with every case on another argument, in both orders."""
    partners = [other for other in CASES if not _keys(other) & _keys(name)]
    combinations = [(name,)] + [pair for other in partners
                                for pair in ((name, other), (other, name))]
    differences = _differences(combinations, cases, worker)
    assert not differences, "\n".join(differences[:10])


def test_crashing_delegate_is_refused(worker: LiteRT) -> None:
    """The case LiteRT crashes on: it does crash, and tflparse raises ValueError."""
    plan = [("construct", _kwargs(CASES["delegates=[pointer 1]"]))]
    assert worker.run(DATA, plan) == [CRASH]
    result = run_tflparse(DATA, plan)[0]
    assert result[:2] == ("raise", "ValueError") and "does not run code" in result[2]


def test_registerer_names_are_not_looked_up() -> None:
    """The one documented difference: LiteRT looks names up in its own library and fails
    for unknown ones; tflparse accepts them unread (it needs no custom op kernels)."""
    with pytest.raises(ValueError, match="Looking up symbol 'NoSuchRegisterer' failed"):
        litert.InterpreterWithCustomOps(model_path=str(MODEL),
                                        custom_op_registerers=["NoSuchRegisterer"])
    interpreter = ours.InterpreterWithCustomOps(model_path=str(MODEL),
                                                custom_op_registerers=["NoSuchRegisterer"])
    assert len(interpreter.get_tensor_details()) == 10


def test_foreign_resolver_member_accepted() -> None:
    """LiteRT's own OpResolverType members work with tflparse (a mixed-import script)."""
    interpreter = ours.Interpreter(model_path=str(MODEL),
                                   experimental_op_resolver_type=litert.OpResolverType.BUILTIN)
    assert interpreter.num_subgraphs() == 1


# -- _get_op_details -------------------------------------------------------------------------

ODD_INDICES: list[Any] = [2**31 - 1, -2**31, 2**31, -2**31 - 1, 2**63, True, False,
                          np.int64(0), np.int32(-1), np.uint64(2**63), np.array(0),
                          np.array([0]), np.float32(0.0), Decimal(0), 1.0, np.float64(0.0),
                          "0", None, [0], 1j]


def _op_count(data: bytes) -> int:
    try:
        from ai_edge_litert import schema_py_generated as s

        model = s.Model.GetRootAs(data, 0)
        return min(int(model.Subgraphs(0).OperatorsLength()), 1000)
    except Exception:
        return 0


def check_op_details(worker: LiteRT, data: bytes) -> None:
    count = _op_count(data)
    plan = [("construct",), ("_get_ops_details",)]
    plan += [("_get_op_details", i) for i in range(-2, count + 2)]
    plan += [("_get_op_details", value) for value in ODD_INDICES]
    theirs = worker.run(data, plan)
    with mock.patch("tflparse._details.bfloat16_type", return_value=None):
        mine = run_tflparse(data, plan)
    # one comparison of the whole plan: where LiteRT crashes in construction, nothing after
    # it is compared (neither has an interpreter)
    difference, _ = compare(plan, [_masked(a) for a in mine], [_masked(b) for b in theirs])
    assert difference is None, difference
    if theirs[1][0] == "ok":  # each node alone is its entry of the list
        for k, entry in enumerate(theirs[1][1]):
            assert compare([("_get_op_details", k)], [mine[2 + 2 + k]],
                           [("ok", entry)])[0] is None


@pytest.mark.parametrize("path", shared_models_param())
def test_op_details_shared_model(worker: LiteRT, path: Path) -> None:
    check_op_details(worker, path.read_bytes())


EXPECTATION_MODELS = sorted((FIXTURES / "expectations").glob("*.tflite"))


@pytest.mark.parametrize("path", [pytest.param(p, id=p.name)
                                  for p in fixture_paths() + EXPECTATION_MODELS])
def test_op_details_fixture(worker: LiteRT, path: Path) -> None:
    check_op_details(worker, path.read_bytes())


@settings(max_examples=OP_EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=models())
def test_op_details_generated(worker: LiteRT, data: bytes) -> None:
    check_op_details(worker, data)


@settings(max_examples=OP_EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(case=rule_breaking_models())
def test_op_details_generated_breaking_rules(worker: LiteRT, case: tuple[bytes, str]) -> None:
    """Models that break construction rules, among them operators LiteRT drops."""
    data, description = case
    note(description)
    check_op_details(worker, data)
