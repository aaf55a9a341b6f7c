"""The Python API: compress the model you hold, or run a recipe. The CLI is a layer over it.

    import tfcompress
    result = tfcompress.compress(model, (x_train, y_train), sparsity=0.8)
    result.models["pruned80_int8"]     # the pruned Keras model
    result.tflite["pruned80_int8"]     # its int8 .tflite file
    result.rows                        # accuracy, size, latency of every variant
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tfcompress import errors
from tfcompress.errors import InputError, unknown_name
from tfcompress.recipe import (DataSpec, ExportSpec, ModelSpec, PruneSpec, Recipe, TrainSpec,
                               Variant, apply_overrides)

if TYPE_CHECKING:
    from tfcompress.report.row import Row

log = logging.getLogger("tfcompress")


@dataclass
class Result:
    """What a run made, with everything a notebook needs to go on.

    Attributes:
      run_dir: the run folder (report, plots, files).
      rows: one ``Row`` per variant (``report/row.py``; ``columns()`` is its line of
        ``results.csv``): accuracy of the Keras model and of the .tflite file, sizes,
        non-zeros, MACs, latency (``timing``), notes. A row also reads as a mapping of its
        CSV columns (``row["tflite_accuracy"]``).
      tflite: variant -> its .tflite file (with its input card ``.json`` beside it).
      keras_files: variant -> the compressed Keras model it was converted from (``.keras``).
      models: variant -> that Keras model, loaded on first access.
      ship: the variant the report says to ship (the smallest gzipped file within the
        recipe's ``ship_budget`` points of the baseline's accuracy, the fastest on a tie), or
        None when no file has an accuracy; ``ship_file`` is its .tflite file.
    """

    run_dir: Path
    rows: list[Row]
    tflite: dict[str, Path] = field(default_factory=dict)
    keras_files: dict[str, Path] = field(default_factory=dict)
    models: Mapping[str, Any] = field(default_factory=dict)
    ship: str | None = None

    @property
    def ship_file(self) -> Path | None:
        return self.tflite.get(self.ship) if self.ship is not None else None

    @property
    def report(self) -> Path:
        return self.run_dir / "report.md"

    def row(self, variant: str) -> Row:
        for r in self.rows:
            if r.variant == variant:
                return r
        raise unknown_name("variant", variant, [r.variant for r in self.rows])


class _LazyModels(Mapping[str, Any]):
    """Keras models loaded from their files when first asked for."""

    def __init__(self, files: Mapping[str, Path]):
        self._files = dict(files)
        self._loaded: dict[str, Any] = {}

    def __getitem__(self, name: str) -> Any:
        if name not in self._loaded:
            from tfcompress import flavor

            if name not in self._files:
                raise unknown_name("variant with a Keras model", name, self._files)
            self._loaded[name] = flavor.load_model(self._files[name])
        return self._loaded[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._files)

    def __len__(self) -> int:
        return len(self._files)


def run(recipe: Recipe | str, *, profile: str = "quick", output_dir: str | os.PathLike =
        "saved_models", data_dir: str | os.PathLike | None = None, offline: bool | None = None,
        overrides: Mapping[str, Any] | Iterable[str] = (), benchmark: str = "reuse") -> Result:
    """Runs a recipe (or a registered experiment by name) at ``profile``.

    Args:
      recipe: a ``Recipe`` or the name of a registered experiment.
      overrides: dotted-path changes, e.g. ``{"train.epochs": 3}`` or ``["train.epochs=3"]``.
      benchmark: the LiteRT timing: ``reuse`` (a timing of the same files on this machine,
        else time them), ``again`` (time them again) or ``short`` (at most 2 rounds of 10
        runs: quicker, noisier).

    Raises:
      InputError: an unknown name, a bad value or file; nothing has been written.
    """
    from tfcompress import catalogue

    if isinstance(recipe, str):
        recipe = catalogue.experiment(recipe)
    if not isinstance(recipe, Recipe):
        raise InputError(f"recipe must be a Recipe or an experiment name; received "
                         f"{type(recipe).__name__}")
    recipe = apply_overrides(recipe.for_profile(profile), overrides)  # refused before TF
    recipe = replace(recipe, benchmark=recipe.benchmark.in_mode(benchmark))
    check_files(recipe, data_dir, offline)
    log.info("running %s (%s profile)", recipe.name, profile)
    from tfcompress.pipeline import Pipeline

    if profile == "full":
        _warn_without_a_gpu(recipe)
    listed = ([f"{k}={v!r}" for k, v in overrides.items()] if isinstance(overrides, Mapping)
              else list(overrides))
    done = Pipeline(recipe, profile=profile, output_dir=output_dir, data_dir=data_dir,
                    offline=offline, overrides=listed).run()
    return _result(done.run_dir, done.rows, recipe)


def _warn_without_a_gpu(recipe: Recipe) -> None:
    """The ``full`` profile is paper scale: on a machine without a GPU, say so before it
    starts (``scripts/epoch_time.py`` sizes one epoch here)."""
    from tfcompress._keras import tf

    if tf.config.list_physical_devices("GPU"):
        return
    finetunes = sum(1 for v in recipe.variants if v.prune is not None)
    log.warning(
        "the full profile of %s is paper scale (%d training epochs, then %d per pruned "
        "variant, %d of them) and meant for a GPU; this machine has none, so expect hours to "
        "days (python scripts/epoch_time.py sizes one epoch here; %s)", recipe.name,
        recipe.train.epochs, recipe.finetune.epochs, finetunes,
        errors.fix(cli="--profile=quick takes minutes", python="profile='quick' takes minutes"))


def _result(run_dir: Path, rows: list[Row], recipe: Recipe) -> Result:
    from tfcompress.report import ship

    tflite = {r.variant: run_dir / "tflite" / f"{r.variant}.tflite" for r in rows}
    keras_files = {r.variant: run_dir / "keras" / f"{r.variant}.keras" for r in rows
                   if (run_dir / "keras" / f"{r.variant}.keras").is_file()}
    chosen = (ship.choose(rows, recipe.baseline, recipe.ship_budget)
              if any(r.variant == recipe.baseline for r in rows) else None)
    return Result(run_dir, rows, tflite, keras_files, _LazyModels(keras_files),
                  chosen.variant if chosen is not None else None)


def compress(model: Any, data: Any, *, test: Any = None, sparsity: float | None = None,
             method: str | None = None, speedup: float | None = None,
             exports: Sequence[str] = ("float32", "int8"),
             epochs: int = 2, batch_size: int = 32, learning_rate: float = 1e-3,
             optimizer: str = "adam", frequency: int | None = None,
             name: str = "compress", output_dir: str | os.PathLike = "saved_models",
             data_dir: str | os.PathLike | None = None, offline: bool | None = None,
             mean: Sequence[float] | None = None, std: Sequence[float] | None = None,
             image_size: Sequence[int] | None = None, pixel_range: str | None = None,
             overrides: Mapping[str, Any] | Iterable[str] = (),
             benchmark: str = "reuse") -> Result:
    """Prunes ``model`` to ``sparsity`` with a short fine-tune and exports it and the model as
    it is to TFLite (``exports``), measuring every file: the tfmot guide's job in one call.

    Args:
      model: a Keras model (tf_keras) in memory, or the path of a ``.keras``/``.h5`` file or
        SavedModel folder. A model in memory is saved once under the hash of its config and
        weights, so cached steps follow its content.
      data: training examples: ``(x, y)`` numpy arrays (pixels as the model takes them), a
        finite ``tf.data.Dataset`` of ``(x, y)``, a registered dataset name (``digits``,
        ``mnist``, ``cifar10``, ``cats_vs_dogs``) or an image folder / archive path.
      test: ``(x, y)`` (or a ``tf.data.Dataset``) to measure on; with arrays and no ``test``, a
        stratified 20% of ``data`` is held out.
      sparsity: the share of weights pruned (0 < sparsity < 1; default 0.5); with
        ``speedup``, the most any channel group may lose (default 0.9), or with
        ``method="resolution"`` the most of the image side (default 0.5).
      method: a pruning method (``gradual`` (tfmot, the default), ``oneshot``, ``iterative``,
        ``lottery``, ``snip``, ``m_by_n``, ``filters``, ``slimming``, ``resolution``).
      speedup: a speed target, e.g. ``2.0``: whole channels are removed (``filters``; each
        group's share from its measured sensitivity, widths in multiples of 8) until each
        exported file runs at least that much faster than the model as it is, exported the
        same way, measured on this machine; then it recovers by distillation from the model
        as it is (``prune.target_speedup``, ``scope: sensitivity``, ``round_to: 8``,
        ``recovery: distill``). With ``method="resolution"`` the model keeps every weight
        and sees a smaller image instead (its side in multiples of 8, searched the same way,
        then every layer fine-tuned on the labels, frozen ones too: ``finetune.unfreeze``):
        on an ImageNet backbone fine-tuned on little data, the one that keeps accuracy
        (docs/results.md).
      exports: TFLite modes, each made of the model as it is and of the pruned model
        (``float32``, ``float16``, ``dynamic``, ``int8``, ``int16x8``, ...).
      epochs, batch_size, learning_rate, optimizer: the fine-tuning after pruning.
      frequency: steps between tfmot mask updates (default: about 16 updates in the schedule).
      name: the run folder's name under ``output_dir``.
      mean, std, image_size: preprocessing of a named dataset or image folder.
      pixel_range: the range the model takes pixels in (``0-1``, ``0-255`` for a model that
        rescales them itself, ``-1-1``), for a named dataset or image folder.
      overrides: any other recipe field by dotted path, as ``--override`` takes it.
      benchmark: the LiteRT timing, as ``run`` takes it (``reuse``, ``again``, ``short``).

    Returns:
      A ``Result``: rows, ``.tflite`` paths, the Keras models, the report.

    Raises:
      InputError: a bad value, model or data, in one line; nothing has been written.
    """
    if not isinstance(exports, (list, tuple)) or not exports or len(set(exports)) != len(exports):
        raise InputError(f"exports must be a non-empty list of distinct TFLite modes; received "
                         f"{exports!r}")
    if speedup is not None and method not in (None, "filters", "resolution"):
        raise InputError(f"speedup removes whole channels (method 'filters') or shrinks the "
                         f"input image (method 'resolution'); received method={method!r}: "
                         f"drop it or pass one of those")
    method = method or ("filters" if speedup is not None else "gradual")
    if sparsity is None:
        sparsity = 0.5 if speedup is None or method == "resolution" else 0.9
    model_path = _model_file(model)
    spec = _data_spec(data, test, model_path, mean, std, image_size, pixel_range)
    pct = round(100 * sparsity) if isinstance(sparsity, (int, float)) else sparsity
    variants = [Variant(mode, ExportSpec(mode)) for mode in exports]
    if speedup is None:
        prune = PruneSpec(sparsity, method=method, frequency=frequency or "auto")
        variants += [Variant(f"pruned{pct}_{mode}", ExportSpec(mode), prune)
                     for mode in exports]
        what_was_done = f"pruned to {sparsity:.0%} ({method})"
    else:
        # the recipes that kept accuracy best at a measured speed (docs/results.md, issue 28)
        if method == "resolution":
            prune = PruneSpec(sparsity, method="resolution", target_speedup=speedup,
                              round_to=8, frequency=frequency or "auto")
            how = "a smaller input image"
        else:
            prune = PruneSpec(sparsity, method="filters", target_speedup=speedup,
                              scope="sensitivity", round_to=8, recovery="distill",
                              frequency=frequency or "auto")
            how = "whole channels removed"
        tag = f"{speedup:g}".replace(".", "_")  # a variant name is an identifier
        variants += [Variant(f"speedup{tag}x_{mode}", ExportSpec(mode), prune)
                     for mode in exports]
        what_was_done = f"made {speedup:g}x faster ({how}, measured)"
    what = Path(model_path).name if isinstance(model, (str, os.PathLike)) else "A Keras model"
    finetune = TrainSpec(epochs=epochs, batch_size=batch_size, optimizer=optimizer,
                         learning_rate=learning_rate)
    if method == "resolution":
        # every layer adapts to the smaller image, frozen ones too (docs/results.md)
        finetune = replace(finetune, unfreeze=True)
    recipe = Recipe(
        name=name,
        description=f"{what} {what_was_done} with {epochs} fine-tuning "
                    f"epoch(s); {', '.join(exports)} TFLite.",
        data=spec, model=ModelSpec("file", path=str(model_path)), train=TrainSpec(epochs=0),
        finetune=finetune, variants=tuple(variants), baseline=exports[0])
    return run(recipe, profile="quick", output_dir=output_dir, data_dir=data_dir,
               offline=offline, overrides=overrides, benchmark=benchmark)


def check_files(recipe: Recipe, data_dir: str | os.PathLike | None,
                offline: bool | None = None) -> None:
    """A missing or wrong model file, ImageNet weights that cannot be had, or a missing image
    folder, refused in one line before TensorFlow starts (the pipeline checks them again, and
    the rest, once it has)."""
    from tfcompress.data import image_folder
    from tfcompress.data.dataset import default_data_dir
    from tfcompress.models import imagenet, user_path

    if recipe.model.path:
        user_path.check(recipe.model.path)
    elif recipe.model.name == "file":
        raise InputError(user_path.needs_path())
    elif recipe.model.name == "transfer":
        imagenet.check(dict(recipe.model.options), recipe.data.image_size, data_dir, offline)
    if recipe.data.name == "image_folder" and recipe.data.path:
        image_folder.resolve(recipe.data.path,
                             Path(data_dir) if data_dir else default_data_dir())


def _model_file(model: Any) -> Path:
    """A model file to hand the pipeline: the user's own, or one saved by content hash."""
    if isinstance(model, (str, os.PathLike)):
        from tfcompress.models import user_path

        user_path.check(model)
        return Path(model)
    from tfcompress import atomic, flavor
    from tfcompress.data.dataset import cache_dir

    kind = flavor.which(model)
    if kind == flavor.KERAS3:
        from tfcompress._keras3 import keras
    else:
        from tfcompress._keras import keras
    if kind is None or not isinstance(model, keras.Model):
        raise InputError(f"model must be a Keras Model (Keras 3 or tf_keras) or the path of a "
                         f"model file; received {type(model).__module__}."
                         f"{type(model).__name__}")

    h = hashlib.sha256(model.to_json().encode())
    for w in model.get_weights():
        h.update(str(w.dtype).encode() + str(w.shape).encode() + w.tobytes())
    path = cache_dir() / "models" / f"model-{kind}-{h.hexdigest()[:24]}.keras"
    if not path.is_file():
        plain = keras.models.clone_model(model)  # without its optimizer state
        plain.set_weights(model.get_weights())
        atomic.write_with(path, plain.save)
    return path


def _data_spec(data: Any, test: Any, model_path: Path, mean: Any, std: Any,
               image_size: Any, pixel_range: Any = None) -> DataSpec:
    from tfcompress.data import DATASETS, arrays

    if isinstance(data, (str, os.PathLike)):
        if test is not None:
            raise InputError("test goes with arrays; a named dataset or folder brings its own")
        text = os.fspath(data)
        extra = {k: v for k, v in (("mean", mean), ("std", std), ("image_size", image_size),
                                   ("pixel_range", pixel_range)) if v is not None}
        if text in DATASETS and text not in ("image_folder", "arrays"):
            return DataSpec(text, **extra)
        return DataSpec("image_folder", path=text, **extra)
    if any(v is not None for v in (mean, std, image_size, pixel_range)):
        raise InputError("mean, std, image_size and pixel_range go with a named dataset or "
                         "image folder; arrays are used as given")
    rank = _model_rank(model_path)
    train = arrays.from_tf_data(data, rank) if _is_tf_data(data) else data
    held = arrays.from_tf_data(test, rank) if _is_tf_data(test) else test
    return DataSpec("arrays", path=str(arrays.save(train, held)))


def _is_tf_data(value: Any) -> bool:
    return type(value).__module__.startswith("tensorflow") and hasattr(value, "element_spec")


def _model_rank(model_path: Path) -> int:
    from tfcompress.models import user_file

    return len(user_file.load(model_path).input_shape)


__all__ = ["Result", "compress", "run"]
