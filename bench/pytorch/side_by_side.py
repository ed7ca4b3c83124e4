#!/usr/bin/python3
"""bilevel against PyTorch on logistic-ho, side by side in one run.

The same computation on both sides: AID-BiO with N = Q = 20 (the loops paper) on L2-regularised
multinomial logistic regression with one log-regularisation per pixel, on the first rows of
Fashion-MNIST's training file (bilevel with problem.shuffle = false sees the same rows), in float32.
PyTorch computes it as research code does (autograd: gradients, Hessian-vector and mixed products by
double backward). First the script checks that both give the same hypergradient; then it times

  - one hypergradient from a cold start (w = v = 0), median over repeats, and
  - a run of UL iterations with warm-started w and v (the method's double warm start),

and reports peak memory (maximum resident set size) of each side. Both sides run with 1 and with 2
threads: bilevel with --threads, PyTorch with OMP_NUM_THREADS and OPENBLAS_NUM_THREADS in a process of
its own per setting. The ratios compare each side's faster setting. Debian's torch calls the system BLAS (libblas.so.3): with only the reference BLAS
installed it is about 20 times slower at GEMM, so scripts/setup.sh --bench installs OpenBLAS with it.

    scripts/setup.sh --bench && /usr/bin/python3 bench/pytorch/side_by_side.py
"""
import argparse
import gzip
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FASHION = os.environ.get("BILEVEL_FASHION_MNIST_DIR", "/usr/share/datasets/fashion-mnist")
LAMBDA0, GAMMA, STEP, LAMBDA_MIN, LAMBDA_MAX = -4.0, 0.0172, 3000.0, -10.0, 1.0


def read_idx(name):
    with gzip.open(os.path.join(FASHION, name), "rb") as f:
        data = f.read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def load(n_train, n_validation):
    """The first n_train rows of the training file, then the next n_validation: bilevel's splits with
    problem.shuffle = false."""
    images = read_idx("train-images-idx3-ubyte.gz").reshape(-1, 784).astype(np.float32) / np.float32(255)
    labels = read_idx("train-labels-idx1-ubyte.gz").astype(np.int64)
    n, m = n_train, n_validation
    return (torch.from_numpy(images[:n].copy()), torch.from_numpy(labels[:n].copy()),
            torch.from_numpy(images[n:n + m].copy()), torch.from_numpy(labels[n:n + m].copy()))


class LogisticHO:
    """g(W, lam) = CE(X W, y) + 1/2 sum_j exp(lam_j) ||W_j||^2 on train, E(W) = CE on validation."""

    def __init__(self, xt, yt, xv, yv):
        self.xt, self.yt, self.xv, self.yv = xt, yt, xv, yv

    def g(self, w, lam):
        return torch.nn.functional.cross_entropy(self.xt @ w, self.yt) + 0.5 * (torch.exp(lam)[:, None] * w * w).sum()

    def e(self, w):
        return torch.nn.functional.cross_entropy(self.xv @ w, self.yv)

    def hypergradient(self, lam, w, v, n_steps, q_steps):
        """AID: N steps w <- w - gamma grad_w g, then Q steps v <- v - gamma H v + grad_w E, then
        h = -gamma d2g/dlam dw^T v. Returns (h, w, v) for the warm start of the next call."""
        lam = lam.detach().requires_grad_(True)
        w = w.detach()
        for _ in range(n_steps):
            w.requires_grad_(True)
            (grad,) = torch.autograd.grad(self.g(w, lam), w)
            w = (w - GAMMA * grad).detach()
        w.requires_grad_(True)
        (grad_e,) = torch.autograd.grad(self.e(w), w)
        (grad_w,) = torch.autograd.grad(self.g(w, lam), w, create_graph=True)
        v = v.detach()
        for _ in range(q_steps):
            (hv,) = torch.autograd.grad(grad_w, w, grad_outputs=v, retain_graph=True)
            v = v - GAMMA * hv + grad_e
        (mixed,) = torch.autograd.grad(grad_w, lam, grad_outputs=v)
        return -GAMMA * mixed, w.detach(), v.detach()


def bilevel(args, *extra):
    """Runs the bilevel executable; returns its stdout and the peak RSS (kB) of that child."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    out = subprocess.run([args.exe, *extra], check=True, capture_output=True, text=True).stdout
    after = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return out, max(after, before)


def config_args(n_train, n_validation):
    return [os.path.join(ROOT, "examples/logistic-ho.toml"), "problem.shuffle=false",
            f"problem.train_size={n_train}", f"problem.validation_size={n_validation}", "problem.test_size=100",
            f"problem.gamma={GAMMA}", "method=aid-bio-nq-loop", "precision=float"]


def torch_worker(n, repeats, iterations):
    """PyTorch's side for one size, in a process of its own whose BLAS and OpenMP thread counts were
    fixed by the environment before torch loaded (torch.set_num_threads alone leaves OpenBLAS's
    threads running). Prints one JSON object."""
    torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))
    xt, yt, xv, yv = load(n, n)
    problem = LogisticHO(xt, yt, xv, yv)
    lam0, zero = torch.full((784,), LAMBDA0), torch.zeros(784, 10)
    h, _, _ = problem.hypergradient(lam0, zero, zero, 20, 20)  # also the warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        problem.hypergradient(lam0, zero, zero, 20, 20)
        times.append(time.perf_counter() - start)
    lam, w, v = lam0.clone(), zero.clone(), zero.clone()
    start = time.perf_counter()
    for _ in range(iterations):
        step, w, v = problem.hypergradient(lam, w, v, 20, 20)
        lam = (lam - STEP * step).clamp(LAMBDA_MIN, LAMBDA_MAX)
    run = (time.perf_counter() - start) / iterations
    print(json.dumps({"h": h.tolist(), "hypergradient": statistics.median(times), "iteration": run,
                      "lambda": lam.tolist(), "rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))


def torch_side(n, threads, args):
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), OPENBLAS_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    out = subprocess.run([sys.executable, os.path.abspath(__file__), "--torch-worker", str(n), "--repeats",
                          str(args.repeats), "--iterations", str(args.iterations)],
                         check=True, capture_output=True, text=True, env=env).stdout
    return json.loads(out)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--exe", default=os.path.join(ROOT, "build/bilevel"))
    parser.add_argument("--sizes", default="256,5000", help="training-set sizes (validation: the same)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--iterations", type=int, default=20, help="UL iterations of the timed runs")
    parser.add_argument("--torch-worker", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.torch_worker:
        torch_worker(args.torch_worker, args.repeats, args.iterations)
        return 0

    rows = []
    for n in [int(s) for s in args.sizes.split(",")]:
        # bilevel at 1 and 2 threads: the hypergradient (its time: median over processes), then a run.
        b_hyper, b_run, h_bilevel, lam_bilevel, b_rss = {}, {}, None, None, 0
        for threads in (1, 2):
            b_times = []
            for _ in range(args.repeats):
                out, _ = bilevel(args, "hypergrad", *config_args(n, n), "--threads", str(threads))
                result = json.loads(out)
                b_times.append(result["seconds"])
                h_bilevel = torch.tensor(result["hypergradient"])
            b_hyper[threads] = statistics.median(b_times)
            with tempfile.TemporaryDirectory() as d:
                _, rss = bilevel(args, "run", *config_args(n, n), f"ul.max_iterations={args.iterations}",
                                 "ul.eval_every=0", "evaluation.at_start=false", "--out", d, "--threads", str(threads))
                with open(os.path.join(d, "summary.json")) as f:
                    summary = json.load(f)
            b_rss = max(b_rss, rss)
            b_run[threads] = summary["seconds"] / summary["iterations"]
            lam_bilevel = torch.tensor(summary["lambda"])  # the same at any thread count
        # PyTorch with 1 and with 2 threads; both must compute what bilevel computes.
        t = {threads: torch_side(n, threads, args) for threads in (1, 2)}
        agreement = max(float((h_bilevel - torch.tensor(x["h"])).norm() / torch.tensor(x["h"]).norm()) for x in t.values())
        run_agreement = max(float((lam_bilevel - torch.tensor(x["lambda"])).norm() / torch.tensor(x["lambda"]).norm())
                            for x in t.values())
        rows.append((n, agreement, run_agreement, b_hyper, {k: x["hypergradient"] for k, x in t.items()},
                     b_run, {k: x["iteration"] for k, x in t.items()}, b_rss, max(x["rss_kb"] for x in t.values())))

    print(f"logistic-ho, AID-BiO N = Q = 20, float32; torch {torch.__version__} "
          f"with {os.path.realpath('/usr/lib/x86_64-linux-gnu/libblas.so.3')}; "
          f"medians of {args.repeats} (hypergradient) and means over {args.iterations} UL iterations (run)")
    print("| n (train = validation) | relative difference of h | of the final lambda | hypergradient: bilevel 1 / 2 threads | "
          "torch 1 / 2 threads | ratio (faster torch / faster bilevel) | UL iteration: bilevel 1 / 2 threads | "
          "torch 1 / 2 threads | ratio | peak RSS bilevel | peak RSS python+torch |")
    print("|" + "---|" * 11)
    ms = lambda d: f"{d[1] * 1e3:.2f} / {d[2] * 1e3:.2f} ms"
    for n, agree, run_agree, bh, th, br, tr, brss, trss in rows:
        print(f"| {n} | {agree:.1e} | {run_agree:.1e} | {ms(bh)} | {ms(th)} | {min(th.values()) / min(bh.values()):.1f}x | "
              f"{ms(br)} | {ms(tr)} | {min(tr.values()) / min(br.values()):.1f}x | "
              f"{brss / 1024:.0f} MB | {trss / 1024:.0f} MB |")
    if any(r[1] > 1e-3 or r[2] > 1e-3 for r in rows):
        print("the two sides do not compute the same thing: the timings above compare different computations",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
