"""The report as a person sees it: headless Chromium opens it from a file:// URL with no
uncaught script error, its inline script runs, and a screenshot shows a real picture.

Needs Debian's ``chromium`` (``.ci/run`` installs it) and matplotlib; skipped without them.
Each check is shown to fail on a page built to fail it, so a passing run means something.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import pytest
from conftest import FIXTURES

import tflparse
from tflparse.report import analyse, render

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = [pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed"),
              pytest.mark.slow]
# No network, no first-run work, no background services: the page must stand alone.
_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
          "--disable-background-networking", "--disable-component-update", "--disable-sync",
          "--hide-scrollbars", "--force-device-scale-factor=1")
_UNCAUGHT = re.compile(r'CONSOLE.*"Uncaught ')


def _chromium(*args: str) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None
    with tempfile.TemporaryDirectory() as profile:
        return subprocess.run([CHROMIUM, *_FLAGS, f"--user-data-dir={profile}", *args],
                              capture_output=True, text=True, timeout=120,
                              env={**os.environ, "HOME": profile})


def open_page(path: Path, fragment: str = "") -> tuple[str, str]:
    """(the DOM after scripts ran, the browser's log with console messages)."""
    done = _chromium("--enable-logging=stderr", "--v=0", "--dump-dom",
                     path.as_uri() + (f"#{fragment}" if fragment else ""))
    return done.stdout, done.stderr


def screenshot(path: Path, target: Path, size: str = "1100,1600") -> np.ndarray:
    _chromium(f"--screenshot={target}", f"--window-size={size}", path.as_uri())
    image = pytest.importorskip("matplotlib.image")
    pixels: np.ndarray = image.imread(str(target))
    return pixels


def is_blank(pixels: np.ndarray) -> bool:
    """A picture with (almost) one colour: no text, no plot."""
    gray = pixels[..., :3].mean(axis=2)
    background = float(np.median(gray))
    differs = np.abs(gray - background) > 0.1
    return float(gray.std()) < 0.02 or float(differs.mean()) < 0.01


def _page(folder: Path, name: str) -> Path:
    pytest.importorskip("matplotlib")
    model = tflparse.load(FIXTURES / name)
    path = folder / f"{name}.report.html"
    path.write_text(render(model, analyse(model), title=name, summary="x"), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def demo_page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo fixture's page: every weight has a finding, so every section is open."""
    return _page(tmp_path_factory.mktemp("page"), "report_demo.tflite")


def test_the_page_opens_without_script_errors(demo_page: Path) -> None:
    dom, log = open_page(demo_page)
    assert 'data-ready="1"' in dom  # the page's own script ran to its end
    assert "weight scales in layer order" in dom
    assert not _UNCAUGHT.search(log), log


def test_an_uncaught_error_would_be_seen(tmp_path: Path) -> None:
    broken = tmp_path / "broken.html"
    broken.write_text("<!DOCTYPE html><p>x</p><script>undefinedFunction()</script>",
                      encoding="utf-8")
    _, log = open_page(broken)
    assert _UNCAUGHT.search(log), log


def test_a_link_into_a_folded_section_opens_it(tmp_path: Path) -> None:
    quiet_page = _page(tmp_path, "mnist_int8.tflite")  # no findings: every section folded
    page = quiet_page.read_text(encoding="utf-8")
    folded = re.search(r'<details class="weight" id="(w\d+-\d+)">', page)
    assert folded is not None
    dom, _ = open_page(quiet_page, folded.group(1))
    assert re.search(rf'<details class="weight" id="{folded.group(1)}" open', dom)


def test_screenshot_is_not_blank(demo_page: Path, tmp_path: Path) -> None:
    pixels = screenshot(demo_page, tmp_path / "shot.png", "1100,4000")
    assert pixels.shape[:2] == (4000, 1100)
    assert not is_blank(pixels)
    # the plots are drawn: the range plots' blue (#4c78a8) fills part of the picture
    blue = np.all(np.abs(pixels[..., :3] - np.array([0x4C, 0x78, 0xA8]) / 255) < 0.05, axis=2)
    assert blue.mean() > 0.005


def test_a_blank_page_is_seen_as_blank(tmp_path: Path) -> None:
    blank = tmp_path / "blank.html"
    blank.write_text("<!DOCTYPE html><body style='background:#fff'></body>", encoding="utf-8")
    assert is_blank(screenshot(blank, tmp_path / "blank.png"))
