"""scikit-learn oracles for models/heads/kmeans_test.cc and gmm_test.cc, made at build time.

Writes one JSON file (the path is the only argument):
  "kmeans": [{"name", "x" [N][D] (float64), "init" [k][D], "centers", "labels", "inertia",
              "n_iter"}, ...]
      KMeans(k, init=<init>, n_init=1) (scikit-learn 1.2, algorithm="lloyd", tol=1e-4): from the
      same starting centres fauna's Lloyd iterations must reach the same centres and labels.
      "blobs5" has 5 features (fauna's plain assignment), "blobs40" 40 (Hamerly's bounds), and
      "empty" starts one centre far from every point (a cluster that empties and is moved).
  "kmeans_best": {"x", "k", "inertia", "centers"}: KMeans(k, n_init=10) on well separated blobs,
      whose best inertia any decent seeding reaches.
  "kmeans_seeding": {"x", "k", "inertias"}: KMeans(k, n_init=1, random_state=s).inertia_ for
      s = 0..39 on overlapping blobs, where seeds land in different local minima: fauna's
      k-means++ must do as well on average.
  "gmm": [{"name", "covariance_type", "x", "k", "init_labels", "weights", "means",
           "covariances", "lower_bound", "n_iter", "score", "bic", "proba" [N][k],
           "predict"}, ...]
      GaussianMixture(k, covariance_type, random_state=0) with init_params="kmeans": its
      initial responsibilities are the one-hot rows of KMeans(k, n_init=1,
      random_state=RandomState(0)).labels_, recorded as init_labels (checked here against the
      mixture's own initial means), so fauna can start from the same point.
Every draw comes from numpy.random.default_rng or a fixed random_state.
"""
import json
import sys
import warnings

import numpy as np
from sklearn.cluster import KMeans
from sklearn.datasets import make_blobs
from sklearn.mixture import GaussianMixture


def kmeans_case(name, x, init):
    model = KMeans(n_clusters=len(init), init=init, n_init=1).fit(x)
    return {"name": name, "x": x.tolist(), "init": np.asarray(init).tolist(),
            "centers": model.cluster_centers_.tolist(), "labels": model.labels_.tolist(),
            "inertia": float(model.inertia_), "n_iter": int(model.n_iter_)}


def gmm_case(name, x, k, covariance_type):
    labels = KMeans(n_clusters=k, n_init=1, random_state=np.random.RandomState(0)).fit(x).labels_
    start = GaussianMixture(k, covariance_type=covariance_type, random_state=0, max_iter=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        start.fit(x)
    resp = np.eye(k)[labels]
    means = resp.T @ x / (resp.sum(0) + 10 * np.finfo(float).eps)[:, None]
    assert np.allclose(start.means_, means), "GaussianMixture's k-means labels differ"
    model = GaussianMixture(k, covariance_type=covariance_type, random_state=0).fit(x)
    return {"name": name, "covariance_type": covariance_type, "x": x.tolist(), "k": k,
            "init_labels": labels.tolist(), "weights": model.weights_.tolist(),
            "means": model.means_.tolist(), "covariances": model.covariances_.tolist(),
            "lower_bound": float(model.lower_bound_), "n_iter": int(model.n_iter_),
            "converged": bool(model.converged_), "score": float(model.score(x)),
            "bic": float(model.bic(x)), "proba": model.predict_proba(x).tolist(),
            "predict": model.predict(x).tolist()}


def main():
    rng = np.random.default_rng(7)
    kmeans = []
    x5, _ = make_blobs(300, n_features=5, centers=4, cluster_std=2.5, random_state=1)
    kmeans.append(kmeans_case("blobs5", x5, x5[rng.choice(len(x5), 4, replace=False)]))
    x40, _ = make_blobs(400, n_features=40, centers=6, cluster_std=11.0, random_state=2)
    kmeans.append(kmeans_case("blobs40", x40, x40[rng.choice(len(x40), 6, replace=False)]))
    init = x5[rng.choice(len(x5), 3, replace=False)]
    init[2] = 1000.0
    kmeans.append(kmeans_case("empty", x5, init))

    xb, _ = make_blobs(500, n_features=8, centers=4, cluster_std=0.5, center_box=(-20, 20),
                       random_state=3)
    best = KMeans(4, n_init=10, random_state=0).fit(xb)
    kmeans_best = {"x": xb.tolist(), "k": 4, "inertia": float(best.inertia_),
                   "centers": best.cluster_centers_.tolist()}

    xs, _ = make_blobs(600, n_features=6, centers=12, cluster_std=2.0, center_box=(-8, 8),
                       random_state=4)
    inertias = [float(KMeans(8, n_init=1, random_state=s).fit(xs).inertia_) for s in range(40)]
    kmeans_seeding = {"x": xs.tolist(), "k": 8, "inertias": inertias}

    gmm = []
    xg = np.concatenate([rng.normal([0, 0, 0, 0], [1, 2, 0.5, 1], (150, 4)),
                         rng.normal([4, 1, 0, -2], [0.7, 1, 1, 0.3], (100, 4)),
                         rng.multivariate_normal([-3, 3, 2, 0], np.eye(4) + 0.8, 120)])
    gmm.append(gmm_case("diag", xg, 3, "diag"))
    gmm.append(gmm_case("full", xg, 3, "full"))
    gmm.append(gmm_case("diag_k5", xg, 5, "diag"))
    gmm.append(gmm_case("full_k5", xg, 5, "full"))

    with open(sys.argv[1], "w") as f:
        json.dump({"kmeans": kmeans, "kmeans_best": kmeans_best,
                   "kmeans_seeding": kmeans_seeding, "gmm": gmm}, f)


if __name__ == "__main__":
    main()
