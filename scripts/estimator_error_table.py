#!/usr/bin/env python3
"""Measures each estimator's error against the exact hypergradient of examples/quadratic.toml
(dim_w 50, dim_lambda 10, q = 0.9) by running `bilevel hypergrad`, and prints markdown tables.

    python3 scripts/estimator_error_table.py [path/to/bilevel]
"""
import json
import subprocess
import sys

EXE = sys.argv[1] if len(sys.argv) > 1 else "build/bilevel"
EXAMPLE = "examples/quadratic.toml"
DETERMINISTIC = ["problem.noise_ll=0", "problem.noise_ul=0", "estimator.ll.batch_size=0",
                 "estimator.ls.batch_size=0", "estimator.outer_batch_size=0", "estimator.cross_batch_size=0",
                 "estimator.ll.decay_power=0", "estimator.ls.decay_power=0"]


def run(*overrides):
    out = subprocess.run([EXE, "hypergrad", EXAMPLE, *overrides], check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


def deterministic():
    print("Deterministic (noise 0, full batches, constant steps 1): relative error ||h - grad f|| / ||grad f||\n")
    print("| t = k (ITD: N) | AID fixed point | AID CG (k = 20) | AID Neumann | ITD |")
    print("|---|---|---|---|---|")
    for t in (5, 10, 20, 40, 80):
        row = [run(*DETERMINISTIC, f"estimator.ll.iterations={t}", f"estimator.ls.iterations={t}")]
        row.append(run(*DETERMINISTIC, f"estimator.ll.iterations={t}", "estimator.ls.iterations=20",
                       "estimator.ls.method=cg"))
        row.append(run(*DETERMINISTIC, f"estimator.ll.iterations={t}", f"estimator.ls.iterations={t}",
                       "estimator.ls.method=neumann"))
        row.append(run(*DETERMINISTIC, f"estimator.ll.iterations={t}", "estimator.ls.method=reverse"))
        print(f"| {t} | " + " | ".join(f"{r['relative_error']:.2e}" for r in row) + " |")


def stochastic():
    repeats = 100
    print(f"\nSID, stochastic (noise 0.5 on both levels, LL/LS batch 16, outer batch 64, steps 1/(1 + i/10)),"
          f" {repeats} seeds: relative mean squared error E||h - grad f||^2 / ||grad f||^2\n")
    print("| t = k | J = 1 | J = 4 | J = 16 | J = 64 |")
    print("|---|---|---|---|---|")
    for t in (10, 30, 100, 300):
        cells = []
        for j in (1, 4, 16, 64):
            r = run(f"estimator.ll.iterations={t}", f"estimator.ls.iterations={t}",
                    f"estimator.cross_batch_size={j}", f"repeats={repeats}")
            cells.append(f"{r['relative_mean_squared_error']:.2e}")
        print(f"| {t} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    deterministic()
    stochastic()
