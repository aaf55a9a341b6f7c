"""The pruning methods a recipe can name (``prune.method``): each a function of a ``Job`` in a
module of its own, registered in ``tfcompress.prune.METHODS``.

- ``gradual``: tfmot's gradual magnitude pruning during fine-tuning (per layer).
- ``oneshot``: prune the trained model to the target at once (per layer or global
  magnitude), then fine-tune with the mask held (``finetune.epochs`` 0: no retraining).
- ``iterative``: ``rounds`` prune / fine-tune cycles (Han et al. 2015); sparsity after round
  i is ``1 - (1 - target)^(i / rounds)``, and the fine-tuning epochs are shared out over the
  rounds, so the budget equals one-shot's.
- ``lottery``: Frankle & Carbin 2019: prune the trained model, rewind the surviving weights
  to their values at initialisation (or after ``rewind_epoch`` epochs), retrain with
  ``train`` under the mask; ``rounds`` > 1 repeats it. ``reinit`` is the control: the same
  final mask on a fresh random initialisation.
- ``snip``: Lee et al. 2019: prune the untrained network by |g * w|, train it with ``train``.
- ``m_by_n``: tfmot's ``sparsity_m_by_n`` (e.g. 2:4), checked afterwards (``check_m_by_n``).
- ``filters`` / ``slimming``: structured pruning (``tfcompress.structured``): whole channels
  removed by filter L1 norm or by batch norm gamma after L1-penalised training; the model is
  rebuilt smaller, then fine-tuned.

Every method returns a plain Keras model: unstructured ones with exact zeros in the pruned
kernels, structured ones physically smaller.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from tfcompress.prune import masks as masks_lib
from tfcompress.prune.methods.base import (Job, Outcome, round_epochs,  # noqa: F401
                                           round_sparsity)
from tfcompress.prune.methods.gradual import gradual  # noqa: F401
from tfcompress.prune.methods.iterative import iterative  # noqa: F401
from tfcompress.prune.methods.lottery import lottery  # noqa: F401
from tfcompress.prune.methods.m_by_n import (check_m_by_n, groups, m_by_n,  # noqa: F401
                                             m_by_n_layers)
from tfcompress.prune.methods.oneshot import oneshot  # noqa: F401
from tfcompress.prune.methods.snip import snip  # noqa: F401
from tfcompress.prune.methods.structured import filters, slimming, structured_groups  # noqa: F401

log = logging.getLogger("tfcompress")

if TYPE_CHECKING:
    from tfcompress._keras import keras
    from tfcompress.recipe import PruneSpec


def preflight(model: keras.Model, spec: PruneSpec, finetune_steps: int) -> None:
    """What a method would refuse, found before any training: layers tfmot cannot wrap, a
    schedule that never reaches its target, layer names in ``skip`` the model does not have,
    a structured policy that leaves nothing to prune.

    Raises:
      InputError: naming the layers or values and what is allowed.
    """
    from tfcompress.errors import InputError
    from tfcompress.prune import STRUCTURED, TFMOT, magnitude, schedule

    if spec.method in TFMOT:
        found = magnitude.unsupported_layers(model)
        bad = [b for b in found if b["fatal"]]
        if bad:
            listed = "; ".join(f"{b['name']} ({b['type']}): {b['why']}" for b in bad)
            raise InputError(f"{len(bad)} layer(s) cannot be pruned by tfmot: {listed}. Use "
                             f"another prune.method or replace these layers")
        for b in found:
            log.warning("[prune] %s (%s) %s", b["name"], b["type"], b["why"])
    if spec.method == "gradual":
        schedule.plan(spec, finetune_steps)
    if spec.method in STRUCTURED:
        slim = spec.method == "slimming"
        from tfcompress.structured.flatten import flatten

        _, chosen = structured_groups(flatten(model), spec.skip,
                                      "bn_gamma" if slim else spec.criterion)
        if not chosen:  # found before any training (slimming trains before it ranks)
            raise InputError("no channel group of the model can be pruned (all frozen or "
                             "skipped" + (", or passing no batch norm: this ranks "
                                          "channels by batch norm gamma; use l1)"
                                          if slim or spec.criterion == "bn_gamma" else ")"))
    else:
        masks_lib.prunable(model, spec.skip)
