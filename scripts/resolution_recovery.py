"""How a model at a smaller image side recovers, one recovery setting at a time (issue 28's
hand-run arms beside ``mobilenet_fast``'s ``res2x_float32``).

    python scripts/resolution_recovery.py MODEL.keras SIDE EPOCHS LR [--kd] [--bn] \\
        [--recal] [--keep_frozen] [--experiment=mobilenet_fast] [--data_dir=../shared/data]

``MODEL.keras``: a trained model of the experiment (e.g. its run folder's keras/float32.keras).
Prints the test accuracy before and after fine-tuning at ``SIDE`` (Adam, the rate falling along
a cosine). Every layer but the batch norms is trained, as the pipeline fine-tunes a pruned
transfer backbone. ``--kd``: distilled from the model at its own side; ``--bn``: batch norms in
training mode; ``--recal``: every batch norm's moving statistics measured again at ``SIDE`` on
512 training images first, as structured pruning does after a rebuild; ``--keep_frozen``: only
the layers the file holds trainable (the blocks the transfer recipe unfroze, and the head)."""

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
    p.add_argument("--recal", action="store_true")
    p.add_argument("--keep_frozen", action="store_true")
    p.add_argument("--experiment", default="mobilenet_fast")
    p.add_argument("--data_dir", default="../shared/data")
    a = p.parse_args()

    from tfcompress import catalogue
    from tfcompress._keras import keras
    from tfcompress.data import dataset
    from tfcompress.distill import distiller_of
    from tfcompress.prune.methods import resolution
    from tfcompress.recipe import TrainSpec
    from tfcompress.structured import batchnorm, flatten
    from tfcompress.train import freeze, loop

    recipe = catalogue.experiment(a.experiment).for_profile("quick")
    data = dataset.load(recipe.data, a.data_dir, offline=True)
    teacher = keras.models.load_model(a.model, compile=False)
    model = resolution.at_side(flatten.flatten(keras.models.load_model(a.model, compile=False)),
                               a.side)
    if a.bn:
        for layer in model.layers:
            if isinstance(layer, keras.layers.BatchNormalization):
                layer.trainable = True
    if not a.keep_frozen:
        freeze.unfreeze_all(model)
    if a.recal:
        import numpy as np

        pick = np.random.default_rng(0).permutation(len(data.x_train))[:512]
        print(f"before recalibration: {100 * loop.accuracy(model, data.x_test, data.y_test):.2f}%")
        batchnorm.recalibrate(model, data.x_train[np.sort(pick)])
    before = loop.accuracy(model, data.x_test, data.y_test)
    spec = TrainSpec(epochs=a.epochs, batch_size=32, optimizer="adam", learning_rate=a.lr,
                     lr_schedule="cosine")
    target = distiller_of(model)(model, teacher, alpha=1.0, temperature=4.0) if a.kd else model
    start = time.monotonic()
    with tempfile.TemporaryDirectory() as work:
        loop.fit(target, data, spec, work_dir=Path(work), seed=0)
    print(f"side {a.side}, {a.epochs} epochs, lr {a.lr:g}{', KD' if a.kd else ''}"
          f"{', batch norm training' if a.bn else ''}"
          f"{', batch norms recalibrated' if a.recal else ''}"
          f"{', lower blocks frozen' if a.keep_frozen else ''}: "
          f"test accuracy {100 * before:.2f}% -> "
          f"{100 * loop.accuracy(model, data.x_test, data.y_test):.2f}% "
          f"({time.monotonic() - start:.0f} s)")


if __name__ == "__main__":
    main()
