"""What every pruning method gets and returns, and the pieces several methods share."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from tfcompress import atomic, flavor
from tfcompress._keras import keras
from tfcompress.prune import magnitude
from tfcompress.prune import masks as masks_lib
from tfcompress.train import loop

if TYPE_CHECKING:
    from tfcompress.data import Dataset
    from tfcompress.recipe import BenchmarkSpec, ExportSpec, PruneSpec, TrainSpec

log = logging.getLogger("tfcompress")


@dataclass
class Job:
    """What a method gets: the spec, the data, the budgets and how to obtain models.

    Attributes:
      trained: loads the trained baseline (a fresh copy on every call).
      initial: builds the baseline's model with the weights it had before training, for a
        seed (the baseline's own seed gives exactly its initialisation).
      work: the step's work folder (round checkpoints, logs, epoch backups).
    """

    spec: PruneSpec
    data: Dataset
    train: TrainSpec
    finetune: TrainSpec
    seed: int
    work: Path
    trained: Callable[[], keras.Model]
    initial: Callable[[int], keras.Model]
    #: the masks of the same source pruned with another spec (found in the cache, or made):
    #: how the lottery control gets its ticket's mask
    masks_of: Callable[[PruneSpec], masks_lib.Masks] | None = None
    #: the variant's export (a speed target is measured in its format) and the run's
    #: benchmark settings
    export: ExportSpec | None = None
    benchmark: BenchmarkSpec | None = None


@dataclass
class Outcome:
    model: keras.Model
    history: dict[str, Any]
    masks: masks_lib.Masks | None = None
    facts: dict[str, Any] = field(default_factory=dict)


def fit(job: Job, model: keras.Model, spec: TrainSpec, phase: str,
         masks: masks_lib.Masks | None) -> dict[str, Any]:
    if spec.epochs == 0:
        return {}
    callbacks = [masks_lib.hold_masks(masks, model)] if masks else []
    return loop.fit(model, job.data, spec, work_dir=job.work, phase=phase, callbacks=callbacks,
                    seed=job.seed)


def run_round(job: Job, name: str, produce: Callable[[], tuple[keras.Model, masks_lib.Masks,
                                                             dict[str, Any]]],
           like: Callable[[], keras.Model]) -> tuple[keras.Model, masks_lib.Masks,
                                                     dict[str, Any]]:
    """Runs one round of a multi-round method, or loads it when an interrupted run already
    finished it (weights and masks are kept in the work folder)."""
    path = job.work / f"{name}.npz"
    if path.is_file():
        log.info("[prune] %s done before; loading it", name)
        saved = np.load(path, allow_pickle=False)
        model = like()
        weights = [saved[f"w{i}"] for i in range(len(model.get_weights()))]
        model.set_weights(weights)
        masks = {k[2:]: saved[k] for k in saved.files if k.startswith("m:")}
        return model, masks, {}
    model, masks, history = produce()

    def write(tmp: str) -> None:
        with open(tmp, "wb") as fh:
            np.savez(fh, **{f"w{i}": w for i, w in enumerate(model.get_weights())},
                     **{f"m:{k}": v for k, v in masks.items()})

    atomic.write_with(path, write)
    return model, masks, history


def schedule_prune(job: Job, model: Any, spec: PruneSpec, only: set[str],
                   m_by_n: tuple[int, int] | None = None) -> tuple[Any, dict[str, Any]]:
    """Pruning wrappers on the ``only`` layers, fine-tuning with their callback, then the
    wrappers stripped: tfmot's for a tf_keras model (with its pruning summaries),
    ``tfcompress.sparsity``'s for a Keras 3 model - the same schedule, step for step."""
    if flavor.which(model) == flavor.KERAS3:
        from tfcompress import sparsity

        pruned = sparsity.prune_low_magnitude(
            model, sparsity.from_spec(spec, finetune_steps(job)), sparsity_m_by_n=m_by_n,
            only=only)
        history = loop.fit(pruned, job.data, job.finetune, work_dir=job.work, seed=job.seed,
                           callbacks=[sparsity.UpdatePruningStep()])
        return sparsity.strip_pruning(pruned), history

    pruned = magnitude.apply(model, spec, finetune_steps(job), only=only, m_by_n=m_by_n)
    history = loop.fit(pruned, job.data, job.finetune, work_dir=job.work, seed=job.seed,
                       callbacks=magnitude.callbacks(),
                       tensorboard=magnitude.summaries(job.work / "logs"))
    return magnitude.strip(pruned), history


def finetune_steps(job: Job) -> int:
    return loop.total_steps(job.data, job.finetune)


def round_sparsity(target: float, i: int, rounds: int) -> float:
    """Sparsity after round ``i`` of ``rounds``: the same fraction of the survivors goes
    each round (Han et al.; Frankle & Carbin prune p^(1/n) per round)."""
    return 1.0 - (1.0 - target) ** (i / rounds)


def round_epochs(total: int, rounds: int) -> list[int]:
    """``total`` epochs shared out over ``rounds`` (earlier rounds get the remainder)."""
    return [total // rounds + (1 if i < total % rounds else 0) for i in range(rounds)]
