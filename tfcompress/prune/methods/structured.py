"""``filters`` / ``slimming``: structured pruning (``tfcompress.structured``): whole channels
removed by a criterion (filter L1 norm, batch norm gamma, Taylor importance, random) or by
batch norm gamma after L1-penalised training; the model is rebuilt
smaller (a nested backbone flattened first, so it is pruned inside), its batch norm statistics
measured again on training inputs (``structured.batchnorm``), then fine-tuned."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from tfcompress import flavor
from tfcompress.prune.method import PruneMethod
from tfcompress.recipe.checks import _number, _require

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
    #: the criterion its channels are ranked by (None: ``prune.criterion``)
    ranks_by: str | None = None

    def preflight(self, model: Any, spec: PruneSpec, finetune_steps: int) -> None:
        """A policy that leaves nothing to prune is found before any training (slimming
        trains before it ranks)."""
        from tfcompress.errors import InputError
        from tfcompress.structured.flatten import flatten

        criterion = self.ranks_by or spec.criterion
        _, chosen = structured_groups(flatten(model), spec.skip, criterion)
        if not chosen:
            raise InputError("no channel group of the model can be pruned (all frozen or "
                             "skipped" + (", or passing no batch norm: this ranks "
                                          "channels by batch norm gamma; use l1)"
                                          if criterion == "bn_gamma" else ")"))

    def cache(self, spec: PruneSpec, recipe: Recipe) -> dict[str, Any]:
        # what the rebuild does has changed since the first structured steps
        return {**super().cache(spec, recipe), "rebuild": REBUILD}


class Filters(Structured):
    """Owns ``criterion``: how channels are ranked (``prune.STRUCTURED_CRITERIA``)."""

    name = "filters"
    owns = ("criterion",)

    def step_name(self, spec: PruneSpec) -> str:
        return super().step_name(spec) + (f"_{spec.criterion}" if spec.criterion != "l1"
                                          else "")

    def label(self, prune: dict[str, Any]) -> str:
        criterion = prune.get("criterion", "l1")
        label = self.name + (f" {criterion}" if criterion != "l1" else "")
        return label + (" global" if prune.get("scope") == "global" else "")

    def run(self, job: Job) -> Outcome:
        return filters(job)


class Slimming(Structured):
    """Owns ``slimming_penalty``: the L1 weight on batch norm gammas while it trains."""

    name = "slimming"
    owns = ("slimming_penalty",)
    ranks_by = "bn_gamma"

    def validate(self, spec: PruneSpec) -> None:
        _require(_number(spec.slimming_penalty) and spec.slimming_penalty >= 0,
                 "prune.slimming_penalty", "a number >= 0", spec.slimming_penalty)

    def run(self, job: Job) -> Outcome:
        return slimming(job)


def structured_groups(model: Any, skip: Sequence[str], criterion: str = "l1"):
    """The channel analysis and the groups a policy prunes: every unfrozen group, minus those
    whose producers are named in ``skip`` and, with ``residual`` in ``skip``, those tied
    through element-wise merges (residual streams). With ``bn_gamma`` (network slimming) only
    the groups that pass a batch norm: the others are left whole, with a warning."""
    from tfcompress.structured import graph

    a = graph.analyse(model)  # a nested model: flatten it first (``_shrink`` does)
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
    if criterion == "bn_gamma":
        has_bn = [g for g in chosen if any(graph.kind(model.get_layer(n)) == "BatchNormalization"
                                           for n in a.groups[g].channelwise)]
        for g in chosen:
            if g not in has_bn:
                log.warning("[prune] %s: no batch norm on these channels; slimming leaves "
                            "them whole", "/".join(a.groups[g].producers))
        chosen = has_bn
    return a, chosen


def _shrink(job: Job, model: Any, criterion: str) -> tuple[Any, dict[str, Any]]:
    from tfcompress.structured import batchnorm, criteria, flatten, rebuild

    s = job.spec
    model = flatten.flatten(model)  # a transfer model's backbone is pruned inside
    a, chosen = structured_groups(model, s.skip, criterion)
    data = (job.data.x_train, job.data.y_train) if criteria.needs_data(criterion) else None
    scored = criteria.scores(model, a, criterion, chosen, data=data, seed=job.seed)
    keep = criteria.select(scored, s.target_sparsity, s.scope,
                           split={g: a.groups[g].split for g in chosen})
    small = rebuild.rebuild(model, a, keep)
    x = job.data.x_train
    pick = np.random.default_rng(job.seed).permutation(len(x))[:RECALIBRATION_SAMPLES]
    recalibrated = batchnorm.recalibrate(small, x[np.sort(pick)])
    log.info("[prune] batch norm statistics of %d layers measured again on %d training inputs",
             recalibrated, len(pick))
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
    batch norm |gamma|, first-order Taylor importance or at random instead."""
    from tfcompress.prune.methods.base import Outcome, fit

    small, facts = _shrink(job, job.trained(), job.spec.criterion)
    history = fit(job, small, job.finetune, "finetune", None)
    return Outcome(small, history, facts=facts)


def slimming(job: Job) -> Outcome:
    """Liu et al. 2017: train with an L1 penalty on batch norm gammas (``slimming_penalty``)
    for ``finetune.epochs``, remove the channels with the smallest |gamma| (one global
    threshold with ``scope: global``), rebuild, then fine-tune for ``finetune.epochs``."""
    from tfcompress.prune.methods.base import Outcome, fit
    from tfcompress.structured.flatten import flatten
    from tfcompress.structured.graph import kind

    model = flatten(job.trained())
    a, chosen = structured_groups(model, job.spec.skip, "bn_gamma")
    gammas = [model.get_layer(n).gamma for g in chosen for n in a.groups[g].channelwise
              if kind(model.get_layer(n)) == "BatchNormalization"]
    _penalise(model, gammas, job.spec.slimming_penalty)
    history = {"sparsity_training": fit(job, model, job.finetune, "sparsity", None)}
    small, facts = _shrink(job, model, "bn_gamma")
    history["finetune"] = fit(job, small, job.finetune, "finetune", None)
    return Outcome(small, history, facts=facts)


FILTERS, SLIMMING = Filters(), Slimming()
