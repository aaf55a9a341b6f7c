"""``lottery``: Frankle & Carbin 2019: prune the trained model, rewind the surviving weights to
their values at initialisation (or after ``rewind_epoch`` epochs), retrain with ``train`` under
the mask; ``rounds`` > 1 repeats it. ``reinit`` is the control: the same final mask on a fresh
random initialisation."""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

from tfcompress._keras import keras
from tfcompress.prune import masks as masks_lib
from tfcompress.prune.methods.base import Job, Outcome, fit, round_sparsity, run_round

log = logging.getLogger("tfcompress")


def _rewound(job: Job, seed: int) -> keras.Model:
    """The weights the lottery rewinds to: at initialisation, or after ``rewind_epoch``
    epochs of the baseline's training (late rewinding)."""
    model = job.initial(seed)
    if job.spec.rewind_epoch:
        fit(job, model, replace(job.train, epochs=job.spec.rewind_epoch), "rewind", None)
    return model


def lottery(job: Job) -> Outcome:
    s = job.spec
    if s.reinit and job.masks_of is not None:  # the control: the ticket's mask, made once
        return _reinit(job, job.masks_of(replace(s, reinit=False)), {})
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
            h = fit(job, ticket, job.train, f"round{i}", new)
            return ticket, new, h

        model, masks, h = run_round(job, f"round{i}", produce, job.trained)
        history[f"round{i}"] = h
    if not s.reinit:
        return Outcome(model, history, masks)
    return _reinit(job, masks, history)


def _reinit(job: Job, masks: masks_lib.Masks, history: dict[str, Any]) -> Outcome:
    """The control of a lottery ticket: its mask on weights drawn afresh (another seed),
    trained with the same budget."""
    control = job.initial(job.seed + 10_000)
    masks_lib.apply(control, masks)
    history = {**history, "reinit": fit(job, control, job.train, "reinit", masks)}
    return Outcome(control, history, masks, {"reinit_seed": job.seed + 10_000})
