"""The pruning methods a recipe can name (``prune.method``): each a ``PruneMethod``
(``tfcompress.prune.method``) in a module of its own, registered by one line in
``tfcompress.prune.PRUNE_METHODS``. ``base`` holds what every method gets (``Job``) and returns
(``Outcome``), and the pieces several share.

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
- ``resolution``: the same layers on a smaller input image (a ``Resizing`` layer after the
  input: the file takes the same images), its side searched for ``target_speedup``, then
  fine-tuned: every filter kept, multiply-adds falling with the square of the side.

Every method returns a plain Keras model: unstructured ones with exact zeros in the pruned
kernels, structured ones physically smaller, ``resolution`` the same weights on smaller maps.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tfcompress.prune import PRUNE_METHODS

if TYPE_CHECKING:
    from tfcompress.recipe import PruneSpec


def preflight(model: Any, spec: PruneSpec, finetune_steps: int) -> None:
    """What ``spec.method`` would refuse, found before any training: layers tfmot cannot
    wrap, a schedule that never reaches its target, layer names in ``skip`` the model does
    not have, a structured policy that leaves nothing to prune (``PruneMethod.preflight``).

    Raises:
      InputError: naming the layers or values and what is allowed.
    """
    PRUNE_METHODS.get(spec.method).preflight(model, spec, finetune_steps)
