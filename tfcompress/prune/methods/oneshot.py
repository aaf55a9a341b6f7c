"""``oneshot``: prune the trained model to the target at once (per layer or global magnitude),
then fine-tune with the mask held (``finetune.epochs`` 0: no retraining)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tfcompress.prune.method import PruneMethod

if TYPE_CHECKING:
    from tfcompress.prune.methods.base import Job, Outcome


class OneShot(PruneMethod):
    name = "oneshot"

    def run(self, job: Job) -> Outcome:
        return oneshot(job)


def oneshot(job: Job) -> Outcome:
    from tfcompress.prune import masks as masks_lib
    from tfcompress.prune.methods.base import Outcome, fit

    s = job.spec
    model = job.trained()
    masks = masks_lib.magnitude(model, s.target_sparsity, s.scope, s.skip)
    masks_lib.apply(model, masks)
    history = fit(job, model, job.finetune, "finetune", masks)
    return Outcome(model, history, masks)


METHOD = OneShot()
