"""Long-running fuzzer: ``python tests/fuzz_long.py --minutes 30 [--seed-dir DIR]``.

Mutates the fixtures, the shared models (and any ``--seed-dir``) and generated models with
the strategies of ``tests/fuzzing.py`` and exercises everything tflparse offers on each
mutant. Each input gets
a wall-clock budget (a hang is a failure). Every failure is written to
``tests/regressions/<sha1>.bin``, which ``tests/test_fuzz.py`` replays from then on.
Prints the inputs tried, the time taken and the failures found; exits 1 if any.
"""

from __future__ import annotations

import argparse
import hashlib
import signal
import sys
import time
from pathlib import Path
from types import FrameType

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from conftest import fixture_paths, shared_model_paths  # noqa: E402
from fuzzing import exercise, fuzz_inputs  # noqa: E402
from hypothesis import HealthCheck, Phase, given, settings  # noqa: E402


class Hang(Exception):
    pass


def _alarm(signum: int, frame: FrameType | None) -> None:
    raise Hang()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--seed-dir", type=Path, action="append", default=[])
    parser.add_argument("--max-seed-bytes", type=int, default=1_000_000)
    parser.add_argument("--per-input-seconds", type=int, default=10)
    args = parser.parse_args(argv)

    seeds = [p for p in fixture_paths() + shared_model_paths()
             if p.stat().st_size <= args.max_seed_bytes]
    for folder in args.seed_dir:
        seeds += sorted(p for p in folder.rglob("*") if p.suffix in (".tflite", ".bin"))
    if not seeds:
        print("no seed models", file=sys.stderr)
        return 2
    deadline = time.monotonic() + 60 * args.minutes
    tried = 0
    failures: dict[str, str] = {}
    signal.signal(signal.SIGALRM, _alarm)

    seed_bytes = [p.read_bytes() for p in seeds]  # read once: files may change meanwhile

    @settings(max_examples=10**9, deadline=None, database=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(fuzz_inputs(seed_bytes))
    def one(data: bytes) -> None:
        nonlocal tried
        if time.monotonic() > deadline:
            raise TimeUp()
        tried += 1
        signal.alarm(args.per_input_seconds)
        try:
            problems = exercise(data)
        except Hang:
            problems = [f"hang: more than {args.per_input_seconds}s"]
        finally:
            signal.alarm(0)
        if problems:
            name = hashlib.sha1(data).hexdigest()[:12]
            (HERE / "regressions" / f"{name}.bin").write_bytes(data)
            failures[name] = problems[0]

    class TimeUp(Exception):
        pass

    started = time.monotonic()
    try:
        one()
    except Exception as error:  # hypothesis may wrap the stop in a group when it replays
        inner = getattr(error, "exceptions", (error,))
        if not all(isinstance(e, TimeUp) for e in inner):
            raise
    elapsed = time.monotonic() - started
    print(f"seeds: {len(seeds)}  inputs tried: {tried}  time: {elapsed:.0f} s  "
          f"({tried / max(elapsed, 1e-9):.0f}/s)  failures: {len(failures)}")
    for name, problem in failures.items():
        print(f"  tests/regressions/{name}.bin: {problem}")
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
