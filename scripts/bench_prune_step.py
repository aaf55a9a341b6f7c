#!/usr/bin/env python3
"""What does pruning cost per training step? Plain fine-tuning against pruning-wrapped
fine-tuning, on the Keras 3 path (``tfcompress.sparsity``) and the tfmot path (tf_keras), for the
MNIST CNN and ResNet-20, same batch, in one process.

Each round fits every configuration for ``--steps`` steps (after one warm-up round that
compiles the train functions) and records every step's wall time with a callback; the rounds
interleave the configurations, so a burst of load falls on all of them. The masks update every
``--frequency`` steps, as a recipe's schedule does; those steps are included (``mean``) and
the typical step is the median (``p50``). Prints a table and the ratio to the plain step of the
same Keras.

    python scripts/bench_prune_step.py                 # both models, 5 rounds of 50 steps
    python scripts/bench_prune_step.py --models=mnist_cnn --rounds=3

Inputs are random (a step's time does not depend on the values); nothing is downloaded.
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

SHAPES = {"mnist_cnn": ((28, 28, 1), 10), "resnet20": ((32, 32, 3), 10)}


class StepTimes:
    """Records the wall time of every training step (a callback of either Keras)."""

    def __init__(self, base: type):
        class Recorder(base):
            def __init__(self):
                super().__init__()
                self.times: list[float] = []

            def on_train_batch_begin(self, batch, logs=None):
                self._t = time.perf_counter()

            def on_train_batch_end(self, batch, logs=None):
                self.times.append(time.perf_counter() - self._t)

        self.callback = Recorder()


def configs(name: str, frequency: int) -> dict[str, tuple]:
    """name -> (model, keras module, extra callbacks) for the four ways to fine-tune."""
    import keras

    from tfcompress import sparsity
    from tfcompress._keras import keras as tf_keras
    from tfcompress._keras import tfmot
    from tfcompress.models import MODELS, keras3

    shape, classes = SHAPES[name]
    tf_keras.utils.set_random_seed(0)
    base2 = MODELS.get(name)(shape, classes)
    base3 = keras3.to_keras3(base2)
    end = 100 * frequency
    wrapped3 = sparsity.prune_low_magnitude(
        base3, sparsity.PolynomialDecay(0.0, 0.8, 0, end, frequency=frequency))
    wrapped2 = tfmot.sparsity.keras.prune_low_magnitude(
        base2, pruning_schedule=tfmot.sparsity.keras.PolynomialDecay(
            0.0, 0.8, 0, end, frequency=frequency))
    plain2 = tf_keras.models.clone_model(base2)
    plain3 = keras.models.clone_model(base3)
    return {
        "keras3 plain": (plain3, keras, []),
        "keras3 tfcompress.sparsity": (wrapped3, keras, [sparsity.UpdatePruningStep()]),
        "tf_keras plain": (plain2, tf_keras, []),
        "tf_keras tfmot": (wrapped2, tf_keras, [tfmot.sparsity.keras.UpdatePruningStep()]),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default="mnist_cnn,resnet20")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--steps", type=int, default=50)
    ap.add_argument("--batch_size", type=int, default=128)
    ap.add_argument("--frequency", type=int, default=100)
    args = ap.parse_args()
    for name in args.models.split(","):
        if name not in SHAPES:
            raise SystemExit(f"--models: {name!r} is not one of {sorted(SHAPES)}")
    rng = np.random.default_rng(0)
    print(f"batch {args.batch_size}, {args.rounds} rounds x {args.steps} steps, masks updated "
          f"every {args.frequency} steps; per-step wall time in ms")
    print(f"{'model':10} {'configuration':28} {'p50':>8} {'mean':>8} {'x plain p50':>12}")
    for name in args.models.split(","):
        shape, classes = SHAPES[name]
        n = args.batch_size * args.steps
        x = rng.uniform(0, 1, size=(n, *shape)).astype("float32")
        y = rng.integers(0, classes, size=n)
        runs = configs(name, args.frequency)
        times: dict[str, list[float]] = {k: [] for k in runs}
        for model, kmod, _ in runs.values():
            model.compile(kmod.optimizers.SGD(0.01), "sparse_categorical_crossentropy")
        for r in range(args.rounds + 1):
            for label, (model, kmod, extra) in runs.items():
                rec = StepTimes(kmod.callbacks.Callback).callback
                model.fit(x, y, batch_size=args.batch_size, epochs=1, verbose=0,
                          shuffle=False, callbacks=[*extra, rec])
                if r:  # round 0 warms up (tracing, compilation)
                    times[label].extend(rec.times)
        plain = {k.split()[0]: float(np.median(times[k])) for k in times if k.endswith("plain")}
        for label, t in times.items():
            p50, mean = float(np.median(t)) * 1e3, float(np.mean(t)) * 1e3
            ratio = p50 / (plain[label.split()[0]] * 1e3)
            print(f"{name:10} {label:28} {p50:8.2f} {mean:8.2f} {ratio:11.2f}x", flush=True)


if __name__ == "__main__":
    main()
