"""The conversion metadata a TFLite converter stores in a model, as typed read-only records.

It is a flatbuffer of its own (``schema/conversion_metadata.fbs``) in the buffer of the
metadata entry named ``CONVERSION_METADATA``; it is read through the same bounds-checked
layer and generated field descriptors as the model itself. ``Model.conversion_metadata``
is the way in.
"""

from __future__ import annotations

from typing import NamedTuple

from . import _conversion_schema as C
from ._flatbuf import FlatBuffer, Table

__all__ = ["ConversionMetadata", "Environment", "ConversionOptions", "read_conversion_metadata",
           "ModelType", "ModelOptimizationMode"]

ModelType = C.ModelType
ModelOptimizationMode = C.ModelOptimizationMode

#: where errors in the conversion metadata say they are
LOCATION = "CONVERSION_METADATA"


class Environment(NamedTuple):
    """Where the conversion ran."""

    #: the converting TensorFlow's version text (None when absent; not UTF-8: escaped with
    #: backslashes)
    tensorflow_version: str | None
    api_version: int
    #: a ``ModelType`` value (kept as stored, so values the schema does not define survive)
    model_type: int
    model_hash: int


class ConversionOptions(NamedTuple):
    """The converter's settings."""

    #: ``ModelOptimizationMode`` values, as stored
    model_optimization_modes: tuple[int, ...]
    allow_custom_ops: bool
    enable_select_tf_ops: bool
    force_select_tf_ops: bool
    #: one tuple of block dimensions per sparsity block size
    sparsity_block_sizes: tuple[tuple[int, ...], ...]


class ConversionMetadata(NamedTuple):
    """The ``ConversionMetadata`` table; a part is None when the file leaves it out."""

    environment: Environment | None
    options: ConversionOptions | None


def read_conversion_metadata(raw: bytes | memoryview) -> ConversionMetadata:
    """Decode a ``CONVERSION_METADATA`` buffer; raises ``InvalidModelError`` if malformed."""
    root = FlatBuffer(bytes(raw)).root(LOCATION)
    env = root.table(C.ConversionMetadata.ENVIRONMENT)
    options = root.table(C.ConversionMetadata.OPTIONS)
    return ConversionMetadata(None if env is None else _environment(env),
                              None if options is None else _options(options))


def _environment(table: Table) -> Environment:
    E = C.Environment
    version = table.string(E.TENSORFLOW_VERSION)
    return Environment(
        None if version is None else version.decode("utf-8", "backslashreplace"),
        table.integer(E.API_VERSION), table.integer(E.MODEL_TYPE), table.integer(E.MODEL_HASH))


def _options(table: Table) -> ConversionOptions:
    O = C.ConversionOptions  # noqa: E741
    modes = table.array(O.MODEL_OPTIMIZATION_MODES)
    blocks = table.tables(O.SPARSITY_BLOCK_SIZES)
    sizes: list[tuple[int, ...]] = []
    for i in range(0 if blocks is None else len(blocks)):
        assert blocks is not None
        values = blocks[i].array(C.SparsityBlockSize.VALUES)
        sizes.append(() if values is None else tuple(values.tolist()))
    return ConversionOptions(
        () if modes is None else tuple(modes.tolist()),
        bool(table.integer(O.ALLOW_CUSTOM_OPS)), bool(table.integer(O.ENABLE_SELECT_TF_OPS)),
        bool(table.integer(O.FORCE_SELECT_TF_OPS)), tuple(sizes))
