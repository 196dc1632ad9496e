"""TFLite Model Metadata without tflite-support.

:class:`MetadataDisplayer` mirrors ``tflite_support.metadata.MetadataDisplayer``: a script
switches by changing its import. ``get_metadata_json()`` returns exactly the text
tflite-support returns (the FlatBuffers text generator's strict-JSON mode: fields in schema
order, stored fields printed even when they hold their default, floats with six decimals,
bare ``inf``/``nan``, ``\\uXXXX`` escapes, ``""`` when a string is not UTF-8).

The typed view is ``tflparse.load(path).model_metadata`` (:class:`ModelMetadata`).

>>> from tflparse.metadata import MetadataDisplayer
>>> shown = MetadataDisplayer.with_model_file("tests/metadata_golden/classifier.tflite")
>>> shown.get_packed_associated_file_list()
['labels.txt']
>>> shown.get_associated_file_buffer("labels.txt").splitlines()[:2]
[b'zero', b'one']
"""

from __future__ import annotations

import os

from ._errors import InvalidModelError
from ._loading import load
from ._metadata import (
    METADATA_NAME,
    AssociatedFile,
    AudioProperties,
    BertTokenizerOptions,
    BoundingBoxProperties,
    Content,
    CustomMetadata,
    FeatureProperties,
    ImageProperties,
    ImageSize,
    ModelMetadata,
    NormalizationOptions,
    ProcessUnit,
    RegexTokenizerOptions,
    ScoreCalibrationOptions,
    ScoreThresholdingOptions,
    SentencePieceTokenizerOptions,
    Stats,
    SubGraphMetadata,
    TensorGroup,
    TensorMetadata,
    ValueRange,
    read_tree,
    render_text,
)
from ._metadata_schema import (
    AssociatedFileType,
    BoundingBoxType,
    ColorSpaceType,
    ContentProperties,
    CoordinateType,
    ProcessUnitOptions,
    ScoreTransformationType,
)

__all__ = [
    "MetadataDisplayer", "convert_to_json", "METADATA_NAME", "ModelMetadata",
    "SubGraphMetadata", "TensorMetadata", "AssociatedFile", "Content", "FeatureProperties",
    "ImageProperties", "ImageSize", "BoundingBoxProperties", "AudioProperties", "ValueRange",
    "ProcessUnit", "NormalizationOptions", "ScoreCalibrationOptions",
    "ScoreThresholdingOptions", "BertTokenizerOptions", "SentencePieceTokenizerOptions",
    "RegexTokenizerOptions", "Stats", "TensorGroup", "CustomMetadata", "AssociatedFileType",
    "ColorSpaceType", "BoundingBoxType", "CoordinateType", "ScoreTransformationType",
    "ContentProperties", "ProcessUnitOptions",
]


def convert_to_json(metadata_buffer: bytes) -> str:
    """A metadata buffer as tflite-support's ``convert_to_json`` renders it."""
    return render_text(read_tree(metadata_buffer))


class MetadataDisplayer:
    """Shows a model's metadata and associated files as tflite-support's displayer does.

    Raises ``ValueError`` where tflite-support does: an empty buffer, a model without
    metadata, a metadata buffer without the ``M001`` identifier, an associated file that is
    not packed. Damaged bytes, which tflite-support may crash on, are
    :class:`~tflparse.InvalidModelError` (a ``ValueError``) naming where.
    """

    def __init__(self, model_buffer: bytes, metadata_buffer: bytes,
                 associated_file_list: list[str]) -> None:
        model = load(model_buffer)
        if bytes(metadata_buffer[4:8]) != b"M001":
            raise ValueError("The metadata buffer does not have the expected identifier, and "
                             "may not be a valid TFLite Metadata.")
        self._model = model
        self._metadata_buffer = bytes(metadata_buffer)
        self._associated_file_list = list(associated_file_list)
        self._tree = read_tree(self._metadata_buffer)

    @classmethod
    def with_model_file(cls, model_file: str | os.PathLike[str]) -> MetadataDisplayer:
        """A displayer for the model file at ``model_file`` (OSError when it does not exist)."""
        if not os.path.exists(model_file):
            raise OSError(f"File, '{os.fspath(model_file)}', does not exist.")
        with open(model_file, "rb") as handle:
            return cls.with_model_buffer(handle.read())

    @classmethod
    def with_model_buffer(cls, model_buffer: bytes) -> MetadataDisplayer:
        """A displayer for a model held in memory."""
        if not model_buffer:
            raise ValueError("model_buffer cannot be empty.")
        model = load(model_buffer)
        metadata = model.metadata_bytes(METADATA_NAME)
        if not metadata:
            raise ValueError("The model does not have metadata.")
        try:
            view = model.model_metadata
            names = list(view.packed_files) if view is not None else []
        except InvalidModelError:  # tflite-support lists no files when the zip is unreadable
            names = []
        return cls(model_buffer, bytes(metadata), names)

    def get_associated_file_buffer(self, filename: str) -> bytes:
        """The bytes of a packed associated file."""
        if filename not in self._associated_file_list:
            raise ValueError(f"The file, {filename}, does not exist in the model.")
        view = self._model.model_metadata
        assert view is not None
        return view.read_file(filename)

    def get_metadata_buffer(self) -> bytes:
        """The metadata FlatBuffer's bytes (a copy)."""
        return bytes(self._metadata_buffer)

    def get_metadata_json(self) -> str:
        """The metadata as tflite-support's text (``""`` where that gives up)."""
        return render_text(self._tree)

    def get_packed_associated_file_list(self) -> list[str]:
        """Names of the files packed in the model, in archive order."""
        return list(self._associated_file_list)
