"""``m_by_n``: tfmot's ``sparsity_m_by_n`` (e.g. 2:4), checked afterwards (``check_m_by_n``)."""

from __future__ import annotations

import logging
from dataclasses import replace


from tfcompress._keras import keras
from tfcompress.prune import masks as masks_lib
from tfcompress.prune.criteria import check_m_by_n, groups  # noqa: F401
from tfcompress.prune.methods.base import Job, Outcome, schedule_prune

log = logging.getLogger("tfcompress")


def m_by_n(job: Job) -> Outcome:
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
