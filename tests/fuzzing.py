"""Hostile-input machinery shared by the fuzz tests and the long-running fuzzer.

``mutations(seed_bytes)`` is a hypothesis strategy of corrupted models: bit flips, byte
overwrites, truncations, splices, duplicated ranges, and 16- and 32-bit values written
anywhere or aimed at where the seed keeps its structure (``structure``: the root offset,
offsets to tables, vectors and strings, vector lengths, tables' vtable offsets, vtable
sizes and field entries).
``fuzz_inputs(seeds)`` corrupts the given seed models and hypothesis-generated ones. ``exercise``
reads *everything* a model offers through tflparse and reports any exception that is not
the documented kind, and any difference between its bulk reads run in numpy and in Python.
``bundle_seeds`` wraps seed models in bundles (stored and aligned,
deflated, nested, with a non-model member and an over-large deflated member);
``exercise_bundle`` opens every member of a corrupted bundle within an inflate limit.
"""

from __future__ import annotations

import contextlib
import functools
import struct
import traceback
import zipfile
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from hypothesis import strategies as st
from paths import differences

import tflparse
from tflparse import InvalidModelError
from tflparse._zip import safe_relative_path
from tflparse.bundle import Bundle, load_any
from tflparse.weights import model_weight_stats, operator_quantities, tensor_stats

INTERESTING = [0, 1, 2, 3, 4, 7, 8, 0x7F, 0x80, 0xFF, 0xFFFF, 0x7FFFFFFF, 0x80000000,
               0xFFFFFFFF, 0xFFFFFFFC, 0x10000, 0x40000000]


@functools.lru_cache(maxsize=256)
def structure(seed: bytes) -> tuple[list[int], list[int]]:
    """(positions of 32-bit, of 16-bit structural values) in ``seed``, found by shape: an
    aligned uint32 that points inside the file (an offset or a length), an int32 that leads
    back to a plausible vtable (a table's start), and that vtable's uint16 entries."""
    n = len(seed) // 4
    if n < 2:
        return [0], []
    words = np.frombuffer(seed, "<u4", n).astype(np.int64)
    at = 4 * np.arange(n)
    offsets = at[(words > 0) & (at + words < len(seed))]
    vtables = at - words.astype(np.uint32).view(np.int32).astype(np.int64)
    plausible = (vtables >= 0) & (vtables + 4 <= len(seed)) & (vtables % 2 == 0) & (at > 0)
    halves = np.frombuffer(seed, "<u2", len(seed) // 2)
    tables = at[plausible]
    vt = vtables[plausible]
    sizes = halves[np.minimum(vt // 2, len(halves) - 1)].astype(np.int64)
    good = (sizes >= 4) & (sizes % 2 == 0) & (sizes <= 64) & (vt + sizes <= len(seed))
    entries = [int(v) + k for v, size in zip(vt[good].tolist(), sizes[good].tolist())
               for k in range(0, size, 2)]
    return sorted({0, *offsets.tolist(), *tables[good].tolist()}), sorted(set(entries))


@st.composite
def mutations(draw: Any, seed: bytes) -> bytes:
    """A corrupted copy of ``seed``."""
    data = bytearray(seed)
    for _ in range(draw(st.integers(1, 4))):
        if not data:
            break
        kind = draw(st.sampled_from(["flip", "byte", "u32", "u32", "truncate", "splice",
                                     "duplicate", "u16", "aimed u32", "aimed u16"]))
        at = draw(st.integers(0, len(data) - 1))
        if kind.startswith("aimed"):
            words, halves = structure(seed)
            targets = words if kind == "aimed u32" else halves
            at = draw(st.sampled_from(targets)) if targets else at
            kind = kind[len("aimed "):]
        if kind == "flip":
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif kind == "byte":
            data[at] = draw(st.integers(0, 255))
        elif kind in ("u32", "u16"):
            size = 4 if kind == "u32" else 2
            at -= at % size
            if at + size <= len(data):
                value = draw(st.sampled_from(INTERESTING) | st.integers(0, len(data) + 64))
                data[at:at + size] = struct.pack("<I" if size == 4 else "<H",
                                                 value & (0xFFFFFFFF if size == 4 else 0xFFFF))
        elif kind == "truncate":
            del data[at:]
        elif kind == "splice":
            other = draw(st.integers(0, len(data) - 1))
            length = draw(st.integers(1, 64))
            data[at:at + length] = data[other:other + length]
        else:
            length = draw(st.integers(1, 64))
            data[at:at] = data[at:at + length]
    return bytes(data)


def generated_models() -> st.SearchStrategy[bytes] | None:
    """Models from both test generators, or None without the bindings ai-edge-litert ships."""
    try:
        from gen_broken_models import models as rule_breaking_models
        from gen_valid_models import models
    except (ImportError, pytest.skip.Exception):  # model_builder skips without the bindings
        return None
    return st.one_of(models(), rule_breaking_models().map(lambda case: case[0]))


def fuzz_inputs(seeds: list[bytes]) -> st.SearchStrategy[bytes]:
    """Corrupted copies of ``seeds`` and of generated models."""
    sources = [st.sampled_from(seeds)] if seeds else []
    generated = generated_models()
    if generated is not None:
        sources.append(generated)
    return st.one_of(sources).flatmap(mutations)


def _touch(value: Any) -> None:
    if isinstance(value, np.ndarray):
        value.tobytes()
    elif isinstance(value, memoryview):
        bytes(value)


def traverse(model: tflparse.Model) -> Iterator[Any]:
    """Read every field the model view offers, yielding the values."""
    yield model.version, model.description, model.size, model.metadata_buffer
    for entry in model.metadata:
        yield entry.name, entry.buffer
        if 0 <= entry.buffer < len(model.buffers):
            yield model.metadata_bytes(entry.name)
    for buffer in model.buffers:
        yield buffer.offset, buffer.size, buffer.is_external, buffer.data
    for code in model.operator_codes:
        yield code.name, code.version, code.builtin_code, code.custom_code
    for signature in model.signature_defs:
        yield signature.key, signature.subgraph_index
        for item in (signature.inputs or ()) + (signature.outputs or ()):
            yield item.name, item.tensor_index
    for subgraph in model.subgraphs:
        yield subgraph.name, subgraph.inputs, subgraph.outputs
        for op in subgraph.operators:
            yield (op.opcode_index, op.inputs, op.outputs, op.intermediates,
                   op.builtin_options_type, op.custom_options)
        for tensor in subgraph.tensors:
            yield (tensor.name, tensor.shape, tensor.shape_signature, tensor.type,
                   tensor.buffer, tensor.is_variable, tensor.is_constant, tensor.data)
            q = tensor.quantization
            if q is not None:
                yield q.scale, q.zero_point, q.min, q.max, q.quantized_dimension, q.details
            sparsity = tensor.sparsity
            if sparsity is not None:
                yield sparsity.traversal_order, sparsity.block_map, sparsity.dim_metadata
            if tensor.is_constant:
                try:
                    values = tensor.to_array()
                except InvalidModelError:
                    continue  # this tensor is malformed; the others are still read
                except ValueError as error:  # documented: BFLOAT16 / FLOAT8 need ml_dtypes
                    if "ml_dtypes" not in str(error):
                        raise
                else:
                    yield values


def _weight_pass(data: bytes) -> list[str]:
    """The weight statistics of every tensor and the operator quantities: InvalidModelError
    is the only exception allowed (the pass reads in bounded chunks, so memory stays small)."""
    problems = []
    try:
        model = tflparse.load(data)
    except InvalidModelError:
        return []
    for subgraph in _readable(lambda: list(model.subgraphs)) or []:
        for index in range(len(subgraph.tensors)):
            try:
                tensor_stats(subgraph.tensors[index])
            except InvalidModelError:
                pass
            except Exception as error:
                problems.append(f"tensor_stats({index}): {type(error).__name__}: {error}"
                                f"{_where(error)}")
    for name, call in (("model_weight_stats", lambda: model_weight_stats(model,
                                                                         skip_invalid=True)),
                       ("operator_quantities", lambda: operator_quantities(model))):
        try:
            call()
        except InvalidModelError:
            pass
        except Exception as error:
            problems.append(f"{name}: {type(error).__name__}: {error}{_where(error)}")
    return problems


def _readable(read: Any) -> Any:
    try:
        return read()
    except InvalidModelError:
        return None


INTERPRETER_CALLS = ("num_subgraphs", "get_input_details", "get_output_details",
                     "get_signature_list", "_get_ops_details", "allocate_tensors")


def _where(error: BaseException) -> str:
    frames = traceback.extract_tb(error.__traceback__)
    last = frames[-1] if frames else None
    return f" at {last.filename.rsplit('/', 1)[-1]}:{last.lineno}" if last else ""


METADATA_RULES = ["metadata-mismatch", "metadata-files-missing", "normalization-quantization",
                  "metadata-parser-version"]


def exercise_metadata(data: bytes) -> list[str]:
    """The Model Metadata view, its text, its packed files, the recipes, the displayer and
    the metadata audit rules; the list of unexpected exceptions (ValueError is expected:
    InvalidModelError and the displayer's refusals)."""
    from tflparse._feeding import recipes
    from tflparse.audit import audit_model
    from tflparse.metadata import MetadataDisplayer

    problems: list[str] = []
    steps: list[tuple[str, Any]] = []
    try:
        model = tflparse.load(data)
    except InvalidModelError:
        return problems

    def view() -> None:
        found = model.model_metadata
        if found is None:
            return
        found.text()
        found.to_dict()
        str(found.required_parser_version)
        for name in found.packed_files:
            with contextlib.suppress(InvalidModelError):
                found.read_file(name, limit=1 << 20)
        for si in range(len(model.subgraphs)):
            recipes(model, si)

    def displayer() -> None:
        shown = MetadataDisplayer.with_model_buffer(data)
        shown.get_metadata_json()
        for name in shown.get_packed_associated_file_list():
            with contextlib.suppress(InvalidModelError):
                shown.get_associated_file_buffer(name)

    steps += [("metadata view", view), ("MetadataDisplayer", displayer),
              ("metadata audit", lambda: audit_model(model, METADATA_RULES))]
    for label, step in steps:
        try:
            step()
        except ValueError:
            pass
        except Exception as error:  # any other exception is a defect
            problems.append(f"{label}: {type(error).__name__}: {error}{_where(error)}")
    return problems


def exercise(data: bytes) -> list[str]:
    """Everything tflparse can do with ``data``; the list of unexpected exceptions.

    Expected: ``InvalidModelError`` from ``load`` and the model view; ``ValueError`` (which
    includes InvalidModelError and LiteRT's own ValueErrors) from the Interpreter facade.
    """
    problems: list[str] = []
    try:
        different = differences(data)  # numpy passes and Python passes agree
    except Exception as error:
        different = f"comparing the ways: {type(error).__name__}: {error}{_where(error)}"
    if different is not None:
        problems.append(different)
    try:
        model = tflparse.load(data)
        for value in traverse(model):
            for item in value if isinstance(value, tuple) else (value,):
                _touch(item)
    except InvalidModelError:
        pass
    except Exception as error:  # any other exception is a defect
        problems.append(f"model view: {type(error).__name__}: {error}{_where(error)}")
    problems.extend(_weight_pass(data))
    problems += exercise_metadata(data)
    try:
        interpreter = tflparse.Interpreter(model_content=data)
    except ValueError:
        return problems
    except Exception as error:
        problems.append(f"Interpreter(): {type(error).__name__}: {error}{_where(error)}")
        return problems
    calls: list[tuple[str, tuple[Any, ...]]] = [(name, ()) for name in INTERPRETER_CALLS]
    for i in range(interpreter.num_subgraphs()):
        calls.append(("get_tensor_details", (i,)))
        for j in range(len(interpreter.model.subgraphs[i].tensors)):
            calls.append(("get_tensor", (j, i)))
            calls.append(("_get_tensor_details", (j, i)))
    for key in [*interpreter.get_signature_list(), None]:  # None: the only signature
        calls.append(("signature", (key,)))
    for name, args in calls:
        try:
            if name == "signature":
                runner = interpreter.get_signature_runner(args[0])
                runner.get_input_details()
                runner.get_output_details()
            else:
                getattr(interpreter, name)(*args)
        except ValueError:
            pass
        except Exception as error:
            problems.append(f"{name}{args}: {type(error).__name__}: {error}{_where(error)}")
    return problems


# --------------------------------------------------------------------------------------------
# Bundles

BUNDLE_LIMIT = 1 << 20  # what exercise_bundle lets members inflate to, in all


def bundle_seeds(models: list[bytes]) -> list[bytes]:
    """Bundles of the seed models: MediaPipe-like (stored, aligned), deflated, nested, with a
    non-model member, and one member that inflates past ``BUNDLE_LIMIT`` (a small zip bomb)."""
    from bundles import make_bundle

    seeds = []
    for model in models:
        hand = make_bundle([("a.tflite", model), ("b.txt", b"labels\n" * 4)])
        seeds += [hand,
                  make_bundle([("a.tflite", model, zipfile.ZIP_DEFLATED)]),
                  make_bundle([("inner.task", hand), ("c.tflite", model, zipfile.ZIP_DEFLATED)])]
    seeds.append(make_bundle([("bomb.tflite", bytes(4) + b"TFL3" + bytes(2 * BUNDLE_LIMIT),
                               zipfile.ZIP_DEFLATED)]))
    return seeds


def exercise_bundle(data: bytes) -> list[str]:
    """Open ``data`` as a bundle and everything in it; the list of unexpected exceptions and
    broken promises (a member larger than declared, inflation past the limit)."""
    problems: list[str] = []
    try:
        found = load_any(data, inflate_limit=BUNDLE_LIMIT)
        if not isinstance(found, Bundle):
            return problems
        for member in found.walk():
            with contextlib.suppress(InvalidModelError):
                safe_relative_path(member.name)
            try:
                raw = member.bundle.read(member) if member.kind != "error" else None
            except InvalidModelError:
                raw = None
            if raw is not None and len(raw) != member.size:
                problems.append(f"{member.display_name!r}: {len(raw)} bytes, declared "
                                f"{member.size}")
        for _, model in found.models():
            if isinstance(model, tflparse.Model):
                try:
                    for value in traverse(model):
                        for item in value if isinstance(value, tuple) else (value,):
                            _touch(item)
                except InvalidModelError:
                    pass
        if found._budget.left < 0:
            problems.append(f"inflated {BUNDLE_LIMIT - found._budget.left} bytes, over the "
                            f"limit of {BUNDLE_LIMIT}")
    except InvalidModelError:
        pass
    except Exception as error:  # any other exception is a defect
        problems.append(f"bundle: {type(error).__name__}: {error}{_where(error)}")
    return problems
