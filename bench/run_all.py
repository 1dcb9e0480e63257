"""Run every bench/bench_*.py and print one table (or JSON with --json).

    python bench/run_all.py [--runs N] [--warmup N] [--json] [--database-url postgres://...]

Without --database-url (or BENCH_DATABASE_URL) it runs on a temporary SQLite file.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
if str(BENCH_DIR) not in sys.path:
    sys.path.insert(0, str(BENCH_DIR))

from _harness import Benchmark, Harness, Timings, time_interleaved, time_operation  # noqa: E402  (needs BENCH_DIR on sys.path)


@dataclass(frozen=True)
class Row:
    operation: str
    baseline: str
    median_ms: float
    p90_ms: float
    runs: int
    baseline_median_ms: float  # the baseline's median in the same (interleaved) runs
    ratio: float  # throughput against the baseline: baseline median / this median


@dataclass(frozen=True)
class Measured:
    benchmark: Benchmark
    timings: Timings
    runs: int
    baseline_median: float


def main() -> int:
    args = _parse_args()
    module_names = sorted(path.stem for path in BENCH_DIR.glob("bench_*.py"))
    measured: list[Measured] = []
    with Harness.start(args.database_url) as harness:
        # Imported only now: bench modules define models and views, which need Django set up.
        benchmarks = [
            b
            for name in module_names
            for b in importlib.import_module(name).BENCHMARKS
            if harness.database_vendor in b.vendors
        ]
        by_name = _by_name(benchmarks)
        if args.only:
            benchmarks = [b for b in benchmarks if args.only.lower() in b.name.lower()]
            if not benchmarks:
                raise SystemExit(f"no operation contains {args.only!r}")
        for benchmark in benchmarks:
            _log(f"{benchmark.name} …")
            runs = benchmark.runs or args.runs
            warmup = args.warmup if benchmark.warmup is None else benchmark.warmup
            if benchmark.baseline == benchmark.name:
                with benchmark.prepare(harness) as operation:
                    timings = time_operation(operation, runs=runs, warmup=warmup)
                measured.append(Measured(benchmark, timings, runs, timings.median))
                continue
            # A comparison runs in turns with its baseline, so both see the same machine.
            baseline = by_name[benchmark.baseline]
            with baseline.prepare(harness) as baseline_operation, benchmark.prepare(harness) as operation:
                baseline_timings, timings = time_interleaved(baseline_operation, operation, runs=runs, warmup=warmup)
            measured.append(Measured(benchmark, timings, runs, baseline_timings.median))
        vendor = harness.database_vendor

    rows = [
        Row(
            operation=m.benchmark.name,
            baseline=m.benchmark.baseline,
            median_ms=m.timings.median * 1000,
            p90_ms=m.timings.p90 * 1000,
            runs=m.runs,
            baseline_median_ms=m.baseline_median * 1000,
            ratio=m.baseline_median / m.timings.median,
        )
        for m in measured
    ]
    if args.json:
        print(json.dumps(_json_report(rows, vendor=vendor, args=args), indent=2))
    else:
        print(_table(rows, vendor=vendor, args=args))
    return 0


def _by_name(benchmarks: list[Benchmark]) -> dict[str, Benchmark]:
    by_name: dict[str, Benchmark] = {}
    for benchmark in benchmarks:
        if benchmark.name in by_name:
            raise SystemExit(f"two benchmarks are named {benchmark.name!r}")
        by_name[benchmark.name] = benchmark
    for benchmark in benchmarks:
        if benchmark.baseline not in by_name:
            raise SystemExit(f"{benchmark.name!r} compares with {benchmark.baseline!r}, which is not a benchmark")
    return by_name


def _parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=_positive_int, default=300, help="timed runs per operation (default 300)")
    parser.add_argument("--warmup", type=_non_negative_int, default=30, help="untimed runs first (default 30)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument(
        "--only",
        metavar="TEXT",
        help="only the rows whose operation contains TEXT (case-insensitive); their baselines still run with them",
    )
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_DATABASE_URL") or None,
        help="a PostgreSQL server to run on, e.g. postgres://postgres@127.0.0.1:5432/postgres; a throw-away "
        "database is created there and dropped afterwards (default: $BENCH_DATABASE_URL, else temporary SQLite)",
    )
    return parser.parse_args()


def _positive_int(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return number


def _non_negative_int(value: str) -> int:
    number = int(value)
    if number < 0:
        raise argparse.ArgumentTypeError("must be 0 or more")
    return number


def _environment(vendor: str, args: argparse.Namespace) -> dict[str, str | int]:
    import django

    return {
        "database": vendor,
        "python": platform.python_version(),
        "django": django.get_version(),
        "runs": args.runs,
        "warmup": args.warmup,
    }


def _json_report(rows: list[Row], *, vendor: str, args: argparse.Namespace) -> dict[str, object]:
    return {"environment": _environment(vendor, args), "results": [asdict(row) for row in rows]}


def _table(rows: list[Row], *, vendor: str, args: argparse.Namespace) -> str:
    env = _environment(vendor, args)
    caption = (
        f"{env['database']}, Python {env['python']}, Django {env['django']}, "
        f"{env['runs']} runs after {env['warmup']} warm-up"
    )
    header = ("operation", "median (ms)", "p90 (ms)", "runs", "baseline (ms)", "ratio")
    cells = [
        (
            row.operation,
            f"{row.median_ms:.3f}",
            f"{row.p90_ms:.3f}",
            str(row.runs),
            f"{row.baseline_median_ms:.3f}",
            f"{row.ratio:.2f}",
        )
        for row in rows
    ]
    widths = [max(len(line[i]) for line in [header, *cells]) for i in range(len(header))]

    def line(values: tuple[str, ...]) -> str:
        first, *numbers = values
        return "  ".join([first.ljust(widths[0]), *(v.rjust(w) for v, w in zip(numbers, widths[1:], strict=True))])

    rule = "  ".join("-" * width for width in widths)
    return "\n".join([caption, "", line(header), rule, *(line(cell) for cell in cells)])


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


if __name__ == "__main__":
    sys.exit(main())
