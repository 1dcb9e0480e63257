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

from _harness import Benchmark, Harness, time_operation  # noqa: E402  (needs BENCH_DIR on sys.path)


@dataclass(frozen=True)
class Row:
    operation: str
    baseline: str
    median_ms: float
    p90_ms: float
    runs: int
    ratio: float  # throughput against the baseline: baseline median / this median


def main() -> int:
    args = _parse_args()
    module_names = sorted(path.stem for path in BENCH_DIR.glob("bench_*.py"))
    measured: list[tuple[Benchmark, float, float, int]] = []
    with Harness.start(args.database_url) as harness:
        for module_name in module_names:
            # Imported only now: bench modules define models and views, which need Django set up.
            module = importlib.import_module(module_name)
            for benchmark in module.BENCHMARKS:
                _log(f"{module_name}: {benchmark.name} …")
                runs = benchmark.runs or args.runs
                warmup = args.warmup if benchmark.warmup is None else benchmark.warmup
                with benchmark.prepare(harness) as operation:
                    timings = time_operation(operation, runs=runs, warmup=warmup)
                measured.append((benchmark, timings.median, timings.p90, runs))
        vendor = harness.database_vendor

    rows = _rows_with_ratios(measured)
    if args.json:
        print(json.dumps(_json_report(rows, vendor=vendor, args=args), indent=2))
    else:
        print(_table(rows, vendor=vendor, args=args))
    return 0


def _parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=_positive_int, default=300, help="timed runs per operation (default 300)")
    parser.add_argument("--warmup", type=_non_negative_int, default=30, help="untimed runs first (default 30)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
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


def _rows_with_ratios(measured: list[tuple[Benchmark, float, float, int]]) -> list[Row]:
    medians: dict[str, float] = {}
    for benchmark, median, _, _ in measured:
        if benchmark.name in medians:
            raise SystemExit(f"two benchmarks are named {benchmark.name!r}")
        medians[benchmark.name] = median
    rows = []
    for benchmark, median, p90, runs in measured:
        if benchmark.baseline not in medians:
            raise SystemExit(f"{benchmark.name!r} compares with {benchmark.baseline!r}, which did not run")
        rows.append(
            Row(
                operation=benchmark.name,
                baseline=benchmark.baseline,
                median_ms=median * 1000,
                p90_ms=p90 * 1000,
                runs=runs,
                ratio=medians[benchmark.baseline] / median,
            )
        )
    return rows


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
    header = ("operation", "median (ms)", "p90 (ms)", "runs", "ratio")
    cells = [
        (row.operation, f"{row.median_ms:.3f}", f"{row.p90_ms:.3f}", str(row.runs), f"{row.ratio:.2f}") for row in rows
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
