"""Exact KNN-Shapley: QSPP against pyDVL on the same data, in the same invocation.

usage: knn_shapley_bench.py QSPP_BINARY N [N ...] [--validation 1000] [--dimension 32] [--k 5] [--jobs 2]

For each N it writes seeded synthetic data (Gaussian clusters, 3 classes) as CSV, runs
`qspp valuation knn-shapley` and pyDVL's KNNShapleyValuation (joblib with --jobs workers) on it,
samples the resident memory of each process tree every 100 ms, and checks the values agree.
Times are the methods' own compute times (data loading excluded on both sides) and wall times.
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import psutil

HERE = os.path.dirname(os.path.abspath(__file__))
PYDVL = os.path.join(HERE, "..", "..", "Tests", "ValuationTests", "Fixtures", "pydvl_knn_shapley.py")


def run(command):
    """Runs a command; returns (stderr's last line, wall seconds, peak RSS of its process tree in MiB)."""
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    root = psutil.Process(process.pid)
    peak = 0
    while process.poll() is None:
        try:
            total = root.memory_info().rss + sum(c.memory_info().rss for c in root.children(recursive=True))
            peak = max(peak, total)
        except psutil.Error:
            pass
        time.sleep(0.1)
    wall = time.perf_counter() - started
    stderr = process.stderr.read()
    if process.returncode != 0:
        sys.exit(f"{command[0]} failed: {stderr}")
    return stderr.strip().splitlines()[-1], wall, peak / 2**20


def synthetic(n, dimension, seed):
    rng = np.random.default_rng(seed)
    centres = rng.uniform(-1.5, 1.5, size=(3, dimension))
    labels = rng.integers(0, 3, size=n)
    return np.column_stack([centres[labels] + rng.standard_normal((n, dimension)), labels])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("binary")
    parser.add_argument("sizes", type=int, nargs="+")
    parser.add_argument("--validation", type=int, default=1000)
    parser.add_argument("--dimension", type=int, default=32)
    parser.add_argument("--k", type=int, default=5)
    parser.add_argument("--jobs", type=int, default=os.cpu_count())
    arguments = parser.parse_args()
    print(f"# exact KNN-Shapley, d={arguments.dimension}, {arguments.validation} validation points, "
          f"K={arguments.k}, {arguments.jobs} cores each")
    print("| N | QSPP compute s | QSPP wall s | QSPP peak RSS MiB | pyDVL compute s | pyDVL wall s "
          "| pyDVL peak RSS MiB | speed-up (compute) | largest |difference| |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    with tempfile.TemporaryDirectory() as directory:
        for n in arguments.sizes:
            training = os.path.join(directory, "training.csv")
            validation = os.path.join(directory, "validation.csv")
            np.savetxt(training, synthetic(n, arguments.dimension, n), delimiter=",", fmt="%.17g")
            np.savetxt(validation, synthetic(arguments.validation, arguments.dimension, n + 1), delimiter=",",
                       fmt="%.17g")
            ours_file = os.path.join(directory, "qspp.txt")
            theirs_file = os.path.join(directory, "pydvl.txt")
            ours, ours_wall, ours_rss = run([
                arguments.binary, "valuation", "knn-shapley", "--training", training, "--validation", validation,
                "--k", str(arguments.k), "--threads", str(arguments.jobs), "--output", ours_file])
            theirs, theirs_wall, theirs_rss = run([
                sys.executable, PYDVL, training, validation, str(arguments.k), theirs_file, str(arguments.jobs)])
            difference = np.max(np.abs(np.loadtxt(ours_file) - np.loadtxt(theirs_file)))
            print(f"| {n} | {float(ours):.2f} | {ours_wall:.2f} | {ours_rss:.0f} | {float(theirs):.2f} "
                  f"| {theirs_wall:.2f} | {theirs_rss:.0f} | {float(theirs) / float(ours):.1f}× | {difference:.1e} |",
                  flush=True)


if __name__ == "__main__":
    main()
