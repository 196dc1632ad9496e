"""Make docs/report.png, the README's picture of a report, from fixtures/report_demo.tflite.

Run from anywhere: ``python docs/screenshot.py`` (needs matplotlib and Debian's ``chromium``).
The page is written to a temporary folder, opened by headless Chromium from its file:// URL,
and its first screen is saved.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tflparse.cli import main  # noqa: E402

FIXTURE = ROOT / "fixtures" / "report_demo.tflite"
TARGET = ROOT / "docs" / "report.png"
WINDOW = "1100,2200"


def screenshot() -> int:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        sys.stderr.write("chromium is not installed\n")
        return 2
    with tempfile.TemporaryDirectory() as folder:
        page = Path(folder) / "report_demo.report.html"
        status = main(["report", str(FIXTURE), "-o", str(page)])
        if status:
            return status
        subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu",
                        "--disable-quic", "--no-first-run", "--disable-background-networking",
                        "--disable-component-update", "--disable-sync", "--hide-scrollbars",
                        "--force-device-scale-factor=1", f"--user-data-dir={folder}/profile",
                        f"--window-size={WINDOW}", f"--screenshot={TARGET}",
                        page.as_uri()],
                       check=True, capture_output=True, timeout=120)
    print(f"wrote {TARGET}")
    return 0


if __name__ == "__main__":
    raise SystemExit(screenshot())
