"""VaDE in a plain PyTorch loop: the peer of fauna's deep-clustering trainer (issue 13).

The network and schedule the issue describes: 784-500-500-2000-10 MLP encoder and mirrored
decoder, Bernoulli likelihood on pixels / 255, batch 256, Adam (lr 2e-3 pretraining, 2e-3 VaDE as
the reference code, decayed 0.9 every 10 epochs); autoencoder pretraining (reconstruction only,
z = mean), a diagonal GMM (scikit-learn, n_init restarts) fitted on the pretrained codes to start
the prior, then VaDE epochs. Every epoch prints one JSON line with its seconds and, for VaDE
epochs, ACC (Hungarian) / NMI / ARI on all images.

  /usr/bin/python3 bench/vade_peer.py --pretrain_epochs=20 --epochs=50 --threads=2
  /usr/bin/python3 bench/vade_peer.py --pretrain_epochs=20 --epochs=0 --save_codes=/tmp/codes.safetensors
"""
import argparse
import json
import math
import os
import sys
import time

import numpy as np
import torch
from scipy.optimize import linear_sum_assignment
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score
from sklearn.mixture import GaussianMixture

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import features_io  # noqa: E402


def cluster_acc(labels, pred):
    k = max(labels.max(), pred.max()) + 1
    counts = np.zeros((k, k), dtype=np.int64)
    np.add.at(counts, (pred, labels), 1)
    rows, cols = linear_sum_assignment(-counts)
    return counts[rows, cols].sum() / len(labels)


def scores(labels, pred):
    return {"acc": round(float(cluster_acc(labels, pred)), 4),
            "nmi": round(float(normalized_mutual_info_score(labels, pred)), 4),
            "ari": round(float(adjusted_rand_score(labels, pred)), 4)}


class VaDE(torch.nn.Module):
    def __init__(self, dims=(784, 500, 500, 2000), latent=10, k=10):
        super().__init__()
        enc, dec = [], []
        for a, b in zip(dims[:-1], dims[1:]):
            enc += [torch.nn.Linear(a, b), torch.nn.ReLU()]
        rdims = list(reversed(dims))
        dec += [torch.nn.Linear(latent, rdims[0]), torch.nn.ReLU()]
        for i, (a, b) in enumerate(zip(rdims[:-1], rdims[1:])):
            dec += [torch.nn.Linear(a, b)]
            if i + 2 < len(rdims):
                dec += [torch.nn.ReLU()]
        self.encoder = torch.nn.Sequential(*enc)
        self.mean = torch.nn.Linear(dims[-1], latent)
        self.log_var = torch.nn.Linear(dims[-1], latent)
        self.decoder = torch.nn.Sequential(*dec)
        self.pi_logits = torch.nn.Parameter(torch.zeros(k))
        self.mu_c = torch.nn.Parameter(torch.zeros(k, latent))
        self.log_var_c = torch.nn.Parameter(torch.zeros(k, latent))

    def encode(self, x):
        h = self.encoder(x)
        return self.mean(h), self.log_var(h)

    def log_pz_c(self, z):  # [N, K]: log pi_c + log N(z | mu_c, var_c)
        var = self.log_var_c.exp()
        d = (z.unsqueeze(1) - self.mu_c.unsqueeze(0)) ** 2 / var.unsqueeze(0)
        log_n = -0.5 * (math.log(2 * math.pi) * z.shape[1] + self.log_var_c.sum(1) + d.sum(2))
        return torch.log_softmax(self.pi_logits, 0) + log_n

    def loss(self, x):
        mu, log_var = self.encode(x)
        z = mu + torch.randn_like(mu) * (0.5 * log_var).exp()
        logits = self.decoder(z)
        recon = torch.nn.functional.binary_cross_entropy_with_logits(
            logits, x, reduction="none").sum(1)
        gamma = torch.softmax(self.log_pz_c(z), 1)
        var_c = self.log_var_c.exp()
        term = (self.log_var_c.unsqueeze(0) + log_var.exp().unsqueeze(1) / var_c.unsqueeze(0)
                + (mu.unsqueeze(1) - self.mu_c.unsqueeze(0)) ** 2 / var_c.unsqueeze(0)).sum(2)
        log_pi = torch.log_softmax(self.pi_logits, 0)
        kl = (0.5 * (gamma * term).sum(1) - (gamma * (log_pi.unsqueeze(0)
              - torch.log(gamma + 1e-10))).sum(1) - 0.5 * (1 + log_var).sum(1))
        return (recon + kl).mean()

    @torch.no_grad()
    def predict(self, x):
        mu, _ = self.encode(x)
        return self.log_pz_c(mu).argmax(1)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pretrain_epochs", type=int, default=20)
    parser.add_argument("--epochs", type=int, default=50)
    parser.add_argument("--batch_size", type=int, default=256)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--n_init", type=int, default=1)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--count", type=int, default=0, help="first N images only (0: 70,000)")
    parser.add_argument("--save_codes", default="", help="write the pretrained codes here")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)

    train_x, train_y = features_io.fashion_mnist("train")
    test_x, test_y = features_io.fashion_mnist("t10k")
    x = torch.from_numpy(np.concatenate([train_x, test_x]).reshape(-1, 784).astype(np.float32) / 255)
    y = np.concatenate([train_y, test_y])
    if args.count:
        x, y = x[:args.count], y[:args.count]
    n = x.shape[0]
    model = VaDE()

    def batches():
        order = torch.randperm(n)
        for i in range(0, n, args.batch_size):
            yield x[order[i:i + args.batch_size]]

    @torch.no_grad()
    def codes():
        return torch.cat([model.encode(x[i:i + 4096])[0] for i in range(0, n, 4096)]).numpy()

    ae_params = [p for name, p in model.named_parameters() if not name.endswith("_c") and
                 name != "pi_logits"]
    opt = torch.optim.Adam(ae_params, lr=args.lr)
    for epoch in range(1, args.pretrain_epochs + 1):
        start, total = time.time(), 0.0
        for xb in batches():
            mu, _ = model.encode(xb)
            loss = torch.nn.functional.binary_cross_entropy_with_logits(
                model.decoder(mu), xb, reduction="none").sum(1).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * xb.shape[0]
        print(json.dumps({"phase": "pretrain", "epoch": epoch, "loss": round(total / n, 3),
                          "seconds": round(time.time() - start, 2)}), flush=True)

    z = codes()
    if args.save_codes:
        features_io.write_features(args.save_codes, z, y, features_io.FASHION_CLASSES,
                                   model="vade_peer_ae", layer="latent")
    start = time.time()
    gmm = GaussianMixture(10, covariance_type="diag", n_init=args.n_init,
                          random_state=args.seed).fit(z)
    pred = gmm.predict(z)
    print(json.dumps({"phase": "gmm_init", "seconds": round(time.time() - start, 2),
                      **scores(y, pred)}), flush=True)
    with torch.no_grad():
        model.pi_logits.copy_(torch.from_numpy(np.log(gmm.weights_)).float())
        model.mu_c.copy_(torch.from_numpy(gmm.means_).float())
        model.log_var_c.copy_(torch.from_numpy(np.log(gmm.covariances_)).float())

    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    sched = torch.optim.lr_scheduler.StepLR(opt, 10, 0.9)
    for epoch in range(1, args.epochs + 1):
        start, total = time.time(), 0.0
        model.train()
        for xb in batches():
            loss = model.loss(xb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * xb.shape[0]
        sched.step()
        seconds = time.time() - start
        pred = torch.cat([model.predict(x[i:i + 4096]) for i in range(0, n, 4096)]).numpy()
        print(json.dumps({"phase": "vade", "epoch": epoch, "loss": round(total / n, 3),
                          "seconds": round(seconds, 2), **scores(y, pred)}), flush=True)


if __name__ == "__main__":
    main()
