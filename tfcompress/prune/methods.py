"""The pruning methods a recipe can name (``prune.method``), each a function of a ``Job``.

- ``gradual``: tfmot's gradual magnitude pruning during fine-tuning (per layer).
- ``oneshot``: prune the trained model to the target at once (per layer or global
  magnitude), then fine-tune with the mask held (``finetune.epochs`` 0: no retraining).
- ``iterative``: ``rounds`` prune / fine-tune cycles (Han et al. 2015); sparsity after round
  i is ``1 - (1 - target)^(i / rounds)``, and the fine-tuning epochs are shared out over the
  rounds, so the budget equals one-shot's.
- ``lottery``: Frankle & Carbin 2019: prune the trained model, rewind the surviving weights
  to their values at initialisation (or after ``rewind_epoch`` epochs), retrain with
  ``train`` under the mask; ``rounds`` > 1 repeats it. ``reinit`` is the control: the same
  final mask on a fresh random initialisation.
- ``snip``: Lee et al. 2019: prune the untrained network by |g * w|, train it with ``train``.
- ``m_by_n``: tfmot's ``sparsity_m_by_n`` (e.g. 2:4), checked afterwards (``check_m_by_n``).
- ``filters`` / ``slimming``: structured pruning (``tfcompress.structured``): whole channels
  removed by filter L1 norm or by batch norm gamma after L1-penalised training; the model is
  rebuilt smaller, then fine-tuned.

Every method returns a plain Keras model: unstructured ones with exact zeros in the pruned
kernels, structured ones physically smaller.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from tfcompress._keras import keras
from tfcompress.prune import masks as masks_lib

if TYPE_CHECKING:
    from tfcompress.data import Dataset
    from tfcompress.recipe import PruneSpec, TrainSpec

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
    masks: masks_lib.Masks | None = None  # given: the lottery control reuses the ticket's


@dataclass
class Outcome:
    model: keras.Model
    history: dict[str, Any]
    masks: masks_lib.Masks | None = None
    facts: dict[str, Any] = field(default_factory=dict)


def _fit(job: Job, model: keras.Model, spec: TrainSpec, phase: str,
         masks: masks_lib.Masks | None) -> dict[str, Any]:
    from tfcompress.train import loop

    if spec.epochs == 0:
        return {}
    callbacks = [masks_lib.HoldMasks(masks)] if masks else []
    return loop.fit(model, job.data, spec, work_dir=job.work, phase=phase, callbacks=callbacks,
                    seed=job.seed)


def _round(job: Job, name: str, produce: Callable[[], tuple[keras.Model, masks_lib.Masks,
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
    from tfcompress import atomic

    def write(tmp: str) -> None:
        with open(tmp, "wb") as fh:
            np.savez(fh, **{f"w{i}": w for i, w in enumerate(model.get_weights())},
                     **{f"m:{k}": v for k, v in masks.items()})

    atomic.write_with(path, write)
    return model, masks, history


def _tfmot(job: Job, model: keras.Model, spec: PruneSpec, only: set[str],
           m_by_n: tuple[int, int] | None = None) -> tuple[keras.Model, dict[str, Any]]:
    """tfmot's wrappers on the ``only`` layers, fine-tuning with its callbacks and pruning
    summaries, then the wrappers stripped."""
    from tfcompress.prune import magnitude
    from tfcompress.train import loop

    pruned = magnitude.apply(model, spec, _finetune_steps(job), only=only, m_by_n=m_by_n)
    history = loop.fit(pruned, job.data, job.finetune, work_dir=job.work, seed=job.seed,
                       callbacks=magnitude.callbacks(),
                       tensorboard=magnitude.summaries(job.work / "logs"))
    return magnitude.strip(pruned), history


def gradual(job: Job) -> Outcome:
    model = job.trained()
    only = {l.name for l in masks_lib.prunable(model, job.spec.skip)}
    return Outcome(*_tfmot(job, model, job.spec, only))


def _finetune_steps(job: Job) -> int:
    from tfcompress.train.loop import steps_per_epoch

    return job.finetune.epochs * steps_per_epoch(len(job.data.x_train), job.finetune.batch_size)


def oneshot(job: Job) -> Outcome:
    s = job.spec
    model = job.trained()
    masks = masks_lib.magnitude(model, s.target_sparsity, s.scope, s.skip)
    masks_lib.apply(model, masks)
    history = _fit(job, model, job.finetune, "finetune", masks)
    return Outcome(model, history, masks)


def round_sparsity(target: float, i: int, rounds: int) -> float:
    """Sparsity after round ``i`` of ``rounds``: the same fraction of the survivors goes
    each round (Han et al.; Frankle & Carbin prune p^(1/n) per round)."""
    return 1.0 - (1.0 - target) ** (i / rounds)


def round_epochs(total: int, rounds: int) -> list[int]:
    """``total`` epochs shared out over ``rounds`` (earlier rounds get the remainder)."""
    return [total // rounds + (1 if i < total % rounds else 0) for i in range(rounds)]


def iterative(job: Job) -> Outcome:
    s = job.spec
    model, masks, history = job.trained(), None, {}
    for i, epochs in enumerate(round_epochs(job.finetune.epochs, s.rounds), start=1):
        def produce(model=model, masks=masks, i=i, epochs=epochs):
            target = round_sparsity(s.target_sparsity, i, s.rounds)
            new = masks_lib.magnitude(model, target, s.scope, s.skip, keep=masks)
            masks_lib.apply(model, new)
            log.info("[prune] round %d/%d: sparsity %.3f, %d epoch(s)", i, s.rounds,
                     masks_lib.overall(new), epochs)
            h = _fit(job, model, replace(job.finetune, epochs=epochs), f"round{i}", new)
            return model, new, h

        model, masks, h = _round(job, f"round{i}", produce, job.trained)
        history[f"round{i}"] = h
    return Outcome(model, history, masks)


def _rewound(job: Job, seed: int) -> keras.Model:
    """The weights the lottery rewinds to: at initialisation, or after ``rewind_epoch``
    epochs of the baseline's training (late rewinding)."""
    model = job.initial(seed)
    if job.spec.rewind_epoch:
        _fit(job, model, replace(job.train, epochs=job.spec.rewind_epoch), "rewind", None)
    return model


def lottery(job: Job) -> Outcome:
    s = job.spec
    if s.reinit and job.masks is not None:
        return _reinit(job, job.masks, {})
    model, masks, history = job.trained(), None, {}
    rewind = _rewound(job, job.seed)
    start = [w.copy() for w in rewind.get_weights()]
    for i in range(1, s.rounds + 1):
        def produce(model=model, masks=masks, i=i):
            target = round_sparsity(s.target_sparsity, i, s.rounds)
            new = masks_lib.magnitude(model, target, s.scope, s.skip, keep=masks)
            ticket = job.initial(job.seed)
            ticket.set_weights(start)
            masks_lib.apply(ticket, new)
            log.info("[prune] lottery round %d/%d: sparsity %.3f, rewound, retraining %d "
                     "epoch(s)", i, s.rounds, masks_lib.overall(new), job.train.epochs)
            h = _fit(job, ticket, job.train, f"round{i}", new)
            return ticket, new, h

        model, masks, h = _round(job, f"round{i}", produce, job.trained)
        history[f"round{i}"] = h
    if not s.reinit:
        return Outcome(model, history, masks)
    return _reinit(job, masks, history)


def _reinit(job: Job, masks: masks_lib.Masks, history: dict[str, Any]) -> Outcome:
    """The control of a lottery ticket: its mask on weights drawn afresh (another seed),
    trained with the same budget."""
    control = job.initial(job.seed + 10_000)
    masks_lib.apply(control, masks)
    history = {**history, "reinit": _fit(job, control, job.train, "reinit", masks)}
    return Outcome(control, history, masks, {"reinit_seed": job.seed + 10_000})


def snip(job: Job) -> Outcome:
    from tfcompress.prune import snip as snip_lib

    s = job.spec
    model = job.initial(job.seed)
    masks = snip_lib.masks(model, job.data.x_train, job.data.y_train, s.target_sparsity,
                           scope=s.scope, batches=s.snip_batches,
                           batch_size=job.train.batch_size, skip=s.skip, seed=job.seed)
    masks_lib.apply(model, masks)
    history = _fit(job, model, job.train, "train", masks)
    return Outcome(model, history, masks)


def m_by_n(job: Job) -> Outcome:
    s = job.spec
    model = job.trained()
    layers, skipped = m_by_n_layers(masks_lib.prunable(model, s.skip), s.m_by_n[1])
    for name, why in skipped.items():
        log.warning("[prune] %s stays dense: %s", name, why)
    only = {l.name for l in layers}
    model, history = _tfmot(job, model, replace(s, schedule="constant"), only, s.m_by_n)
    done = [l for l in masks_lib.candidates(model) if l.name in only]
    bad = [l.name for l in done if not check_m_by_n(masks_lib.kernel(l).numpy(), *s.m_by_n)]
    if bad:  # tfmot left a layer it was asked to prune without the pattern
        log.warning("[prune] no %d:%d pattern in %s", *s.m_by_n, ", ".join(bad))
    return Outcome(model, history, facts={"m_by_n_layers": [l.name for l in done],
                                          "m_by_n_skipped": skipped,
                                          "m_by_n_violations": bad})


def m_by_n_layers(layers: list[keras.layers.Layer], n: int
                  ) -> tuple[list[keras.layers.Layer], dict[str, str]]:
    """The layers that can carry an m:n pattern along their input channels, and why the
    others cannot. A first conv on 1- or 3-channel images has no full group of 4: tfmot
    leaves it dense (1 channel) or pads it (3 channels, so 1 zero in 3 weights) - the
    behaviour reported as tfmot issue #1182, "first Conv2D cannot be pruned"."""
    keep, skipped = [], {}
    for layer in layers:
        k = masks_lib.kernel(layer)
        size = int(k.shape[len(k.shape) - 2])
        if size < n:
            skipped[layer.name] = (f"{size} input channel(s), fewer than a group of {n}")
        else:
            keep.append(layer)
    return keep, skipped


def groups(kernel: np.ndarray, n: int) -> np.ndarray:
    """The kernel as groups of ``n`` consecutive input-channel weights, the axis TFLite's
    2:4 kernels use (Conv2D [h, w, in, out] and Dense [in, out]: along ``in``)."""
    in_axis = kernel.ndim - 2
    moved = np.moveaxis(kernel, in_axis, -1)  # [..., out, in]
    size = moved.shape[-1]
    if size % n:
        pad = [(0, 0)] * (moved.ndim - 1) + [(0, n - size % n)]
        moved = np.pad(moved, pad)
    return moved.reshape(-1, n)


def check_m_by_n(kernel: np.ndarray, m: int, n: int) -> bool:
    """True when every full group of ``n`` input-channel weights has at most ``n - m``
    non-zeros (exactly, for trained weights: zeros come only from the mask)."""
    if kernel.shape[kernel.ndim - 2] < n:
        return False  # no full group: the layer cannot carry the pattern
    g = groups(kernel, n)
    return bool(np.all(np.count_nonzero(g, axis=1) <= n - m))


def structured_groups(model: keras.Model, skip: Sequence[str]):
    """The channel analysis and the groups a policy prunes: every unfrozen group, minus those
    whose producers are named in ``skip`` and, with ``residual`` in ``skip``, those tied
    through element-wise merges (residual streams)."""
    from tfcompress.structured import graph

    a = graph.analyse(model)
    for u in a.unsupported:
        log.warning("[prune] %s (%s) left unpruned: %s", u["name"], u["type"], u["why"])
    producers = {p for grp in a.groups.values() for p in grp.producers}
    for name in skip:
        if name != "residual" and name not in producers:
            from tfcompress.errors import unknown_name

            raise unknown_name("layer in prune.skip", name, ["residual", *sorted(producers)])
    chosen = [g for g, grp in a.prunable().items()
              if not (grp.tied and "residual" in skip)
              and not any(p in skip for p in grp.producers)]
    return a, chosen


def _shrink(job: Job, model: keras.Model, criterion: str) -> tuple[keras.Model, dict[str, Any]]:
    from tfcompress.structured import criteria, rebuild

    s = job.spec
    a, chosen = structured_groups(model, s.skip)
    scored = criteria.scores(model, a, criterion, chosen)
    keep = criteria.select(scored, s.target_sparsity, s.scope)
    small = rebuild.rebuild(model, a, keep)
    channels = {"/".join(a.groups[g].producers): [a.groups[g].size, int(len(k))]
                for g, k in keep.items()}
    log.info("[prune] %s: %d -> %d parameters", criterion, model.count_params(),
             small.count_params())
    return small, {"channels": channels, "structured_unsupported": a.unsupported}


def filters(job: Job) -> Outcome:
    """Li et al. 2017: remove the channels with the smallest filter L1 norms from each group
    (or globally), rebuild a smaller dense model, fine-tune it."""
    small, facts = _shrink(job, job.trained(), "l1")
    history = _fit(job, small, job.finetune, "finetune", None)
    return Outcome(small, history, facts=facts)


def slimming(job: Job) -> Outcome:
    """Liu et al. 2017: train with an L1 penalty on batch norm gammas (``slimming_penalty``)
    for ``finetune.epochs``, remove the channels with the smallest |gamma| (one global
    threshold with ``scope: global``), rebuild, then fine-tune for ``finetune.epochs``."""
    from tfcompress._keras import tf

    model = job.trained()
    a, chosen = structured_groups(model, job.spec.skip)
    gammas = [model.get_layer(n).gamma for g in chosen for n in a.groups[g].channelwise
              if isinstance(model.get_layer(n), keras.layers.BatchNormalization)]
    penalty = job.spec.slimming_penalty
    model.add_loss(lambda: penalty * tf.add_n([tf.reduce_sum(tf.abs(g)) for g in gammas]))
    history = {"sparsity_training": _fit(job, model, job.finetune, "sparsity", None)}
    small, facts = _shrink(job, model, "bn_gamma")
    history["finetune"] = _fit(job, small, job.finetune, "finetune", None)
    return Outcome(small, history, facts=facts)


def preflight(model: keras.Model, spec: PruneSpec, finetune_steps: int) -> None:
    """What a method would refuse, found before any training: layers tfmot cannot wrap, a
    schedule that never reaches its target, layer names in ``skip`` the model does not have,
    a structured policy that leaves nothing to prune.

    Raises:
      InputError: naming the layers or values and what is allowed.
    """
    from tfcompress.errors import InputError
    from tfcompress.prune import STRUCTURED, TFMOT, magnitude, schedule

    if spec.method in TFMOT:
        bad = magnitude.unsupported_layers(model)
        if bad:
            listed = "; ".join(f"{b['name']} ({b['type']}): {b['why']}" for b in bad)
            raise InputError(f"{len(bad)} layer(s) cannot be pruned by tfmot: {listed}. Use "
                             f"another prune.method or replace these layers")
    if spec.method == "gradual":
        schedule.plan(spec, finetune_steps)
    if spec.method in STRUCTURED:
        _, chosen = structured_groups(model, spec.skip)  # checks the names too
        if not chosen:
            raise InputError("no channel group of the model can be pruned (all frozen or "
                             "skipped)")
    else:
        masks_lib.prunable(model, spec.skip)
