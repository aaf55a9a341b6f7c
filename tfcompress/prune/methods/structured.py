"""``filters`` / ``slimming``: structured pruning (``tfcompress.structured``): whole channels
removed by filter L1 norm or by batch norm gamma after L1-penalised training; the model is rebuilt
smaller, then fine-tuned."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from tfcompress._keras import keras
from tfcompress.prune.methods.base import Job, Outcome, fit

log = logging.getLogger("tfcompress")


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
    history = fit(job, small, job.finetune, "finetune", None)
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
    history = {"sparsity_training": fit(job, model, job.finetune, "sparsity", None)}
    small, facts = _shrink(job, model, "bn_gamma")
    history["finetune"] = fit(job, small, job.finetune, "finetune", None)
    return Outcome(small, history, facts=facts)
