"""``lottery``: Frankle & Carbin 2019: prune the trained model, rewind the surviving weights to
their values at initialisation (or after ``rewind_epoch`` epochs), retrain with ``train`` under
the mask; ``rounds`` > 1 repeats it. ``reinit`` is the control: the same final mask on a fresh
random initialisation.

``rates`` gives the paper's per-layer rates (e.g. conv 10%, dense 20%, output 10% of the
remaining weights each round) instead of one sparsity for every layer. Every round's ticket is
measured (``rounds`` in the step's facts): the fraction of weights remaining (Pm), its test
accuracy after retraining, and the epoch of its lowest validation loss (the paper's
early-stopping iteration, at epoch granularity) with the validation accuracy there."""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np

from tfcompress.prune.method import PruneMethod
from tfcompress.recipe.checks import _number, _require

if TYPE_CHECKING:
    from tfcompress.prune.methods.base import Job, Outcome
    from tfcompress.recipe import PruneSpec

log = logging.getLogger("tfcompress")

#: layer kinds ``prune.rates`` names: convolutions, dense layers, the last prunable layer
RATE_KINDS = ("conv", "dense", "output")


class Lottery(PruneMethod):
    """Owns ``rounds`` (with ``iterative``), ``rewind_epoch``, ``reinit`` and ``rates``."""

    name = "lottery"
    owns = ("rounds", "rewind_epoch", "reinit", "rates")
    retrains = True

    def validate(self, spec: PruneSpec) -> None:
        super().validate(spec)
        _require(isinstance(spec.rewind_epoch, int) and not isinstance(spec.rewind_epoch, bool)
                 and spec.rewind_epoch >= 0, "prune.rewind_epoch", "an integer >= 0",
                 spec.rewind_epoch)
        _require(isinstance(spec.reinit, bool), "prune.reinit", "true or false", spec.reinit)
        if not spec.rates:
            return
        rates = dict(spec.rates)
        _require(all(len(r) == 2 and r[0] in RATE_KINDS and _number(r[1]) and 0 < r[1] < 1
                     for r in spec.rates) and len(rates) == len(spec.rates)
                 and "dense" in rates, "prune.rates",
                 f"[[kind, rate], ...] with kinds from {list(RATE_KINDS)} (dense among them), "
                 f"each once, rates in (0, 1)", [list(r) for r in spec.rates])
        expected = 1 - (1 - rates["dense"]) ** spec.rounds
        _require(abs(spec.target_sparsity - expected) < 5e-3, "prune.target_sparsity",
                 f"{expected:.3f} with prune.rates (the dense layers' sparsity after "
                 f"{spec.rounds} rounds at {rates['dense']})", spec.target_sparsity)

    def step_name(self, spec: PruneSpec) -> str:
        return super().step_name(spec) + ("_reinit" if spec.reinit else "")

    def label(self, prune: PruneSpec) -> str:
        return super().label(prune) + (" reinit" if prune.reinit else "")

    def run(self, job: Job) -> Outcome:
        return lottery(job)


def _rewound(job: Job, seed: int) -> Any:
    """The weights the lottery rewinds to: at initialisation, or after ``rewind_epoch``
    epochs of the baseline's training (late rewinding)."""
    from tfcompress.prune.methods.base import fit

    model = job.initial(seed)
    if job.spec.rewind_epoch:
        fit(job, model, replace(job.train, epochs=job.spec.rewind_epoch), "rewind", None)
    return model


def lottery(job: Job) -> Outcome:
    from tfcompress.prune import masks as masks_lib
    from tfcompress.prune.methods.base import Outcome, fit, round_sparsity, run_round

    s = job.spec
    if s.reinit and job.masks_of is not None:  # the control: the ticket's mask, made once
        return _reinit(job, job.masks_of(replace(s, reinit=False)), {})
    model, masks, history = job.trained(), None, {}
    rewind = _rewound(job, job.seed)
    start = [w.copy() for w in rewind.get_weights()]
    measured = []
    for i in range(1, s.rounds + 1):
        def produce(model=model, masks=masks, i=i):
            if s.rates:
                new = rated_masks(model, dict(s.rates), i, s.skip, keep=masks)
            else:
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
        measured.append(round_facts(job, i, model, masks, h))
    if not s.reinit:
        return Outcome(model, history, masks, {"rounds": measured})
    return _reinit(job, masks, history)


def kind_of(layer: Any, last: str) -> str:
    """``output`` (the last prunable layer), ``conv`` or ``dense``."""
    from tfcompress.prune import masks as masks_lib

    if layer.name == last:
        return "output"
    return "conv" if len(masks_lib.kernel(layer).shape) > 2 else "dense"


def rated_masks(model: Any, rates: dict[str, float], i: int, skip: Any,
                keep: dict[str, np.ndarray] | None) -> dict[str, np.ndarray]:
    """Round ``i``'s masks with a rate per layer kind: each layer at 1 - (1 - rate)^i (a kind
    not in ``rates`` at the dense rate), the weights pruned before staying pruned."""
    from tfcompress.prune import masks as masks_lib

    layers = masks_lib.prunable(model, skip)
    scores = masks_lib.magnitude_scores(layers)
    out = {}
    for layer in layers:
        rate = rates.get(kind_of(layer, layers[-1].name), rates["dense"])
        out.update(masks_lib.select({layer.name: scores[layer.name]}, 1 - (1 - rate) ** i,
                                    "layer", {layer.name: keep[layer.name]} if keep else None))
    return out


def round_facts(job: Job, i: int, model: Any, masks: dict[str, np.ndarray],
                history: dict[str, Any]) -> dict[str, Any]:
    """A round's ticket: weights remaining, test accuracy, and its early-stopping epoch (the
    lowest validation loss; None when the round was loaded after an interruption)."""
    from tfcompress.prune import masks as masks_lib
    from tfcompress.train.loop import accuracy

    val = history.get("val_loss") or []
    best = int(np.argmin(val)) if val else None
    return {"round": i, "remaining": 1 - masks_lib.overall(masks),
            "test_accuracy": accuracy(model, job.data.x_test, job.data.y_test),
            "early_stop_epoch": None if best is None else best + 1,
            "early_stop_val_accuracy": (None if best is None
                                        else history["val_accuracy"][best]),
            "epochs": len(val) or None}


def _reinit(job: Job, masks: dict[str, np.ndarray], history: dict[str, Any]) -> Outcome:
    """The control of a lottery ticket: its mask on weights drawn afresh (another seed),
    trained with the same budget."""
    from tfcompress.prune import masks as masks_lib
    from tfcompress.prune.methods.base import Outcome, fit

    control = job.initial(job.seed + 10_000)
    masks_lib.apply(control, masks)
    history = {**history, "reinit": fit(job, control, job.train, "reinit", masks)}
    return Outcome(control, history, masks, {"reinit_seed": job.seed + 10_000})


METHOD = Lottery()
