"""The README's Python examples run as doctests."""

from __future__ import annotations

import doctest
import os

from conftest import ROOT


def test_readme_examples() -> None:
    os.chdir(ROOT)
    result = doctest.testfile(str(ROOT / "README.md"), module_relative=False,
                              optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0
    assert result.failed == 0


def test_module_docstring_examples() -> None:
    import tflparse._values
    import tflparse.audit
    import tflparse.interpreter
    import tflparse.metadata
    import tflparse.model
    import tflparse.quant
    import tflparse.weights

    os.chdir(ROOT)
    for module in (tflparse.model, tflparse.interpreter, tflparse._values, tflparse.quant,
                   tflparse.audit, tflparse.weights, tflparse.metadata):
        result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
        assert result.failed == 0, module.__name__
