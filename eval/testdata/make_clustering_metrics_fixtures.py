"""scikit-learn / scipy oracles for eval/clustering_metrics_test.cc, made at build time.

Writes one JSON file (the path is the only argument) holding
  "scores":     [{"name", "labels_true", "labels_pred", "accuracy", "nmi", "ari",
                  "matching": [[cluster, class], ...]}, ...]
  "assignment": [{"name", "rows", "cols", "cost" (row-major), "maximize",
                  "col_of_row" (-1 where unmatched), "total"}, ...]
accuracy is the Hungarian cluster accuracy: scipy's linear_sum_assignment(maximize=True) on the
contingency matrix with clusters as rows and classes as columns; nmi is
normalized_mutual_info_score (arithmetic mean), ari adjusted_rand_score. Every draw comes from
numpy.random.default_rng with a fixed seed, so the file is the same on every run.
"""
import json
import sys

import numpy as np
from scipy.optimize import linear_sum_assignment
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score
from sklearn.metrics.cluster import contingency_matrix


def score_case(name, labels_true, labels_pred):
    labels_true = np.asarray(labels_true, dtype=np.int64)
    labels_pred = np.asarray(labels_pred, dtype=np.int64)
    clusters, classes = np.unique(labels_pred), np.unique(labels_true)
    table = contingency_matrix(labels_pred, labels_true)  # rows: clusters, columns: classes
    rows, cols = linear_sum_assignment(table, maximize=True)
    return {
        "name": name,
        "labels_true": labels_true.tolist(),
        "labels_pred": labels_pred.tolist(),
        "accuracy": float(table[rows, cols].sum() / len(labels_true)),
        "nmi": float(normalized_mutual_info_score(labels_true, labels_pred)),
        "ari": float(adjusted_rand_score(labels_true, labels_pred)),
        "matching": [[int(clusters[r]), int(classes[c])] for r, c in zip(rows, cols)],
    }


def assignment_case(name, cost, maximize):
    cost = np.asarray(cost, dtype=np.float64)
    rows, cols = linear_sum_assignment(cost, maximize=maximize)
    col_of_row = [-1] * cost.shape[0]
    for r, c in zip(rows, cols):
        col_of_row[int(r)] = int(c)
    return {"name": name, "rows": cost.shape[0], "cols": cost.shape[1],
            "cost": cost.ravel().tolist(), "maximize": maximize, "col_of_row": col_of_row,
            "total": float(cost[rows, cols].sum())}


def main():
    rng = np.random.default_rng(20240601)
    scores = []
    base = [0, 0, 0, 1, 1, 1, 2, 2, 2, 2]
    scores.append(score_case("identical", base, base))
    scores.append(score_case("permuted_ids", base, [2, 2, 2, 0, 0, 0, 1, 1, 1, 1]))
    scores.append(score_case("one_cluster", base, [0] * 10))
    scores.append(score_case("one_class", [5] * 10, [0, 1, 1, 2, 2, 2, 3, 3, 3, 3]))
    scores.append(score_case("one_cluster_one_class", [3] * 7, [9] * 7))
    scores.append(score_case("all_singletons", base, list(range(10))))
    scores.append(score_case("both_singletons", list(range(8)), list(range(7, -1, -1))))
    scores.append(score_case("one_sample", [4], [-2]))
    scores.append(score_case("two_samples_split", [0, 0], [0, 1]))
    scores.append(score_case("non_contiguous", [-5, -5, 3, 3, 100, 100, 100, 7],
                             [42, 42, 42, -1, -1, 1000, 1000, 7]))
    scores.append(score_case("more_clusters_than_classes", [0, 0, 0, 0, 1, 1, 1, 1, 1, 1],
                             [0, 0, 1, 2, 3, 3, 3, 4, 4, 5]))
    scores.append(score_case("fewer_clusters_than_classes", [0, 1, 2, 3, 4, 0, 1, 2, 3, 4, 4],
                             [0, 0, 1, 1, 1, 0, 0, 1, 1, 1, 1]))
    scores.append(score_case("independent", [0, 1] * 20, [0] * 20 + [1] * 20))
    for i in range(40):
        n = int(rng.integers(2, 3000))
        k_true = int(rng.integers(1, 16))
        k_pred = int(rng.integers(1, 16))
        labels_true = rng.integers(0, k_true, n)
        # Mostly agreeing labelings (as a decent clustering gives) with noise and shifted ids.
        labels_pred = (labels_true * 7 + 3) % max(k_pred, 1)
        noisy = rng.random(n) < rng.random()
        labels_pred[noisy] = rng.integers(0, k_pred, int(noisy.sum()))
        labels_pred = labels_pred * int(rng.integers(1, 5)) - int(rng.integers(0, 10))
        scores.append(score_case(f"random_{i}", labels_true, labels_pred))

    assignment = []
    assignment.append(assignment_case("doc_example", [[4, 1, 6], [2, 0, 5]], False))
    assignment.append(assignment_case("constant", np.ones((4, 4)), False))
    assignment.append(assignment_case("constant_wide_max", np.ones((3, 5)), True))
    for i in range(30):
        rows, cols = (int(v) for v in rng.integers(1, 12, 2))
        if i % 3 == 0:
            cost = rng.integers(0, 4, (rows, cols)).astype(np.float64)  # many ties
        elif i % 3 == 1:
            cost = rng.integers(0, 1000, (rows, cols)).astype(np.float64)
        else:
            cost = rng.normal(size=(rows, cols)) * 10
        assignment.append(assignment_case(f"random_{i}", cost, bool(i % 2)))

    with open(sys.argv[1], "w") as f:
        json.dump({"scores": scores, "assignment": assignment}, f)


if __name__ == "__main__":
    main()
