"""Run every benchmark and print its figures, each against a baseline measured in the same run.

`make bench`. Not part of `make test`: figures depend on the machine; ratios are what to compare.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

BENCHES = ["bench.bench_store", "bench.bench_gazetteer", "bench.bench_gazetteer_engines", "bench.bench_sync",
           "bench.bench_sms", "bench.bench_kiosk", "bench.bench_report", "bench.bench_postgres"]


def report(name: str, value: float, unit: str, note: str = "") -> None:
    print(f"{name:<58} {value:>12,.2f} {unit:<10} {note}", flush=True)


def main(selected: list[str]) -> None:
    for module_name in BENCHES:
        if selected and not any(word in module_name for word in selected):
            continue
        print(f"# {module_name}", flush=True)
        importlib.import_module(module_name).run(report)


if __name__ == "__main__":
    main(sys.argv[1:])
