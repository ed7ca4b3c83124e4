#!/usr/bin/python3
"""bilevel against PyTorch, side by side in one run: the same SID hypergradients and BSGM loop.

Two problems, in float32, on Fashion-MNIST's training file in file order (problem.shuffle = false):

  logistic-ho   L2-regularised multinomial logistic regression with one log-regularisation per pixel
                (784 hyperparameters); 50 000 training rows, the next 10 000 for validation. SID with
                t = k = J = 10, constant unit steps and v0 = grad E (the warm-start paper's experiments,
                preset bsgm-fixed): minibatches of B for the LL and LS steps, 10 B for grad E and the
                cross term; B = 64, 256 and the full batch. UL: projected gradient steps on [-10, 1].
  equilibrium   z = tanh(A z + B x + c), prediction C z + d, h = 200 (the warm-start paper's equilibrium
                models): T = K = 3 fixed-point steps, v0 = grad E, the LL warm-started from each example's
                last z; minibatches of B = 64, 256, 600 and all 50 000 examples; UL SGD step 0.2, then
                ||A||_2 <= 0.5 and C in [-1, 1].

PyTorch computes them as research code does: autograd for every Jacobian- and Hessian-vector product
(double backward for logistic-ho, vector-Jacobian products of one fixed-point step for equilibrium).
Both sides use the same minibatches: bilevel writes every minibatch it draws (--trace-samples) and PyTorch
replays them. So both follow the same trajectory, which the script checks first: one hypergradient, and
lambda after the timed UL iterations, must agree to 1e-3 relative, or no timing is printed.

Then, for each setting, on each side's own clock (data loading and evaluation excluded):
  - time per hypergradient (cold start, fresh minibatches each; bilevel: (T(R + 1) - T(1)) / R over
    `hypergrad repeats`; PyTorch: the median of R calls after a warm-up call, on the minibatches of the
    run's first R iterations),
  - time per UL iteration (mean over the run),
  - time to reach the same validation loss: the run's first checkpoint where bilevel's evaluator finds the
    validation loss 90 % of the way from its start to its best; both sides reach that lambda at the same
    iteration (same trajectory), at the time their own clock shows there,
  - peak resident memory of each side's process.
bilevel runs with --threads 1 and 2; PyTorch in a process of its own per thread count, with OMP_NUM_THREADS
and OPENBLAS_NUM_THREADS set before it loads. Ratios compare each side's faster setting.

PyTorch's matrix products run in OpenBLAS, whose kernels depend on the CPU it detects at load time, or on
OPENBLAS_CORETYPE: Debian's OpenBLAS 0.3.21 falls back to generic SSE3 kernels ("Prescott") on CPUs newer
than it knows (an Emerald Rapids here: 31 GFLOP/s for a 200 x 784 by 784 x 256 product, against 157 with
its AVX-512 "Cooperlake" kernels), and some machines set OPENBLAS_CORETYPE=Haswell (AVX2 kernels, 1.6x
slower than the AVX-512 ones on the machine of 2026-12-05). So before the settings the script times that product
in PyTorch with OpenBLAS's own choice and with each of the Haswell, SkylakeX and Cooperlake kernels (a
kernel the CPU cannot run fails and is skipped; --blas-core names one instead), and both sides run with
the fastest: PyTorch's products, and bilevel's large ones, which go to OpenBLAS when it runs AVX-512
kernels (src/bilevel/core/blas.hpp). The report's first line names the kernels and the probe's rates.

    scripts/setup.sh --bench && /usr/bin/python3 bench/pytorch/side_by_side.py [--quick]
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
BLAS = os.path.realpath("/usr/lib/x86_64-linux-gnu/libblas.so.3")  # what torch's BLAS calls reach
# Every child (bilevel and the PyTorch workers) runs in this environment; main() sets OPENBLAS_CORETYPE
# in it to the fastest kernels (see the docstring).
CHILD_ENV = {k: v for k, v in os.environ.items() if k != "OPENBLAS_CORETYPE"}
BLAS_CANDIDATES = ["", "Haswell", "SkylakeX", "Cooperlake"]  # "": OpenBLAS's own choice
FASHION = os.environ.get("BILEVEL_FASHION_MNIST_DIR", "/usr/share/datasets/fashion-mnist")
N_TRAIN, N_VALIDATION = 50000, 10000


# ----------------------------------------------------------------------------------------------- data

def read_idx(name):
    with gzip.open(os.path.join(FASHION, name), "rb") as f:
        data = f.read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def load():
    """The first N_TRAIN rows of the training file and the next N_VALIDATION: bilevel's splits with
    problem.shuffle = false."""
    images = read_idx("train-images-idx3-ubyte.gz").reshape(-1, 784).astype(np.float32) / np.float32(255)
    labels = read_idx("train-labels-idx1-ubyte.gz").astype(np.int64)
    n, m = N_TRAIN, N_VALIDATION
    return (torch.from_numpy(images[:n].copy()), torch.from_numpy(labels[:n].copy()),
            torch.from_numpy(images[n:n + m].copy()), torch.from_numpy(labels[n:n + m].copy()))


class Batches:
    """The minibatches of a --trace-samples file, by sampler, in the order drawn."""

    def __init__(self, path):
        self.queues, self.next = {}, {}
        with open(path) as f:
            for line in f:
                d = json.loads(line)
                ids = None if "all" in d else torch.tensor(d["ids"], dtype=torch.int64)
                self.queues.setdefault(d["sampler"], []).append(ids)
        self.rewind()

    def rewind(self):
        self.next = {k: 0 for k in self.queues}

    def take(self, sampler):
        i = self.next[sampler]
        self.next[sampler] = i + 1
        return self.queues[sampler][i]


def rows(x, ids):
    return x if ids is None else x[ids]


# -------------------------------------------------------------------------------------- logistic-ho

class LogisticHO:
    """g(W, lam) = CE(X W, y) + 1/2 sum_j exp(lam_j) ||W_j||^2, Phi = W - gamma grad_W g; E = CE on validation.
    SID as bilevel's estimator computes it with bsgm-fixed's options."""
    T = K = 10
    LAMBDA_MIN, LAMBDA_MAX, STEP = -10.0, 1.0, 3000.0

    def __init__(self, data, gamma):
        self.xt, self.yt, self.xv, self.yv = data
        self.gamma = gamma

    def initial_lambda(self, _):
        return torch.full((784,), -4.0)

    def g(self, w, lam, ids):
        return (torch.nn.functional.cross_entropy(rows(self.xt, ids) @ w, rows(self.yt, ids))
                + 0.5 * (torch.exp(lam)[:, None] * w * w).sum())

    def hypergradient(self, lam, batches, state):
        lam = lam.detach().requires_grad_(True)
        w = torch.zeros(784, 10)
        for _ in range(self.T):
            w.requires_grad_(True)
            (grad,) = torch.autograd.grad(self.g(w, lam, batches.take("ll")), w)
            w = (w - self.gamma * grad).detach()
        w.requires_grad_(True)
        ids = batches.take("outer")
        (ge,) = torch.autograd.grad(torch.nn.functional.cross_entropy(rows(self.xv, ids) @ w, rows(self.yv, ids)), w)
        v = ge
        for _ in range(self.K):  # v <- d_w Phi^T v + grad E, a fresh minibatch per step
            (grad_w,) = torch.autograd.grad(self.g(w, lam, batches.take("ls")), w, create_graph=True)
            (hv,) = torch.autograd.grad(grad_w, w, grad_outputs=v)
            v = v - self.gamma * hv + ge
        (grad_w,) = torch.autograd.grad(self.g(w, lam, batches.take("cross")), w, create_graph=True)
        (mixed,) = torch.autograd.grad(grad_w, lam, grad_outputs=v)
        return -self.gamma * mixed

    def step(self, lam, h):
        return (lam - self.STEP * h).clamp(self.LAMBDA_MIN, self.LAMBDA_MAX)


# -------------------------------------------------------------------------------------- equilibrium

class Equilibrium:
    """z_i = tanh(A z_i + B x_i + c), E = CE(C z_i + d, y_i) on the training examples; lambda = (A, B, c, C, d)
    stored as bilevel stores it (each matrix column-major). One fixed point per example, warm-started."""
    # UL step 0.2, not the paper's 0.5 (MNIST digits): on Fashion-MNIST with B = 256, 0.5 makes the validation
    # loss jump from 2.4 to 7 within 20 steps, and the trajectory then amplifies rounding (float and double
    # runs of bilevel itself differ by 40 % after 40 steps); with 0.2 they agree to 4e-7 after 200.
    H, T, K, STEP, RADIUS = 200, 3, 3, 0.2, 0.5

    def __init__(self, data, _gamma):
        self.x, self.y = data[0], data[1]
        self.store = torch.zeros(self.x.shape[0], self.H)  # the last z of every example

    def split(self, lam):
        h, p, k = self.H, 784, 10
        sizes = [h * h, h * p, h, k * h, k]
        parts, at = [], 0
        for s in sizes:
            parts.append(lam[at:at + s])
            at += s
        # column-major h x h, h x p, k x h
        return (parts[0].reshape(h, h).t(), parts[1].reshape(p, h).t(), parts[2], parts[3].reshape(h, k).t(), parts[4])

    def join(self, a, b, c, cc, d):
        return torch.cat([a.t().reshape(-1), b.t().reshape(-1), c, cc.t().reshape(-1), d])

    def initial_lambda(self, bilevel_lambda):
        return torch.tensor(bilevel_lambda, dtype=torch.float32)

    def hypergradient(self, lam, batches, state):
        ids = batches.take("blocks")
        a, b, c, cc, d = [t.detach().requires_grad_(True) for t in self.split(lam)]
        x, y = rows(self.x, ids), rows(self.y, ids)
        with torch.no_grad():
            injection = x @ b.t() + c
            z = rows(self.store, ids) if state else torch.zeros(x.shape[0], self.H)
            for _ in range(self.T):
                z = torch.tanh(z @ a.t() + injection)
        z.requires_grad_(True)
        loss = torch.nn.functional.cross_entropy(z @ cc.t() + d, y)
        gz, gcc, gd = torch.autograd.grad(loss, [z, cc, d])
        phi = torch.tanh(z @ a.t() + x @ b.t() + c)  # one step, for its vector-Jacobian products
        v = gz
        for _ in range(self.K):  # v <- d_z Phi^T v + grad_z E, from v0 = grad_z E
            (jv,) = torch.autograd.grad(phi, z, grad_outputs=v, retain_graph=True)
            v = jv + gz
        ga, gb, gc = torch.autograd.grad(phi, [a, b, c], grad_outputs=v)
        if state:
            if ids is None:
                self.store = z.detach()
            else:
                self.store[ids] = z.detach()
        return self.join(ga, gb, gc, gcc, gd)

    def step(self, lam, h):
        a, b, c, cc, d = self.split(lam - self.STEP * h)
        u, s, vt = torch.linalg.svd(a.double())
        if s[0] > self.RADIUS:
            a = (u @ torch.diag(s.clamp(max=self.RADIUS)) @ vt).float()
        return self.join(a, b, c, cc.clamp(-1.0, 1.0), d)


PROBLEMS = {"logistic-ho": LogisticHO, "equilibrium": Equilibrium}


# ------------------------------------------------------------------------------------------ bilevel

def bilevel_args(problem, batch, gamma):
    if problem == "logistic-ho":
        common = ["examples/logistic-ho.toml", "method=custom", "problem.regularization=per_feature",
                  f"problem.gamma={gamma}", "lambda=-4", "problem.lambda_min=-10", "problem.lambda_max=1",
                  f"ul.step={LogisticHO.STEP}", "estimator.ll.iterations=10", "estimator.ls.iterations=10",
                  "estimator.ls.start=outer_gradient"]
        j = 10 * batch
        sizes = [f"estimator.ll.batch_size={batch}", f"estimator.ls.batch_size={batch}",
                 f"estimator.outer_batch_size={min(j, N_VALIDATION) if batch else 0}",
                 f"estimator.cross_batch_size={min(j, N_TRAIN) if batch else 0}"]
    else:
        common = ["examples/equilibrium.toml", "problem.dataset=fashion-mnist", "problem.hidden=200",
                  "estimator.ll.iterations=3", "estimator.ls.iterations=3", "estimator.ll.warm_start=true",
                  "estimator.ls.start=outer_gradient", f"ul.step={Equilibrium.STEP}", "evaluation.iterations=30"]
        sizes = [f"estimator.outer_batch_size={batch}"]
    return common + sizes + ["precision=float", "problem.shuffle=false", f"problem.train_size={N_TRAIN}",
                             f"problem.validation_size={N_VALIDATION}", "problem.test_size=1000"]


def bilevel(args, *extra):
    """Runs the bilevel executable; returns its stdout and the peak RSS (kB) of that child alone.

    os.wait4 gives the child's own resource usage; RUSAGE_CHILDREN would be the largest of every child
    waited for so far, the PyTorch workers included."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        child = subprocess.Popen([args.exe, *extra], stdout=out, stderr=err, text=True, cwd=ROOT, env=CHILD_ENV)
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if child.returncode != 0:
            raise subprocess.CalledProcessError(child.returncode, child.args, out.read(), err.read())
        return out.read(), usage.ru_maxrss


def bilevel_run(args, config, iterations, every, threads, trace=None):
    with tempfile.TemporaryDirectory() as d:
        extra = ["--trace-samples", trace] if trace else []
        _, rss = bilevel(args, "run", *config, f"ul.max_iterations={iterations}", f"ul.eval_every={every}",
                         "evaluation.hypergradient=false", "--out", d, "--threads", str(threads), *extra)
        with open(os.path.join(d, "summary.json")) as f:
            summary = json.load(f)
        with open(os.path.join(d, "metrics.jsonl")) as f:
            checkpoints = [json.loads(line) for line in f]
    return summary, checkpoints, rss


def bilevel_hypergradient_seconds(args, config, threads, repeats):
    """(T(R + 1) - T(1)) / R: the first call's warm-up (scratch memory, thread team) left out. Cold
    hypergradients: without the LL warm start, whose store (one z per example, created by each repeat's
    fresh state) PyTorch's cold hypergradient does not have either."""
    seconds = {}
    for r in (1, repeats + 1):
        out, _ = bilevel(args, "hypergrad", *config, "estimator.ll.warm_start=false", f"repeats={r}",
                         "--threads", str(threads))
        seconds[r] = json.loads(out)["seconds"]
    return (seconds[repeats + 1] - seconds[1]) / repeats


# ------------------------------------------------------------------------------------------ PyTorch

def torch_worker(spec):
    """PyTorch's side of one setting, in a process whose BLAS and OpenMP thread counts were fixed by the
    environment before torch loaded. Prints one JSON object."""
    torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))
    data = load()
    problem = PROBLEMS[spec["problem"]](data, spec["gamma"])
    lam0 = problem.initial_lambda(spec["lambda0"])

    h = problem.hypergradient(lam0, Batches(spec["hypergradient_trace"]), state=False)  # also the warm-up
    # Cold hypergradients on the minibatches of the run's first iterations: fresh rows each time, as
    # bilevel's repeats draw them (the same rows again would come from the cache).
    run = Batches(spec["run_trace"])
    times = []
    for _ in range(spec["repeats"]):
        start = time.perf_counter()
        problem.hypergradient(lam0, run, state=False)
        times.append(time.perf_counter() - start)

    run.rewind()
    fresh = PROBLEMS[spec["problem"]](data, spec["gamma"])  # an empty warm-start store
    lam, elapsed, clock = lam0.clone(), 0.0, []
    for _ in range(spec["iterations"]):
        start = time.perf_counter()
        lam = fresh.step(lam, fresh.hypergradient(lam, run, state=True)).detach()
        elapsed += time.perf_counter() - start
        clock.append(elapsed)
    print(json.dumps({"blas_core": openblas_core(), "h": h.tolist(), "hypergradient": statistics.median(times), "clock": clock,
                      "lambda": lam.tolist(), "rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))


def openblas_core():
    """The kernels OpenBLAS chose in this process (its core name), or what the BLAS is if not OpenBLAS."""
    import ctypes
    try:
        lib = ctypes.CDLL(BLAS)
        lib.openblas_get_corename.restype = ctypes.c_char_p
        return lib.openblas_get_corename().decode()
    except (OSError, AttributeError):
        return f"not OpenBLAS ({BLAS})"


def bilevel_products(args):
    """What bilevel says its matrix products run in, in CHILD_ENV (`bilevel --version`)."""
    out, _ = bilevel(args, "--version")
    return next((line.split(": ", 1)[1] for line in out.splitlines() if line.startswith("matrix products: ")), "?")


def gemm_probe():
    """In a worker: OpenBLAS's kernels and the median time of a 200 x 784 by 784 x 256 float product in
    PyTorch, one thread (equilibrium's B X^T at B = 256)."""
    torch.set_num_threads(1)
    a, b = torch.randn(200, 784), torch.randn(784, 256)
    for _ in range(20):
        a @ b
    times = []
    for _ in range(100):
        start = time.perf_counter()
        a @ b
        times.append(time.perf_counter() - start)
    print(json.dumps({"core": openblas_core(), "seconds": statistics.median(times)}))


def choose_blas_kernels(forced):
    """Set OPENBLAS_CORETYPE in CHILD_ENV to the fastest candidate kernels (or to `forced`); returns a
    description of the choice and of the rates measured."""
    candidates = [forced] if forced else BLAS_CANDIDATES
    rates = {}
    for core in candidates:
        probe = run_worker(1, {"OPENBLAS_CORETYPE": core} if core else {}, "--gemm-probe")
        if probe.returncode != 0:  # a kernel this CPU cannot run (SIGILL)
            continue
        result = json.loads(probe.stdout.strip().splitlines()[-1])
        rates[core] = (result["core"], 2 * 200 * 784 * 256 / result["seconds"] / 1e9)
    if not rates:
        sys.exit(f"no OpenBLAS kernels of {candidates} ran in PyTorch here")
    best = max(rates, key=lambda c: rates[c][1])
    if best:
        CHILD_ENV["OPENBLAS_CORETYPE"] = best
    measured = ", ".join(f"{'own choice ' if not c else ''}{core} {rate:.0f}" for c, (core, rate) in rates.items())
    return f"{rates[best][0]} kernels, the fastest of ({measured} GFLOP/s for 200 x 784 by 784 x 256 in torch)"


def run_worker(threads, extra_env, *flags):
    """This script in a process of its own (a PyTorch worker or the GEMM probe), in CHILD_ENV plus
    extra_env, with its thread counts set before torch loads."""
    env = dict(CHILD_ENV, OMP_NUM_THREADS=str(threads), OPENBLAS_NUM_THREADS=str(threads),
               MKL_NUM_THREADS=str(threads), **extra_env)
    return subprocess.run([sys.executable, os.path.abspath(__file__), *flags], capture_output=True, text=True, env=env)


def torch_side(spec, threads):
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(spec, f)
    try:
        worker = run_worker(threads, {}, "--torch-worker", f.name)
        worker.check_returncode()
    finally:
        os.unlink(f.name)
    return json.loads(worker.stdout)


# ------------------------------------------------------------------------------------------- driver

def relative(a, b):
    a, b = torch.tensor(a), torch.tensor(b)
    return float((a - b).norm() / max(float(b.norm()), 1e-30))


def one_setting(args, problem, batch, iterations, every, workdir):
    gamma = args.gamma
    repeats = min(args.repeats, iterations)  # the run's minibatches serve PyTorch's timed hypergradients
    config = bilevel_args(problem, batch, gamma)
    hyper_trace = os.path.join(workdir, f"{problem}-{batch}-hypergradient.jsonl")
    run_trace = os.path.join(workdir, f"{problem}-{batch}-run.jsonl")
    out, _ = bilevel(args, "hypergrad", *config, "--threads", "2", "--trace-samples", hyper_trace)
    reference = json.loads(out)
    traced, checkpoints, _ = bilevel_run(args, config, iterations, every, 2, trace=run_trace)

    b_hyper, b_iteration, b_clock, b_rss = {}, {}, {}, 0
    for threads in (1, 2):
        b_hyper[threads] = bilevel_hypergradient_seconds(args, config, threads, repeats)
        summary, timed, rss = bilevel_run(args, config, iterations, every, threads)
        b_iteration[threads] = summary["seconds"] / summary["iterations"]
        b_clock[threads] = {c["iteration"]: c["seconds"] for c in timed}
        b_rss = max(b_rss, rss)
    spec = {"problem": problem, "gamma": gamma, "lambda0": reference["lambda"], "hypergradient_trace": hyper_trace,
            "run_trace": run_trace, "repeats": repeats, "iterations": iterations}
    t = {threads: torch_side(spec, threads) for threads in (1, 2)}

    # The checkpoint 90 % of the way from the start to the best validation loss (the same lambda on both sides).
    losses = [(c["iteration"], c["validation_loss"]) for c in checkpoints]
    start, best = losses[0][1], min(l for _, l in losses)
    target = start + 0.9 * (best - start)
    s_star = next(s for s, l in losses if l <= target)
    return {
        "problem": problem, "batch": batch or "full",
        "agree_h": max(relative(x["h"], reference["hypergradient"]) for x in t.values()),
        "agree_lambda": max(relative(x["lambda"], traced["lambda"]) for x in t.values()),
        "b_hyper": b_hyper, "t_hyper": {k: x["hypergradient"] for k, x in t.items()},
        "b_iteration": b_iteration, "t_iteration": {k: x["clock"][-1] / iterations for k, x in t.items()},
        "target": (s_star, target, start),
        "b_target": {k: c[s_star] for k, c in b_clock.items()},
        "t_target": {k: (x["clock"][s_star - 1] if s_star > 0 else 0.0) for k, x in t.items()},
        "b_rss": b_rss, "t_rss": max(x["rss_kb"] for x in t.values()),
        "blas_core": t[1]["blas_core"],
    }


def report(rows, args, kernels):
    cores = sorted({r["blas_core"] for r in rows})
    print(f"SID hypergradients and the BSGM loop, float32, Fashion-MNIST; torch {torch.__version__} with "
          f"{BLAS} ({', '.join(cores)} kernels in the workers; {kernels}); bilevel "
          f"({bilevel_products(args)}) 1 / 2 threads, torch 1 / 2 threads; ratio = faster torch / faster bilevel")
    print("| problem | B | rel. diff. h / final lambda | hypergradient: bilevel | torch | ratio | UL iteration: bilevel "
          "| torch | ratio | to the validation loss (iteration) | bilevel | torch | ratio | peak RSS bilevel / torch |")
    print("|" + "---|" * 14)
    ms = lambda d: f"{d[1] * 1e3:.3g} / {d[2] * 1e3:.3g} ms"
    ratio = lambda t, b: f"{min(t.values()) / min(b.values()):.1f}x"
    for r in rows:
        s_star, target, start = r["target"]
        print(f"| {r['problem']} | {r['batch']} | {r['agree_h']:.1e} / {r['agree_lambda']:.1e} | {ms(r['b_hyper'])} | "
              f"{ms(r['t_hyper'])} | {ratio(r['t_hyper'], r['b_hyper'])} | {ms(r['b_iteration'])} | {ms(r['t_iteration'])} | "
              f"{ratio(r['t_iteration'], r['b_iteration'])} | {start:.4f} -> {target:.4f} ({s_star}) | "
              f"{r['b_target'][1]:.3g} / {r['b_target'][2]:.3g} s | {r['t_target'][1]:.3g} / {r['t_target'][2]:.3g} s | "
              f"{ratio(r['t_target'], r['b_target'])} | {r['b_rss'] / 1024:.0f} / {r['t_rss'] / 1024:.0f} MB |")
    bad = [r for r in rows if r["agree_h"] > 1e-3 or r["agree_lambda"] > 1e-3]
    if bad:
        print("the two sides do not compute the same thing (relative difference above 1e-3) in: " +
              ", ".join(f"{r['problem']} B = {r['batch']}" for r in bad) + "; the timings above compare different "
              "computations", file=sys.stderr)
        return 1
    return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--exe", default=os.path.join(ROOT, "build/bilevel"))
    parser.add_argument("--repeats", type=int, default=20, help="hypergradients timed per setting (at most its iterations)")
    parser.add_argument("--gamma", type=float, default=0.0172, help="logistic-ho's LL step (both sides)")
    parser.add_argument("--quick", action="store_true", help="the minibatch settings only, fewer iterations")
    parser.add_argument("--only", choices=sorted(PROBLEMS), help="one problem")
    parser.add_argument("--blas-core", default="", help="OPENBLAS_CORETYPE for both sides (default: the fastest)")
    parser.add_argument("--torch-worker", default="", help=argparse.SUPPRESS)
    parser.add_argument("--gemm-probe", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.gemm_probe:
        gemm_probe()
        return 0
    if args.torch_worker:
        with open(args.torch_worker) as f:
            torch_worker(json.load(f))
        return 0

    # (problem, B (0: full batch), UL iterations, checkpoint every)
    settings = [("logistic-ho", 64, 200, 20), ("logistic-ho", 256, 200, 20), ("logistic-ho", 0, 10, 2),
                ("equilibrium", 64, 200, 20), ("equilibrium", 256, 200, 20), ("equilibrium", 600, 100, 10),
                ("equilibrium", 0, 6, 2)]
    if args.quick:
        settings = [(p, b, n // 4, e // 2) for p, b, n, e in settings if b]
    if args.only:
        settings = [s for s in settings if s[0] == args.only]
    kernels = choose_blas_kernels(args.blas_core)
    with tempfile.TemporaryDirectory() as workdir:
        rows = [one_setting(args, *s, workdir) for s in settings]
    return report(rows, args, kernels)


if __name__ == "__main__":
    sys.exit(main())
