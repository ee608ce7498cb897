"""Exact KNN-Shapley values from pyDVL, the independent implementation QSPP is checked against.

usage: pydvl_knn_shapley.py TRAIN.csv VALIDATION.csv K OUT.csv [JOBS]
CSV rows are features then an integer label. Prints the seconds pyDVL took to stderr.
"""
import sys
import time
import warnings

warnings.filterwarnings("ignore")

import numpy as np
from joblib import parallel_config
from pydvl.valuation.dataset import Dataset
from pydvl.valuation.methods.knn_shapley import KNNShapleyValuation
from sklearn.neighbors import KNeighborsClassifier


def load(path):
    data = np.loadtxt(path, delimiter=",", ndmin=2)
    return data[:, :-1], data[:, -1].astype(int)


def main():
    train_path, valid_path, k, out_path = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    jobs = int(sys.argv[5]) if len(sys.argv) > 5 else 1
    x_train, y_train = load(train_path)
    x_valid, y_valid = load(valid_path)
    train = Dataset(x_train, y_train)
    valid = Dataset(x_valid, y_valid)
    started = time.perf_counter()
    valuation = KNNShapleyValuation(KNeighborsClassifier(n_neighbors=k), test_data=valid, progress=False)
    with parallel_config(n_jobs=jobs):
        valuation.fit(train)
    elapsed = time.perf_counter() - started
    values = valuation.result.values
    # The result may be sorted; put values back in training order.
    order = np.asarray(valuation.result.indices)
    ordered = np.empty(len(values))
    ordered[order] = values
    np.savetxt(out_path, ordered, fmt="%.17g")
    print(f"{elapsed:.6f}", file=sys.stderr)


if __name__ == "__main__":
    main()
