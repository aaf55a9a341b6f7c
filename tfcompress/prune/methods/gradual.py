"""``gradual``: gradual magnitude pruning during fine-tuning (per layer): tfmot's on tf_keras,
``tfcompress.sparsity`` on Keras 3."""

from __future__ import annotations

from tfcompress.prune import masks as masks_lib
from tfcompress.prune.methods.base import Job, Outcome, schedule_prune


def gradual(job: Job) -> Outcome:
    model = job.trained()
    only = {l.name for l in masks_lib.prunable(model, job.spec.skip)}
    return Outcome(*schedule_prune(job, model, job.spec, only))
