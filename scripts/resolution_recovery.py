"""How a model at a smaller image side recovers, one recovery setting at a time (issue 28's
hand-run arms beside ``mobilenet_fast``'s ``res2x_float32``).

    python scripts/resolution_recovery.py MODEL.keras SIDE EPOCHS LR [--kd] [--bn] \\
        [--experiment=mobilenet_fast] [--data_dir=../shared/data]

``MODEL.keras``: a trained model of the experiment (e.g. its run folder's keras/float32.keras).
Prints the test accuracy before and after fine-tuning at ``SIDE`` (Adam, the rate falling along
a cosine; ``--kd``: distilled from the model at its own side; ``--bn``: batch norms in training
mode)."""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("model")
    p.add_argument("side", type=int)
    p.add_argument("epochs", type=int)
    p.add_argument("lr", type=float)
    p.add_argument("--kd", action="store_true")
    p.add_argument("--bn", action="store_true")
    p.add_argument("--experiment", default="mobilenet_fast")
    p.add_argument("--data_dir", default="../shared/data")
    a = p.parse_args()

    from tfcompress import catalogue
    from tfcompress._keras import keras
    from tfcompress.data import dataset
    from tfcompress.distill import distiller_of
    from tfcompress.prune.methods import resolution
    from tfcompress.recipe import TrainSpec
    from tfcompress.structured import flatten
    from tfcompress.train import loop

    recipe = catalogue.experiment(a.experiment).for_profile("quick")
    data = dataset.load(recipe.data, a.data_dir, offline=True)
    teacher = keras.models.load_model(a.model, compile=False)
    model = resolution.at_side(flatten.flatten(keras.models.load_model(a.model, compile=False)),
                               a.side)
    if a.bn:
        for layer in model.layers:
            if isinstance(layer, keras.layers.BatchNormalization):
                layer.trainable = True
    before = loop.accuracy(model, data.x_test, data.y_test)
    spec = TrainSpec(epochs=a.epochs, batch_size=32, optimizer="adam", learning_rate=a.lr,
                     lr_schedule="cosine")
    target = distiller_of(model)(model, teacher, alpha=1.0, temperature=4.0) if a.kd else model
    start = time.monotonic()
    with tempfile.TemporaryDirectory() as work:
        loop.fit(target, data, spec, work_dir=Path(work), seed=0)
    print(f"side {a.side}, {a.epochs} epochs, lr {a.lr:g}{', KD' if a.kd else ''}"
          f"{', batch norm training' if a.bn else ''}: test accuracy {100 * before:.2f}% -> "
          f"{100 * loop.accuracy(model, data.x_test, data.y_test):.2f}% "
          f"({time.monotonic() - start:.0f} s)")


if __name__ == "__main__":
    main()
