"""``iterative``: ``rounds`` prune / fine-tune cycles (Han et al. 2015); sparsity after round i is
``1 - (1 - target)^(i / rounds)``, and the fine-tuning epochs are shared out over the rounds, so
the budget equals one-shot's."""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import TYPE_CHECKING

from tfcompress.prune.method import PruneMethod

if TYPE_CHECKING:
    from tfcompress.prune.methods.base import Job, Outcome

log = logging.getLogger("tfcompress")


class Iterative(PruneMethod):
    """Owns ``rounds`` (shared with ``lottery``)."""

    name = "iterative"
    owns = ("rounds",)

    def run(self, job: Job) -> Outcome:
        return iterative(job)


def iterative(job: Job) -> Outcome:
    from tfcompress.prune import masks as masks_lib
    from tfcompress.prune.methods.base import (Outcome, fit, round_epochs, round_sparsity,
                                              run_round)

    s = job.spec
    model, masks, history = job.trained(), None, {}
    for i, epochs in enumerate(round_epochs(job.finetune.epochs, s.rounds), start=1):
        def produce(model=model, masks=masks, i=i, epochs=epochs):
            target = round_sparsity(s.target_sparsity, i, s.rounds)
            new = masks_lib.magnitude(model, target, s.scope, s.skip, keep=masks)
            masks_lib.apply(model, new)
            log.info("[prune] round %d/%d: sparsity %.3f, %d epoch(s)", i, s.rounds,
                     masks_lib.overall(new), epochs)
            h = fit(job, model, replace(job.finetune, epochs=epochs), f"round{i}", new)
            return model, new, h

        model, masks, h = run_round(job, f"round{i}", produce, job.trained)
        history[f"round{i}"] = h
    return Outcome(model, history, masks)


METHOD = Iterative()
