"""``filters`` / ``slimming``: structured pruning (``tfcompress.structured``): whole channels
removed by a criterion (filter L1 norm, batch norm gamma, Taylor importance, random) or by
batch norm gamma after L1-penalised training; the model is rebuilt
smaller (a nested backbone flattened first, so it is pruned inside), its batch norm statistics
measured again on training inputs (``structured.batchnorm``), then fine-tuned."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np

from tfcompress import flavor
from tfcompress.benchmark import macs
from tfcompress.errors import InputError, unknown_name
from tfcompress.prune import STRUCTURED_CRITERIA
from tfcompress.prune.method import PruneMethod, speed_suffix
from tfcompress.recipe.checks import _number, _require
from tfcompress.structured import allocate, batchnorm, criteria, flatten, graph, rebuild, speed

if TYPE_CHECKING:
    from tfcompress.prune.methods.base import Job, Outcome
    from tfcompress.recipe import PruneSpec, Recipe

log = logging.getLogger("tfcompress")

#: what the rebuild does, part of a structured step's cache key (``2``: nested models
#: flattened, constants absorbed into biases, batch norm statistics re-estimated)
REBUILD = 2
#: training inputs the rebuilt model's batch norm statistics are measured on
RECALIBRATION_SAMPLES = 512


class Structured(PruneMethod):
    """Removes whole channels and rebuilds a smaller model (``tfcompress.structured``):
    ``target_sparsity`` is the share of channels removed, ``skip`` names producer layers
    whose channels stay (or ``residual`` to keep every residual stream whole)."""

    structured = True
    zeros = False
    #: the criterion its channels are ranked by (None: ``prune.criterion``)
    ranks_by: str | None = None

    def preflight(self, model: Any, spec: PruneSpec, finetune_steps: int) -> None:
        """A policy that leaves nothing to prune is found before any training (slimming
        trains before it ranks)."""
        criterion = self.ranks_by or spec.criterion
        flat = flatten.flatten(model)
        a, chosen = structured_groups(flat, spec.skip, criterion)
        if not chosen:
            raise InputError("no channel group of the model can be pruned (all frozen or "
                             "skipped" + (", or passing no batch norm: this ranks "
                                          "channels by batch norm gamma; use l1)"
                                          if criterion == "bn_gamma" else ")"))
        if spec.target_speedup is not None:
            _reachable(flat, a, chosen, spec)

    def cache(self, spec: PruneSpec, recipe: Recipe) -> dict[str, Any]:
        # what the rebuild does has changed since the first structured steps
        return {**super().cache(spec, recipe), "rebuild": REBUILD}


class Filters(Structured):
    """Owns ``criterion`` (how channels are ranked: ``prune.STRUCTURED_CRITERIA``),
    ``target_speedup`` (a measured speed target: ``structured.speed``) and ``rounds``
    (iterative removal); takes ``scope: sensitivity`` (``structured.allocate``)."""

    name = "filters"
    owns = ("criterion", "target_speedup", "rounds", "recovery", "finetune", "round_to",
            "search_steps")
    scopes = ("layer", "global", "sensitivity")

    def validate(self, spec: PruneSpec) -> None:
        super().validate(spec)
        if spec.criterion not in STRUCTURED_CRITERIA:
            raise unknown_name("prune.criterion", spec.criterion, STRUCTURED_CRITERIA.names())

    def step_name(self, spec: PruneSpec) -> str:
        name = super().step_name(spec) + (f"_{spec.criterion}" if spec.criterion != "l1"
                                          else "")
        if spec.rounds > 1:
            name += f"_x{spec.rounds}"
        return name + speed_suffix(spec)

    def label(self, prune: PruneSpec) -> str:
        label = self.name + (f" {prune.criterion}" if prune.criterion != "l1" else "")
        label += {"global": " global", "sensitivity": " by sensitivity"}.get(prune.scope, "")
        if prune.rounds > 1:
            label += f" x{prune.rounds}"
        if prune.round_to > 1:
            label += f" (widths x{prune.round_to})"
        if prune.target_speedup:
            label += f" for {prune.target_speedup:g}x"
        return label + (" + KD" if prune.recovery == "distill" else "")

    def run(self, job: Job) -> Outcome:
        return filters(job)


class Slimming(Structured):
    """Owns ``slimming_penalty``: the L1 weight on batch norm gammas while it trains."""

    name = "slimming"
    owns = ("slimming_penalty", "recovery", "finetune")
    ranks_by = "bn_gamma"

    def validate(self, spec: PruneSpec) -> None:
        super().validate(spec)
        _require(_number(spec.slimming_penalty) and spec.slimming_penalty >= 0,
                 "prune.slimming_penalty", "a number >= 0", spec.slimming_penalty)

    def run(self, job: Job) -> Outcome:
        return slimming(job)


def structured_groups(model: Any, skip: Sequence[str], criterion: str = "l1"):
    """The channel analysis and the groups a policy prunes: every unfrozen group, minus those
    whose producers are named in ``skip`` and, with ``residual`` in ``skip``, those tied
    through element-wise merges (residual streams). With ``bn_gamma`` (network slimming) only
    the groups that pass a batch norm: the others are left whole, with a warning."""
    a = graph.analyse(model)  # a nested model: flatten it first (``_shrink`` does)
    for u in a.unsupported:
        log.warning("[prune] %s (%s) left unpruned: %s", u["name"], u["type"], u["why"])
    producers = {p for grp in a.groups.values() for p in grp.producers}
    for name in skip:
        if name != "residual" and name not in producers:
            raise unknown_name("layer in prune.skip", name, ["residual", *sorted(producers)])
    chosen = [g for g, grp in a.prunable().items()
              if not (grp.tied and "residual" in skip)
              and not any(p in skip for p in grp.producers)]
    if criterion == "bn_gamma":
        has_bn = [g for g in chosen if any(graph.kind(model.get_layer(n)) == "BatchNormalization"
                                           for n in a.groups[g].channelwise)]
        for g in chosen:
            if g not in has_bn:
                log.warning("[prune] %s: no batch norm on these channels; slimming leaves "
                            "them whole", "/".join(a.groups[g].producers))
        chosen = has_bn
    return a, chosen


def _shrink(job: Job, model: Any, criterion: str,
            ratios: dict[str, float] | None = None) -> tuple[Any, dict[str, Any]]:
    """The model with its channels removed (``ratios``: per group name, else the spec's
    ``target_sparsity`` and ``scope``), rebuilt, its batch norm statistics measured again."""
    s = job.spec
    model = flatten.flatten(model)  # a transfer model's backbone is pruned inside
    a, chosen, scored, split = _scored(job, model, criterion)
    if ratios is None:
        keep = criteria.select(scored, s.target_sparsity, s.scope, split=split,
                               round_to=s.round_to)
    else:
        names = group_names(a, chosen)
        keep = criteria.select(scored, {g: ratios.get(names[g], 0.0) for g in chosen},
                               "layer", split=split, round_to=s.round_to)
    small = rebuild.rebuild(model, a, keep)
    recalibrated = _recalibrate(job, small, RECALIBRATION_SAMPLES)
    log.info("[prune] batch norm statistics of %d layers measured again on %d training inputs",
             recalibrated, min(RECALIBRATION_SAMPLES, len(job.data.x_train)))
    from tfcompress.train.loop import accuracy

    before = accuracy(small, job.data.x_test, job.data.y_test)
    log.info("[prune] test accuracy after the rebuild, before fine-tuning: %.2f%%",
             100 * before)
    channels = {"/".join(a.groups[g].producers): [a.groups[g].size, int(len(k))]
                for g, k in keep.items()}
    log.info("[prune] %s: %d -> %d parameters", criterion, model.count_params(),
             small.count_params())
    return small, {"channels": channels, "structured_unsupported": a.unsupported,
                   "batchnorm_recalibrated": recalibrated, "accuracy_before_finetune": before}


def _reachable(model: Any, a: Any, chosen: Sequence[int], spec: PruneSpec) -> None:
    """Refuses, before any training, a speed target beyond what removing
    ``target_sparsity`` of every prunable group could give in multiply-adds."""
    scored = {g: np.ones(a.groups[g].size) for g in chosen}  # which channels: no matter
    keep = criteria.select(scored, spec.target_sparsity, "layer",
                           split={g: a.groups[g].split for g in chosen},
                           round_to=spec.round_to)
    smallest = rebuild.rebuild(model, a, keep)
    speed.bound(macs.count(model)["macs"], macs.count(smallest)["macs"], spec.target_speedup,
                spec.target_sparsity)


def _scored(job: Job, model: Any, criterion: str) -> tuple[Any, list[int], dict, dict]:
    """The channel analysis of a flat ``model``, the groups the spec prunes, each channel's
    score by ``criterion`` and the parts each group keeps equal (grouped convolutions)."""
    a, chosen = structured_groups(model, job.spec.skip, criterion)
    data = (job.data.x_train, job.data.y_train) if criteria.needs_data(criterion) else None
    scored = criteria.scores(model, a, criterion, chosen, data=data, seed=job.seed)
    return a, chosen, scored, {g: a.groups[g].split for g in chosen}


def group_names(a: Any, groups: Sequence[int]) -> dict[int, str]:
    """Analysis group -> its name (its producers' names, ``a/b``): stable across rebuilds."""
    return {g: "/".join(a.groups[g].producers) for g in groups}


def _recalibrate(job: Job, model: Any, samples: int) -> int:
    x = job.data.x_train
    pick = np.random.default_rng(job.seed).permutation(len(x))[:samples]
    return batchnorm.recalibrate(model, x[np.sort(pick)])


def _penalise(model: Any, gammas: list[Any], penalty: float) -> None:
    """Adds ``penalty * sum |gamma|`` to the training loss: a model loss on tf_keras, the
    variables' own L1 regularizer on Keras 3 (which has no ``add_loss`` outside ``call``)."""
    if flavor.which(model) == flavor.KERAS3:
        from tfcompress._keras3 import keras as k3

        for g in gammas:
            g.regularizer = k3.regularizers.L1(penalty)
        return
    from tfcompress._keras import tf

    model.add_loss(lambda: penalty * tf.add_n([tf.reduce_sum(tf.abs(g)) for g in gammas]))


def filters(job: Job) -> Outcome:
    """Li et al. 2017: remove the channels with the smallest filter L1 norms from each group
    (or globally), rebuild a smaller dense model, fine-tune it. ``prune.criterion`` ranks by
    batch norm |gamma|, first-order Taylor importance or at random instead.

    ``scope: sensitivity`` gives each group its own ratio (``structured.allocate``);
    ``target_speedup`` searches how much to remove by timing the exported file
    (``structured.speed``); ``rounds`` > 1 removes in steps with recovery between them;
    ``recovery: distill`` recovers from the unpruned model's soft targets."""
    from tfcompress.prune.methods.base import Outcome, round_epochs

    s = job.spec
    if s.scope != "sensitivity" and s.target_speedup is None and s.rounds == 1:
        small, facts = _shrink(job, job.trained(), s.criterion)  # one shot, one threshold
        return Outcome(small, _recover(job, small, job.finetune, "finetune"), facts=facts)

    model = flatten.flatten(job.trained())
    plan = Allocation(job, model)
    facts: dict[str, Any] = {}
    if plan.sensitivity is not None:
        facts["sensitivity"] = plan.sensitivity.to_dict()
    level = s.target_sparsity
    if s.target_speedup is not None:
        found = plan.search()
        level = found.level
        facts["speed_target"] = found.to_dict()
    ratios = plan.ratios(level)
    facts["ratios"] = ratios
    if "speed_target" in facts:  # the share of all prunable channels that level removes
        facts["speed_target"]["removed"] = sum(plan.sizes[n] * r for n, r in ratios.items()) \
            / sum(plan.sizes.values())
    history: dict[str, Any] = {}
    small, first = model, None
    for i, epochs in enumerate(round_epochs(job.finetune.epochs, s.rounds)):
        # each round removes the same share of each group's remaining channels
        step = {g: 1.0 - (1.0 - r) ** (1.0 / s.rounds) for g, r in ratios.items()}
        small, done = _shrink(job, small, s.criterion, step)
        first = first or done
        phase = "finetune" if s.rounds == 1 else f"round{i + 1}"
        history[phase] = _recover(job, small, replace(job.finetune, epochs=epochs), phase)
    original = {name: size for name, (size, _) in first["channels"].items()}
    facts.update(done, accuracy_before_finetune=first["accuracy_before_finetune"],
                 channels={n: [original.get(n, kept[0]), kept[1]]
                           for n, kept in done["channels"].items()})
    return Outcome(small, history, facts=facts)


class Allocation:
    """How much each channel group of ``model`` (flattened) loses at a level: the spec's
    scope (``uniform`` for ``layer``, ``global``, or measured ``sensitivity``), and the
    speed target's search over levels."""

    def __init__(self, job: Job, model: Any):
        self.job, self.model = job, model
        s = job.spec
        self.a, chosen, self.scored, self.split = _scored(job, model, s.criterion)
        self.names = group_names(self.a, chosen)
        self.sizes = {self.names[g]: self.a.groups[g].size for g in chosen}
        self.sensitivity = None
        if s.scope == "sensitivity":
            def probe(ratio: dict[int, float]) -> Any:
                small = self.build({self.names[g]: r for g, r in ratio.items()})
                _recalibrate(job, small, allocate.PROBE_RECALIBRATION)
                return small

            self.sensitivity = allocate.measure(model, self.names, probe, job.data, job.seed)

    def ratios(self, level: float) -> dict[str, float]:
        """Group name -> share of its channels removed at ``level`` (global: what one
        threshold over all normalised scores removes from each)."""
        s = self.job.spec
        if s.scope == "sensitivity":
            return allocate.weighted(level, self.sensitivity, self.sizes, self.cap)
        if s.scope == "global":
            keep = criteria.select(self.scored, level, "global", split=self.split)
            return {self.names[g]: 1.0 - len(k) / self.a.groups[g].size
                    for g, k in keep.items()}
        return allocate.uniform(level, list(self.sizes), s.target_sparsity)

    @property
    def cap(self) -> float:
        """The most one group loses: ``target_sparsity`` under a speed target (or without
        sensitivity), else ``allocate.CAP``."""
        s = self.job.spec
        return allocate.CAP if s.scope == "sensitivity" and s.target_speedup is None \
            else s.target_sparsity

    @property
    def top(self) -> float:
        """The level at which every group loses ``cap`` (the search's upper end)."""
        if self.sensitivity is None:
            return self.cap
        return allocate.saturating(self.sensitivity, self.sizes, self.cap)

    def build(self, ratios: dict[str, float]) -> Any:
        """The rebuilt model with ``ratios`` removed (batch norms not measured again)."""
        keep = criteria.select(self.scored, {g: ratios.get(n, 0.0)
                                             for g, n in self.names.items()},
                               "layer", split=self.split, round_to=self.job.spec.round_to)
        return rebuild.rebuild(self.model, self.a, keep)

    def search(self) -> Any:
        """The smallest level whose exported file meets ``target_speedup``
        (``structured.speed``): the variant's format, the run's benchmark settings."""
        return speed_search(self.job, self.model, self.top,
                            lambda level: self.build(self.ratios(level)))


def speed_search(job: Job, model: Any, cap: float, build: Any) -> Any:
    """``structured.speed.search`` for ``job``'s variant: the smallest level in (0, ``cap``]
    whose model (``build(level)``) exported in the variant's format is ``target_speedup``
    times faster than ``model`` exported the same way, timed with the run's benchmark
    settings. Shared by ``filters`` and ``resolution``."""
    from tfcompress.quantize import tflite

    s = job.spec
    export = replace(job.export, calibration_samples=min(
        job.export.calibration_samples, SEARCH_CALIBRATION))

    def convert(m: Any) -> bytes:
        return tflite.convert(m, export, job.data.x_train, seed=job.seed)

    return speed.search(s.target_speedup, cap, export.mode, build, convert, convert(model),
                        job.data.x_test[:1], job.benchmark, lambda m: macs.count(m)["macs"],
                        steps=s.search_steps)


#: calibration samples of an int8 file timed during the speed search (its speed does not
#: depend on the calibration; the shipped file is calibrated as the variant says)
SEARCH_CALIBRATION = 16


def _recover(job: Job, small: Any, spec: Any, phase: str) -> dict[str, Any]:
    """Fine-tunes the smaller model: on the labels, or (``recovery: distill``) on the labels
    and the unpruned model's soft targets (the suite's distiller, alpha 1, T 4); the teacher
    is a fresh copy of the trained model, left as it was."""
    from tfcompress.prune.methods.base import fit

    if job.spec.recovery != "distill":
        return fit(job, small, spec, phase, None)
    from tfcompress.distill import distiller_of

    teacher = job.trained()
    distiller = distiller_of(small)(small, teacher, alpha=DISTILL_ALPHA,
                                    temperature=DISTILL_TEMPERATURE)
    return fit(job, distiller, spec, phase, None)


#: the distillation recovery's weight and temperature (DistillSpec's defaults)
DISTILL_ALPHA, DISTILL_TEMPERATURE = 1.0, 4.0


def slimming(job: Job) -> Outcome:
    """Liu et al. 2017: train with an L1 penalty on batch norm gammas (``slimming_penalty``)
    for ``finetune.epochs``, remove the channels with the smallest |gamma| (one global
    threshold with ``scope: global``), rebuild, then fine-tune for ``finetune.epochs``."""
    from tfcompress.prune.methods.base import Outcome, fit

    model = flatten.flatten(job.trained())
    a, chosen = structured_groups(model, job.spec.skip, "bn_gamma")
    gammas = [model.get_layer(n).gamma for g in chosen for n in a.groups[g].channelwise
              if graph.kind(model.get_layer(n)) == "BatchNormalization"]
    _penalise(model, gammas, job.spec.slimming_penalty)
    history = {"sparsity_training": fit(job, model, job.finetune, "sparsity", None)}
    small, facts = _shrink(job, model, "bn_gamma")
    history["finetune"] = _recover(job, small, job.finetune, "finetune")
    return Outcome(small, history, facts=facts)


FILTERS, SLIMMING = Filters(), Slimming()
