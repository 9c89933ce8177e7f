#!/usr/bin/python3
"""A stand-in for a training binary in seed_stability_test: it follows the trainers' contract
(--seed, --run_dir, --progress, --resume, --flagfile; metrics.jsonl appended per epoch,
checkpoint.pt after each epoch, results.json written atomically at the end) in milliseconds, with
numbers that depend on the seed alone.

Per seed: 2 pretraining epochs, then 6 clustering epochs (4 for seeds 2, 5, 8, ...: early
stopping). Its own flags, for the tests:
  --fail_seed=S         exit with code 3 (after 2 clustering epochs) when --seed is S
  --die_after_epoch=E   on a fresh run, log clustering epoch E + 1 without its checkpoint, then
                        SIGKILL itself (a run killed mid-epoch)
  --epoch_seconds=T     sleep T seconds per clustering epoch
Every run appends its arguments and process id to <run_dir>/invocations.jsonl.
"""
import json
import os
import signal
import sys
import time

KNOWN = {"seed", "run_dir", "progress", "resume", "flagfile", "fail_seed", "die_after_epoch",
         "epoch_seconds"}


def parse(argv):
    flags = {}
    for arg in argv:
        if not arg.startswith("--"):
            sys.exit("fake_trainer: unexpected argument %r" % arg)
        name, _, value = arg[2:].partition("=")
        if name not in KNOWN:
            sys.exit("fake_trainer: unknown flag --%s" % name)
        flags[name] = value if "=" in arg else "true"
    return flags


def write_atomically(path, text):
    with open(path + ".tmp", "w") as f:
        f.write(text)
    os.replace(path + ".tmp", path)


def val_acc(seed, epoch):
    # Seed 4 collapses after epoch 3, as GMVAE does.
    if seed % 5 == 4 and epoch > 3:
        return round(1 / 3 + 0.001 * epoch, 6)
    return round(0.40 + 0.05 * epoch - 0.004 * epoch * epoch + 0.01 * (seed % 7), 6)


def main():
    flags = parse(sys.argv[1:])
    for required in ("seed", "run_dir"):
        if required not in flags:
            sys.exit("fake_trainer: --%s is required" % required)
    if flags.get("progress") != "false":
        sys.exit("fake_trainer: wants --progress=false from the runner")
    if "flagfile" in flags and not os.path.isfile(flags["flagfile"]):
        sys.exit("fake_trainer: no flagfile %s" % flags["flagfile"])
    seed = int(flags["seed"])
    run_dir = flags["run_dir"]
    resume = flags.get("resume") == "true"
    os.makedirs(run_dir, exist_ok=True)
    with open(os.path.join(run_dir, "invocations.jsonl"), "a") as f:
        f.write(json.dumps({"argv": sys.argv[1:], "pid": os.getpid()}) + "\n")
    print("fake_trainer: seed %d%s" % (seed, " (resuming)" if resume else ""))
    sys.stdout.flush()

    checkpoint = os.path.join(run_dir, "checkpoint.pt")
    metrics_path = os.path.join(run_dir, "metrics.jsonl")
    done = 0
    if resume and os.path.exists(checkpoint):
        with open(checkpoint) as f:
            done = json.load(f)["epoch"]
    elif not resume:
        write_atomically(metrics_path, "")
    metrics = open(metrics_path, "a")

    def log(record):
        metrics.write(json.dumps(record) + "\n")
        metrics.flush()

    if done == 0:
        for epoch in (1, 2):
            log({"phase": "pretrain", "epoch": epoch, "loss": 250.0 - 10 * epoch - seed,
                 "seconds": 0.01})
    epochs = 4 if seed % 3 == 2 else 6
    for epoch in range(done + 1, epochs + 1):
        if "fail_seed" in flags and int(flags["fail_seed"]) == seed and epoch == 3:
            print("fake_trainer: failing on purpose at epoch 3", file=sys.stderr)
            sys.exit(3)
        time.sleep(float(flags.get("epoch_seconds", "0")))
        acc = val_acc(seed, epoch)
        log({"phase": "cluster", "epoch": epoch, "loss": 200.0 - epoch, "train_acc": acc + 0.01,
             "val_acc": acc, "val_nmi": acc - 0.1, "seconds": 0.01})
        if not resume and "die_after_epoch" in flags and epoch == int(flags["die_after_epoch"]) + 1:
            os.kill(os.getpid(), signal.SIGKILL)
        write_atomically(checkpoint, json.dumps({"epoch": epoch}))
    acc = val_acc(seed, epochs)
    results = {"test": {"acc": acc - 0.02, "nmi": acc - 0.12, "ari": acc - 0.2},
               "seed": seed, "epochs_run": epochs}
    write_atomically(os.path.join(run_dir, "results.json"), json.dumps(results, indent=2) + "\n")
    print("fake_trainer: done")


if __name__ == "__main__":
    main()
