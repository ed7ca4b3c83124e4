#!/usr/bin/env python3
"""Measures BSGM's sample complexity on the quadratic problem of examples/quadratic-method.toml:
the samples needed to reach E||G(lambda)||^2 <= eps, for a range of eps, and the log-log slope of
samples against 1/eps (the warm-start paper: about 2 in the stochastic case, about 1 or better in the
deterministic case). E is the mean over seeds; G is exact (closed form). Prints markdown tables.

    python3 scripts/sample_complexity.py [--bilevel build/bilevel] [--seeds 8]
"""
import argparse
import json
import math
import os
import subprocess
import tempfile

CONFIG = "examples/quadratic-method.toml"


def run(exe, out_dir, *overrides):
    subprocess.run([exe, "run", CONFIG, *overrides, "--out", out_dir], check=True, capture_output=True, text=True)
    with open(os.path.join(out_dir, "metrics.jsonl")) as f:
        return [json.loads(line) for line in f]


def slope(points):
    """Least-squares slope of log(samples) against log(1/eps)."""
    xs = [math.log(1 / e) for e, _ in points]
    ys = [math.log(n) for _, n in points]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs)


def samples_to_reach(curve, eps):
    """First checkpoint of the mean curve [(samples, E||G||^2)] at or below eps."""
    for n, g2 in curve:
        if g2 <= eps and n > 0:
            return n
    return None


def mean_curve(runs):
    """Mean of ||G||^2 over seeds at each checkpoint (all seeds spend the same samples)."""
    curve = []
    for points in zip(*runs):
        curve.append((points[0]["samples"], sum(p["prox_gradient_norm"] ** 2 for p in points) / len(points)))
    return curve


def table(title, curve, epsilons, fit_below=float("inf")):
    print(f"\n{title}\n")
    print("| eps | samples to reach E||G||^2 <= eps |")
    print("|---|---|")
    points = []
    for eps in epsilons:
        n = samples_to_reach(curve, eps)
        print(f"| {eps:.1e} | {n if n is not None else 'not reached'} |")
        if n is not None:
            points.append((eps, n))
    if len(points) >= 3:
        print(f"\nlog-log slope of samples against 1/eps: **{slope(points):.2f}** (all {len(points)} points)")
    tail = [(e, n) for e, n in points if e <= fit_below]
    if fit_below != float("inf") and len(tail) >= 3:
        print(f"\nslope for eps <= {fit_below:g}, where the noise dominates: **{slope(tail):.2f}** ({len(tail)} points)")
    return points


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bilevel", default="build/bilevel")
    ap.add_argument("--seeds", type=int, default=8)
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="bilevel-complexity-")
    seeds = range(args.seeds)

    # Stochastic, growing t_s = k_s = J_s = s + 1 (preset bsgm): one run per seed gives the whole curve.
    runs = [run(args.bilevel, f"{tmp}/linear-{s}", "method=bsgm", "estimator.batch_size=8", f"seed={s}", "ul.max_iterations=400",
                "ul.eval_every=5") for s in seeds]
    table(f"Stochastic (noise 0.2, B = 8), bsgm: t = k = J = s + 1, constant alpha = 0.05, {args.seeds} seeds",
          mean_curve(runs), [10 ** (-e / 4) for e in range(0, 13)], fit_below=0.1)

    # Stochastic, finite horizon t = k = J = S (preset bsgm-horizon): one run per S and seed, last iterate.
    curve = []
    for horizon in (20, 40, 80, 160, 320):
        finals = [run(args.bilevel, f"{tmp}/horizon-{horizon}-{s}", "method=bsgm-horizon", "estimator.batch_size=8", f"seed={s}",
                      f"ul.max_iterations={horizon}", "ul.eval_every=0")[-1] for s in seeds]
        g2 = sum(p["prox_gradient_norm"] ** 2 for p in finals) / len(finals)
        curve.append((finals[0]["samples"], g2))
    print(f"\nStochastic, bsgm-horizon (t = k = J = S, last iterate), {args.seeds} seeds\n")
    print("| S | samples | E||G(lambda_S)||^2 |")
    print("|---|---|---|")
    for horizon, (n, g2) in zip((20, 40, 80, 160, 320), curve):
        print(f"| {horizon} | {n} | {g2:.3e} |")
    points = [(g2, n) for n, g2 in curve]
    print(f"\nlog-log slope of samples against 1/E||G||^2: **{slope(points):.2f}** (all S), "
          f"**{slope(points[1:]):.2f}** (S >= 40)")

    # Deterministic (noise 0): preset bsgm-det, t = k = 4 ceil(log2(s + 2)).
    det = run(args.bilevel, f"{tmp}/det", "method=bsgm-det", "problem.noise_ll=0", "problem.noise_ul=0",
              "ul.max_iterations=400", "ul.eval_every=1")
    table("Deterministic (noise 0), bsgm-det: t = k = 4 ceil(log2(s + 2)), alpha = 0.05",
          mean_curve([det]), [10 ** (-e) for e in range(0, 13)])


if __name__ == "__main__":
    main()
