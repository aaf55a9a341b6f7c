"""``snip``: Lee et al. 2019: prune the untrained network by |g * w|, train it with ``train``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tfcompress.prune.method import PruneMethod
from tfcompress.recipe.checks import _positive_int

if TYPE_CHECKING:
    from tfcompress.prune.methods.base import Job, Outcome
    from tfcompress.recipe import PruneSpec


class Snip(PruneMethod):
    """Owns ``snip_batches``: the mini-batches its saliency is summed over."""

    name = "snip"
    owns = ("snip_batches",)
    retrains = True

    def validate(self, spec: PruneSpec) -> None:
        super().validate(spec)
        _positive_int("prune.snip_batches", spec.snip_batches)

    def run(self, job: Job) -> Outcome:
        return snip(job)


def snip(job: Job) -> Outcome:
    from tfcompress.prune import masks as masks_lib
    from tfcompress.prune import snip as snip_lib
    from tfcompress.prune.methods.base import Outcome, fit

    s = job.spec
    model = job.initial(job.seed)
    masks = snip_lib.masks(model, job.data.x_train, job.data.y_train, s.target_sparsity,
                           scope=s.scope, batches=s.snip_batches,
                           batch_size=job.train.batch_size, skip=s.skip, seed=job.seed)
    masks_lib.apply(model, masks)
    history = fit(job, model, job.train, "train", masks)
    return Outcome(model, history, masks)


METHOD = Snip()
