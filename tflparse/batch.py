"""Auditing many sources at once, on any ``concurrent.futures``-style executor.

The audit of one source (a path or a URL, of a model or a bundle) is one pure function,
:func:`tflparse.audit.audit_file`, returning its records. :func:`audit_sources` hands it to
an executor, one task per source: a ``concurrent.futures.ProcessPoolExecutor`` on one
machine, or a Dask cluster's
``distributed.Client(...).get_executor()`` (:func:`dask_executor` makes one; extra
``tflparse[dask]``). Records are those of a serial run; a task that fails (its worker died,
the executor broke) gives that source a record with ``error`` set, and the others go on.

>>> from concurrent.futures import ThreadPoolExecutor
>>> from tflparse.batch import audit_sources
>>> with ThreadPoolExecutor(2) as pool:
...     [r.error for r in audit_sources(["fixtures/mnist_int8.tflite"], pool, ordered=True)]
[None]
"""

from __future__ import annotations

import concurrent.futures
import errno
import importlib
import logging
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from .audit import FileReport, audit_file

__all__ = ["audit_sources", "audit_files", "audit_in_processes", "dask_executor"]

DASK_HINT = "pip install 'tflparse[dask]'"


def audit_sources(sources: Iterable[str], executor: concurrent.futures.Executor | None = None,
                  *, ordered: bool = False, rules: list[str] | None = None,
                  weights: bool = True, window: int = 10_000) -> Iterator[FileReport]:
    """Audit every source, yielding records as they finish (in ``sources`` order if ``ordered``).

    A source is a model file, a bundle (one record per model in it) or a URL of either.
    Without an executor the sources are audited one after another in this process. At most
    ``window`` tasks are pending at a time, so a list of millions is submitted as it drains.
    ``weights=False`` skips the pass over the constants' values (for a URL: their bytes).
    """
    for reports in audit_files(sources, executor, ordered=ordered, rules=rules,
                               weights=weights, window=window):
        yield from reports


def audit_files(sources: Iterable[str], executor: concurrent.futures.Executor | None = None,
                *, ordered: bool = False, rules: list[str] | None = None,
                weights: bool = True, window: int = 10_000) -> Iterator[list[FileReport]]:
    """:func:`audit_sources`, with the records of each source together (one task each)."""
    if executor is None:
        for source in sources:
            yield audit_file(source, rules, weights=weights)
        return
    pending: dict[concurrent.futures.Future[list[FileReport]], str] = {}
    for source in sources:
        pending[executor.submit(audit_file, source, rules, weights=weights)] = source
        if len(pending) >= window:
            yield from _drain(pending, ordered, window // 2)
    yield from _drain(pending, ordered, 0)


def _drain(pending: dict[concurrent.futures.Future[list[FileReport]], str], ordered: bool,
           keep: int) -> Iterator[list[FileReport]]:
    """Records of finished tasks until at most ``keep`` are pending (in order if asked)."""
    while len(pending) > keep:
        if ordered:
            future = next(iter(pending))  # dicts keep submission order
            yield _records(future, pending.pop(future))
            continue
        done, _ = concurrent.futures.wait(pending, return_when=concurrent.futures.FIRST_COMPLETED)
        for future in done:
            yield _records(future, pending.pop(future))


def audit_in_processes(sources: list[str], jobs: int, rules: list[str] | None = None,
                       weights: bool = True) -> Iterator[list[FileReport]]:
    """Audit in ``jobs`` local processes, each source's records in ``sources`` order.

    Python breaks a whole process pool when one of its processes dies, failing every task in
    it. Here the first file whose task failed that way is audited again alone, in a fresh
    process (a file that kills that one too gets the error), and the files after it go on in
    a fresh pool: a death costs only the file that caused it.
    """
    remaining = list(sources)
    while remaining:
        with concurrent.futures.ProcessPoolExecutor(max_workers=jobs) as pool:
            broken = None
            for i, reports in enumerate(audit_files(remaining, pool, ordered=True,
                                                    rules=rules, weights=weights)):
                if _died(reports):
                    broken = i
                    break
                yield reports
        if broken is None:
            return
        with concurrent.futures.ProcessPoolExecutor(max_workers=1) as alone:
            yield next(audit_files(remaining[broken:broken + 1], alone, rules=rules,
                                   weights=weights))
        remaining = remaining[broken + 1:]


def _died(reports: list[FileReport]) -> bool:
    error = reports[0].error if len(reports) == 1 else None
    return error is not None and error.startswith(DIED)


DIED = "the audit did not finish: its worker process died"


def _records(future: concurrent.futures.Future[list[FileReport]], source: str
             ) -> list[FileReport]:
    try:
        return future.result()
    except concurrent.futures.BrokenExecutor as error:
        return [FileReport(source, [], f"{DIED} ({type(error).__name__})")]
    except Exception as error:  # noqa: BLE001 - any task failure becomes this file's record
        text = str(error).strip().splitlines()
        why = f"{type(error).__name__}: {text[0]}" if text else type(error).__name__
        return [FileReport(source, [], f"the audit did not finish: {why}")]


@contextmanager
def dask_executor(scheduler: str, workers: int = 0) -> Iterator[concurrent.futures.Executor]:
    """A Dask cluster's executor: ``scheduler`` is an address (``tcp://host:8786``) or
    ``"local"`` for a LocalCluster of ``workers`` single-threaded processes (0: one per CPU)."""
    try:
        distributed: Any = importlib.import_module("distributed")
    except ImportError:
        raise OSError(errno.EINVAL, f"--dask needs the optional extra: {DASK_HINT}") from None
    cluster: Any = None
    client: Any
    if scheduler == "local":
        cluster = distributed.LocalCluster(n_workers=workers or None, threads_per_worker=1,
                               processes=True, dashboard_address=None,
                               silence_logs=logging.CRITICAL)
        client = distributed.Client(cluster)
    else:
        client = distributed.Client(scheduler, timeout=30)
    try:
        executor: concurrent.futures.Executor = client.get_executor(pure=False)
        yield executor
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
