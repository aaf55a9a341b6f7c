"""``m_by_n``: tfmot's ``sparsity_m_by_n`` (e.g. 2:4), checked afterwards (``check_m_by_n``)."""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from tfcompress.prune.criteria import check_m_by_n, groups  # noqa: F401
from tfcompress.prune.methods.gradual import ScheduledMethod
from tfcompress.recipe.checks import _require

if TYPE_CHECKING:
    from tfcompress.prune.methods.base import Job, Outcome
    from tfcompress.recipe import PruneSpec

log = logging.getLogger("tfcompress")


class MByN(ScheduledMethod):
    """Owns ``m_by_n``: the pattern, e.g. [2, 4] = 2 zeros in every 4 weights."""

    name = "m_by_n"
    owns = ("m_by_n",)

    def validate(self, spec: PruneSpec) -> None:
        super().validate(spec)
        mn = spec.m_by_n
        _require(isinstance(mn, tuple) and len(mn) == 2 and all(isinstance(v, int) for v in mn)
                 and 0 < mn[0] < mn[1], "prune.m_by_n", "[m, n] with 0 < m < n, e.g. [2, 4]",
                 mn)
        _require(abs(spec.target_sparsity - mn[0] / mn[1]) < 1e-9, "prune.target_sparsity",
                 f"m / n = {mn[0] / mn[1]} for m_by_n {list(mn)}", spec.target_sparsity)

    def run(self, job: Job) -> Outcome:
        return m_by_n(job)


def m_by_n(job: Job) -> Outcome:
    from tfcompress.prune import masks as masks_lib
    from tfcompress.prune.methods.base import Outcome, schedule_prune

    s = job.spec
    model = job.trained()
    layers, skipped = m_by_n_layers(masks_lib.prunable(model, s.skip), s.m_by_n[1])
    for name, why in skipped.items():
        log.warning("[prune] %s stays dense: %s", name, why)
    only = {l.name for l in layers}
    model, history = schedule_prune(job, model, replace(s, schedule="constant"), only, s.m_by_n)
    done = [l for l in masks_lib.candidates(model) if l.name in only]
    bad = [l.name for l in done if not check_m_by_n(masks_lib.kernel(l).numpy(), *s.m_by_n)]
    if bad:  # tfmot left a layer it was asked to prune without the pattern
        log.warning("[prune] no %d:%d pattern in %s", *s.m_by_n, ", ".join(bad))
    return Outcome(model, history, facts={"m_by_n_layers": [l.name for l in done],
                                          "m_by_n_skipped": skipped,
                                          "m_by_n_violations": bad})


def m_by_n_layers(layers: list[Any], n: int) -> tuple[list[Any], dict[str, str]]:
    """The layers that can carry an m:n pattern along their input channels, and why the
    others cannot. A first conv on 1- or 3-channel images has no full group of 4: tfmot
    leaves it dense (1 channel) or pads it (3 channels, so 1 zero in 3 weights) - the
    behaviour reported as tfmot issue #1182, "first Conv2D cannot be pruned"."""
    from tfcompress.prune import masks as masks_lib

    keep, skipped = [], {}
    for layer in layers:
        k = masks_lib.kernel(layer)
        size = int(k.shape[len(k.shape) - 2])
        if size < n:
            skipped[layer.name] = (f"{size} input channel(s), fewer than a group of {n}")
        else:
            keep.append(layer)
    return keep, skipped


METHOD = MByN()
