"""``tflparse report``: a self-contained page that names every flagged tensor and plots every
quantized constant; the page's plots and size; the command line."""

from __future__ import annotations

import html
import re
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import FIXTURES, shared_model_paths, shared_models_param
from pagecheck import outside_references, scan

import tflparse
from tflparse.audit import audit_model
from tflparse.cli import main
from tflparse.report import analyse, render

flatbuffers = pytest.importorskip("flatbuffers")
s = pytest.importorskip("ai_edge_litert.schema_py_generated")

T = s.TensorType
_MEASURED = {T.INT8, T.UINT8, T.INT16, T.UINT16, T.INT32, T.INT64, T.INT4, T.UINT4, T.INT2}
# a few shared models with quantized constants, small enough to plot in a test run
_PLOTTED = ("aeq_conv_fc_mnist_a8w8.tflite", "tflite2onnx_depthwise_conv_uint8.tflite",
            "tflm_hello_world_int8.tflite", "litert_w8a16_k_einsum_peraxis1.tflite",
            "tiny_kws_float32_hybrid.tflite")


def quantized_constants(data: bytes) -> set[tuple[int, int]]:
    """(subgraph, tensor) of every quantized integer constant, read with the official
    bindings: an integer type, bytes in its buffer, and one scale, one per index of the
    quantized dimension, or blockwise details."""
    model = s.ModelT.InitFromPackedBuf(data, 0)
    found = set()
    for si, subgraph in enumerate(model.subgraphs or []):
        for ti, t in enumerate(subgraph.tensors or []):
            q = t.quantization
            if t.type not in _MEASURED or q is None or not 0 <= t.buffer < len(model.buffers):
                continue
            buffer = model.buffers[t.buffer]
            holds = (buffer.data is not None and len(buffer.data)) or buffer.offset > 1
            shape = list(t.shape if t.shape is not None else [])
            if not holds or 0 in shape:
                continue
            scales = 0 if q.scale is None else len(q.scale)
            blockwise = q.detailsType == s.QuantizationDetails.BlockwiseQuantization
            per_axis = 0 <= q.quantizedDimension < len(shape) and \
                scales == shape[q.quantizedDimension]
            if blockwise or (q.detailsType == 0 and (scales == 1 or per_axis)):
                found.add((si, ti))
    return found


class _StubPlotter:
    """Stands in for matplotlib where only the page's structure is tested."""

    def channels(self, view: Any, bins: int = 256) -> str:
        return "<svg class=stub></svg>"

    def scales(self, rows: Any, threshold: float) -> str:
        return "<svg class=stub></svg>"


def _sections(page: str) -> dict[tuple[int, int], str]:
    """(subgraph, tensor) -> the HTML of its <details> section."""
    found = {}
    for match in re.finditer(r'<details class="weight" id="w(\d+)-(\d+)"[^>]*>(.*?)</details>',
                             page, re.S):
        found[(int(match.group(1)), int(match.group(2)))] = match.group(3)
    return found


def _check_page(page: str, model: tflparse.Model, data: bytes) -> None:
    scanned = scan(page)
    assert scanned.found == [], f"outside references: {scanned.found[:5]}"
    assert scanned.scripts == 1  # the page's own tiny script, nothing from the file
    findings = audit_model(model)
    for finding in findings:
        loc = finding.location
        if loc.tensor is None or loc.subgraph is None:
            continue
        name = html.escape(loc.tensor_name or "", quote=True)
        assert name in page
        link = re.search(rf'href="#(w|t){loc.subgraph}-{loc.tensor}"', page)
        assert link is not None, f"no link to tensor {loc.tensor}"
        assert link.group(0)[7:-1] in scanned.ids  # the link lands on an element
    sections = _sections(page)
    expected = quantized_constants(data)
    types = {(si, ti): t.type for si, sg in enumerate(s.ModelT.InitFromPackedBuf(data, 0)
                                                       .subgraphs or [])
             for ti, t in enumerate(sg.tensors or [])}
    weights = {key for key in expected if types[key] not in (T.INT32, T.INT64)}
    assert set(sections) == weights  # a plotted section per quantized weight
    for key, body in sections.items():
        assert "<svg" in body, f"no plot for tensor {key}"
    for si, ti in expected - weights:  # biases: a row of the int32/int64 table
        assert f'<tr id="w{si}-{ti}">' in page
    flagged = {(f.location.subgraph, f.location.tensor) for f in findings}
    opened = [key for key in re.findall(r'<details class="weight" id="w(\d+)-(\d+)"( open)?',
                                        page)]
    # sections with findings come first and open, the rest folded
    states = [bool(o[2]) for o in opened]
    assert states == sorted(states, reverse=True)
    for si, ti, is_open in opened:
        if (int(si), int(ti)) in flagged:
            assert is_open


@pytest.mark.parametrize("path", shared_models_param())
def test_page_of_every_shared_model(path: Path) -> None:
    data = path.read_bytes()
    try:
        model = tflparse.load(data)
    except tflparse.InvalidModelError:
        pytest.skip("tflparse refuses the file (tested elsewhere)")
    page = render(model, analyse(model), title=path.name, plotter=_StubPlotter())  # type: ignore[arg-type]
    _check_page(page, model, data)


@pytest.mark.slow
@pytest.mark.parametrize("name", _PLOTTED + ("fixtures/report_demo.tflite",
                                             "fixtures/features.tflite"))
def test_page_with_real_plots(name: str) -> None:
    pytest.importorskip("matplotlib")
    path = FIXTURES.parent / name if name.startswith("fixtures/") else \
        next((p for p in shared_model_paths() if p.name == name), None)
    if path is None:
        pytest.skip(f"{name} is not among the shared models")
    data = path.read_bytes()
    model = tflparse.load(data)
    page = render(model, analyse(model), title=path.name, summary="x")
    _check_page(page, model, data)
    for body in _sections(page).values():
        assert body.count("<svg") == 1 and "<path" in body


def test_demo_fixture_flags_its_planted_problems() -> None:
    """The screenshot's fixture shows open sections with findings, before the folded rest."""
    model = tflparse.load(FIXTURES / "report_demo.tflite")
    page = render(model, analyse(model), title="demo", plotter=_StubPlotter())  # type: ignore[arg-type]
    order = re.findall(r'<details class="weight" id="w0-(\d+)"( open)?', page)
    assert order and order[0][1] == " open"
    # what fixtures/build_fixtures.py plants, tensor by tensor
    planted = {("dead-channel", 1), ("low-range-use", 1), ("weight-clipping", 1),
               ("channel-imbalance", 4), ("scale-spread", 7), ("bias-saturated", 13)}
    found = {(f.rule, f.location.tensor) for f in audit_model(model)}
    assert planted <= found


def test_reference_check_can_fail() -> None:
    """The self-containment check finds each kind of outside reference."""
    page = ("<html><head><link rel=stylesheet href='//cdn.example/x.css'>"
            "<style>@import 'a.css'; body{background:url(http://x/y.png)}</style>"
            "<script src='https://x/y.js'></script></head><body>"
            "<img src='data:image/png;base64,AAAA'><a href='#ok'>ok</a>"
            "<svg><image xlink:href='http://x/i.png'/></svg>"
            "<div style=\"background-image:url('pic.png')\"></div>"
            "<img srcset='a.png 1x, data:image/png;base64,AA 2x'></body></html>")
    found = outside_references(page)
    assert len(found) == 7, found


def _hostile_model() -> bytes:
    name = "<script>alert(1)</script>&\"'\x00\x1b[31m $x_1$"
    t = s.TensorT()
    t.name, t.shape, t.type, t.buffer = name, [2, 2], T.INT8, 1
    q = s.QuantizationParametersT()
    q.scale, q.zeroPoint, q.quantizedDimension = [0.1, 0.2], [0, 0], 0
    t.quantization = q
    x = s.TensorT()
    x.name, x.shape, x.type = "<img src=http://x/y.png>", [2], T.INT8
    buffers = [s.BufferT(), s.BufferT()]
    buffers[1].data = np.array([1, -1, 0, 0], np.int8).view(np.uint8)
    subgraph = s.SubGraphT()
    subgraph.name = "</pre><a href='http://x'>"
    subgraph.tensors, subgraph.inputs, subgraph.outputs = [x, t], [0], [0]
    model = s.ModelT()
    model.version, model.subgraphs, model.buffers = 3, [subgraph], buffers
    model.description = "<style>@import url(http://x)</style>"
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def test_strings_from_the_file_are_escaped(tmp_path: Path) -> None:
    data = _hostile_model()
    path = tmp_path / "hostile.tflite"
    path.write_bytes(data)
    out = tmp_path / "page.html"
    if _has_matplotlib():
        assert main(["report", str(path), "-o", str(out)]) == 0
        page = out.read_text(encoding="utf-8")
    else:
        model = tflparse.load(data)
        page = render(model, analyse(model), title="<b>", plotter=_StubPlotter())  # type: ignore[arg-type]
    scanned = scan(page)
    assert scanned.found == [] and scanned.scripts == 1
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&amp;&quot;&#x27;\\x00\\x1b[31m $x_1$" in page
    assert "<img" not in page and "\x00" not in page and "\x1b" not in page
    assert scanned.tags.count("pre") == 1


def _has_matplotlib() -> bool:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def test_many_channels_are_grouped_into_a_small_plot() -> None:
    pytest.importorskip("matplotlib")
    from tflparse._plots import MAX_BINS, ChannelView, Plotter

    rng = np.random.default_rng(1)
    count = 100_000
    hi = rng.uniform(0.1, 1.0, count)
    levels = rng.integers(3, 256, count)
    dead = rng.uniform(size=count) < 0.01
    view = ChannelView("t1 big", "channel", -hi, hi, levels, dead, ~dead & (levels > 250),
                       255, 33)
    svg = Plotter().channels(view)
    assert len(svg) < 150_000  # 256 groups, each with dead and clipped marks
    assert len(Plotter().channels(view, 32)) < 30_000
    # the fewest levels of a group is drawn: the minimum over every channel is on the plot
    small = Plotter().channels(ChannelView("t2", "channel", -hi[:MAX_BINS], hi[:MAX_BINS],
                                           levels[:MAX_BINS], dead[:MAX_BINS],
                                           dead[:MAX_BINS] & False, 255, 33))
    assert small.startswith("<svg") and small.endswith("</svg>")


def test_channel_groups_cover_every_channel() -> None:
    from tflparse._plots import channel_bins

    for count in (1, 7, 256, 257, 1000, 99_991):
        edges = channel_bins(count)
        assert edges[0] == 0 and edges[-1] == count
        assert len(edges) - 1 <= 256 and np.all(np.diff(edges) > 0)


def test_without_matplotlib_the_command_says_how_to_install(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    out = tmp_path / "x.html"
    status = main(["report", str(FIXTURES / "mnist_int8.tflite"), "-o", str(out)])
    err = capsys.readouterr().err
    assert status == 2 and not out.exists()
    assert err.strip().count("\n") == 0
    assert "pip install 'tflparse[report]'" in err


def test_report_command_default_name_and_progress_off_a_terminal(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("matplotlib")
    monkeypatch.chdir(tmp_path)
    assert main(["report", str(FIXTURES / "mnist_int8.tflite")]) == 0
    captured = capsys.readouterr()
    page = (tmp_path / "mnist_int8.report.html").read_text(encoding="utf-8")
    assert "mnist_int8.report.html" in captured.out and "\r" not in captured.err
    # the summary is what `tflparse inspect` prints
    assert main(["inspect", str(FIXTURES / "mnist_int8.tflite")]) == 0
    inspected = capsys.readouterr().out
    pre = re.search(r"<pre>(.*?)</pre>", page, re.S)
    assert pre is not None and html.unescape(pre.group(1)) == inspected


def test_progress_on_a_terminal_only() -> None:
    import io

    from tflparse.cli.report import Progress

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    terminal, pipe = Terminal(), io.StringIO()
    for stream in (terminal, pipe):
        progress = Progress(stream, every=0.0)
        progress("plotting", 3, 4)
        progress("plotting", 4, 4)
        progress.clear()
    assert pipe.getvalue() == ""
    assert terminal.getvalue() == "\r\x1b[Kplotting 75%\r\x1b[Kplotting 100%\r\x1b[K"
