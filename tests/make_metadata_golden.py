"""Write tests/metadata_golden/: the named metadata cases and what tflite-support says of them.

Run ``python tests/make_metadata_golden.py`` with tflite-support 0.4.4 installed (Python
3.9-3.11 on Linux x86-64). For each case of ``metadatagen.cases()`` it writes the model
(``<case>.tflite``) and records, in ``expected.json``, the real ``MetadataDisplayer``'s
``get_metadata_json()``, ``get_packed_associated_file_list()``, every packed file's bytes
(hex), ``GetMinimumMetadataParserVersion`` of the metadata buffer, or the error it raised.
tests/test_metadata.py checks tflparse against these files when tflite-support is absent,
and checks the files against tflite-support when it is present.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
GOLDEN = HERE / "metadata_golden"
sys.path.insert(0, str(HERE))

import metadatagen  # noqa: E402


def oracle(data: bytes) -> dict[str, Any]:
    """What tflite-support reports for the model ``data``."""
    from tensorflow_lite_support.metadata.cc.python import _pywrap_metadata_version
    from tensorflow_lite_support.metadata.python import metadata

    try:
        shown = metadata.MetadataDisplayer.with_model_buffer(data)
    except ValueError as error:
        return {"error": str(error)}
    names = shown.get_packed_associated_file_list()
    buffer = shown.get_metadata_buffer()
    return {
        "json": shown.get_metadata_json(),
        "files": names,
        "contents": {name: shown.get_associated_file_buffer(name).hex() for name in names},
        "version": _pywrap_metadata_version.GetMinimumMetadataParserVersion(buffer),
    }


def main() -> int:
    metadatagen.load_bindings()
    GOLDEN.mkdir(exist_ok=True)
    expected = {}
    for name, (data, _) in metadatagen.cases().items():
        (GOLDEN / f"{name}.tflite").write_bytes(data)
        expected[name] = oracle(data)
    text = json.dumps(expected, indent=1, sort_keys=True, ensure_ascii=True) + "\n"
    (GOLDEN / "expected.json").write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
