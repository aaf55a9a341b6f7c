#!/usr/bin/env python3
"""``quantize.tflite.convert`` against ``TFLiteConverter.from_keras_model``: byte for byte.

``convert`` writes a Keras 2 model's SavedModel itself (the serving signature alone) instead
of letting ``from_keras_model`` write one with Keras' traces of every layer, which the
converter never reads. This converts each model below in every export mode both ways, prints
whether the files are the same bytes and both times, and exits 1 when any file differs.

    python scripts/conversion_parity.py            # every model family, every export mode
    python scripts/conversion_parity.py --quick    # three models, three modes
"""

from __future__ import annotations

import argparse
import sys
import time
from unittest import mock


def models(quick: bool):
    """(name, model, calibration inputs): registered families at small sizes, a model pruned
    and stripped by tfmot, a quantization-aware-trained one, a keras.applications model."""
    import numpy as np

    from tfcompress._keras import keras, tfmot
    from tfcompress.models import build

    rng = np.random.default_rng(0)
    shapes = {"mnist": (28, 28, 1), "cifar": (32, 32, 3)}
    families = [("lenet_300_100", "mnist", {}), ("lenet5", "mnist", {}),
                ("mnist_cnn", "mnist", {}), ("digits_cnn", "mnist", {}),
                ("conv2", "cifar", {}), ("resnet", "cifar", {"depth": 8, "widths": [4, 8, 16]}),
                ("preact_resnet20", "cifar", {}), ("resnet18", "cifar", {}),
                ("tiny_mobilenet", "cifar", {})]
    if quick:
        families = [families[0], families[5]]
    for name, data, options in families:
        shape = shapes[data]
        yield name, build(name, shape, 10, options), rng.random((32,) + shape, "float32")

    x = rng.random((32, 32, 32, 3), "float32")
    base = build("conv2", (32, 32, 3), 10, {})
    schedule = tfmot.sparsity.keras.ConstantSparsity(0.5, 0)
    pruned = tfmot.sparsity.keras.prune_low_magnitude(base, pruning_schedule=schedule)
    pruned.compile("adam", "sparse_categorical_crossentropy")
    pruned.fit(x, rng.integers(0, 10, 32), epochs=1, verbose=0,
               callbacks=[tfmot.sparsity.keras.UpdatePruningStep()])
    yield "conv2 pruned 50% (stripped)", tfmot.sparsity.keras.strip_pruning(pruned), x
    if quick:
        return
    yield "conv2 QAT", tfmot.quantization.keras.quantize_model(build("conv2", (32, 32, 3), 10,
                                                                      {})), x
    yield "MobileNet 0.25 (keras.applications)", keras.applications.MobileNet(
        input_shape=(96, 96, 3), alpha=0.25, weights=None, classes=2), rng.random(
            (32, 96, 96, 3), "float32")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="three models, three modes")
    args = ap.parse_args()

    from tfcompress._keras import tf
    from tfcompress.quantize import EXPORT_MODES, tflite
    from tfcompress.recipe import ExportSpec

    modes = ["float32", "dynamic", "int8"] if args.quick else list(EXPORT_MODES.names())
    differ = 0
    slow_total = fast_total = 0.0
    print(f"{'model':40s} {'mode':15s} {'same bytes':>10s} {'from_keras_model':>17s} "
          f"{'convert':>8s}")
    for name, model, x in models(args.quick):
        for mode in modes:
            if name.endswith("QAT") and mode not in ("int8", "int8_sparse", "float32"):
                continue
            spec = ExportSpec(mode, calibration_samples=16)
            t = time.perf_counter()
            fast = tflite.convert(model, spec, x)
            fast_s = time.perf_counter() - t
            with mock.patch.object(tflite, "_converter", lambda m, tmp:
                                   tf.lite.TFLiteConverter.from_keras_model(m)):
                t = time.perf_counter()
                slow = tflite.convert(model, spec, x)
                slow_s = time.perf_counter() - t
            same = fast == slow
            differ += not same
            slow_total += slow_s
            fast_total += fast_s
            print(f"{name:40s} {mode:15s} {'yes' if same else 'NO':>10s} {slow_s:16.1f}s "
                  f"{fast_s:7.1f}s", flush=True)
    print(f"total: from_keras_model {slow_total:.0f} s, convert {fast_total:.0f} s; "
          f"{differ} file(s) differ")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
