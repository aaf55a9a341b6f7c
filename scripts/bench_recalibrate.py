"""Batch norm recalibration (``structured.batchnorm.recalibrate``) against the way it was done
before: one probe model per batch norm, each ``predict``-ed (a traced function per batch norm,
and a cost quadratic in depth). Prints the time of each and the largest difference between the
statistics they set.

    python scripts/bench_recalibrate.py [--samples=128] [model.keras|model.h5 ...]

Without files: the external ResNet-20 in ../shared/data (if present), a Keras 3 MobileNetV2
(alpha 0.35, 96x96, random weights) and a tf_keras MobileNet (alpha 0.75, 224x224, random)."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tfcompress import flavor  # noqa: E402
from tfcompress._keras import keras  # noqa: E402
from tfcompress.structured import batchnorm, flatten  # noqa: E402
from tfcompress.structured.graph import kind, operations  # noqa: E402


def per_probe(model, x, batch_size=64):
    """The previous implementation, kept here as the reference."""
    k = flavor.module(model)
    for bn, nodes in operations(model):
        if kind(bn) != "BatchNormalization" or len(nodes) != 1:
            continue
        axis = bn.axis[0] if isinstance(bn.axis, (list, tuple)) else bn.axis
        h = np.asarray(k.Model(model.inputs, bn.input).predict(x, batch_size=batch_size,
                                                               verbose=0), dtype="float64")
        if axis not in (-1, h.ndim - 1):
            continue
        flat = h.reshape(-1, h.shape[-1])
        weights = bn.get_weights()
        at = int(bn.scale) + int(bn.center)
        weights[at] = flat.mean(axis=0).astype(weights[at].dtype)
        weights[at + 1] = flat.var(axis=0).astype(weights[at + 1].dtype)
        bn.set_weights(weights)


def models(paths):
    for p in paths:
        yield Path(p).name, lambda p=p: flatten.flatten(keras.models.load_model(p, compile=False))
    if paths:
        return
    ext = Path(__file__).resolve().parents[2] / "shared" / "data" / \
        "resnet20_cifar10_external.h5"
    if ext.is_file():
        yield "external ResNet-20 (tf_keras)", lambda: keras.models.load_model(ext,
                                                                               compile=False)
    import keras as k3

    yield "MobileNetV2 a0.35 96x96 (Keras 3)", lambda: k3.applications.MobileNetV2(
        input_shape=(96, 96, 3), alpha=0.35, weights=None)
    yield "MobileNet a0.75 224x224 (tf_keras)", lambda: keras.applications.MobileNet(
        input_shape=(224, 224, 3), alpha=0.75, weights=None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=128)
    parser.add_argument("files", nargs="*")
    args = parser.parse_args()
    print("| model | batch norms | per-probe predict (before) | one eager pass (now) | "
          "largest difference |")
    print("|---|---|---|---|---|")
    for name, make in models(args.files):
        a, b = make(), make()
        b.set_weights(a.get_weights())
        x = np.random.default_rng(0).normal(
            size=(args.samples, *a.inputs[0].shape[1:])).astype("float32")
        t = time.perf_counter()
        per_probe(a, x)
        before = time.perf_counter() - t
        t = time.perf_counter()
        n = batchnorm.recalibrate(b, x)
        now = time.perf_counter() - t
        diff = max(float(np.max(np.abs(p - q))) for p, q in zip(a.get_weights(),
                                                                 b.get_weights()))
        print(f"| {name} | {n} | {before:.1f} s | {now:.1f} s | {diff:.2g} |", flush=True)


if __name__ == "__main__":
    main()
