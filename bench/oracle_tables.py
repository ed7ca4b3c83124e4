#!/usr/bin/python3
"""The tables of docs/performance.md from a bench_oracles JSON file (medians of repetitions).

    ./dev bench --benchmark_repetitions=3 --benchmark_report_aggregates_only=true \
        --benchmark_out=oracles.json --benchmark_out_format=json [--benchmark_filter=...]
    python3 bench/oracle_tables.py oracles.json

One table per problem (and one for the products): a row per oracle and batch, the time at 1 and 2
threads, the speed-up, and GFLOP/s with its fraction of the FMA peak and of Eigen's GEMM at each
thread count. Benchmarks run without repetitions (no medians) are taken as they are.
"""
import json
import sys
from collections import defaultdict


def runs(path):
    """{(group, oracle, precision, batch): {threads: benchmark}}, medians where there are aggregates."""
    with open(path) as f:
        benchmarks = json.load(f)["benchmarks"]
    has_medians = any(b.get("aggregate_name") == "median" for b in benchmarks)
    table = defaultdict(dict)
    for b in benchmarks:
        if has_medians and b.get("aggregate_name") != "median":
            continue
        parts = b["run_name"].split("/")
        group, oracle, precision = parts[0], parts[1], parts[2]
        fields = dict(p.split(":") for p in parts[3:] if ":" in p)
        table[(group, oracle, precision, int(fields["batch"]))][int(fields.get("threads", 1))] = b
    return table


def counter(b, name):
    """A counter of b, or None where the benchmark has none (Google Benchmark writes NaN for a rate
    of an oracle without matrix products)."""
    value = b.get(name) if b else None
    return None if value is None or value != value else value


def milliseconds(b):
    scale = {"ns": 1e-6, "us": 1e-3, "ms": 1.0, "s": 1e3}[b["time_unit"]]
    return b["real_time"] * scale


def number(x):
    return f"{x:.3g}" if x < 1000 else f"{x:,.0f}".replace(",", " ")


def main(path):
    table = runs(path)
    groups = sorted({k[0] for k in table}, key=lambda g: (g == "products", g))
    for group in groups:
        print(f"\n### {group}\n")
        print("| oracle | precision | batch | ms, 1 / 2 threads | speed-up | GFLOP/s, 1 / 2 threads | of peak | of GEMM |")
        print("|---|---|---|---|---|---|---|---|")
        keys = sorted((k for k in table if k[0] == group), key=lambda k: (k[2], k[1], k[3]))
        for key in keys:
            by_threads = table[key]
            t = [by_threads.get(n) for n in (1, 2)]
            ms = [milliseconds(b) if b else None for b in t]
            flops = [counter(b, "GFLOPs") for b in t]
            cell = lambda values, f: " / ".join(f(v) if v is not None else "-" for v in values)
            speedup = f"{ms[0] / ms[1]:.2f}" if None not in ms else "-"
            products = any(v is not None for v in flops)
            rate = cell(flops, lambda v: f"{v:.1f}") if products else "(no products)"
            peak = cell([counter(b, "of_peak") for b in t], lambda v: f"{v:.2f}") if products else ""
            gemm = cell([counter(b, "of_gemm") for b in t], lambda v: f"{v:.2f}") if products else ""
            print(f"| {key[1]} | {key[2]} | {key[3]} | {cell(ms, number)} | {speedup} | {rate} | {peak} | {gemm} |")
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: oracle_tables.py BENCHMARK_JSON")
    sys.exit(main(sys.argv[1]))
