"""Magnitude pruning for Keras 3 models, the way tfmot's guide teaches it for Keras 2.

    from tfcompress import sparsity                           # model: a Keras 3 model

    schedule = sparsity.PolynomialDecay(0.0, 0.8, begin_step=0, end_step=end_step)
    pruned = sparsity.prune_low_magnitude(model, schedule)      # 1. wrap
    pruned.compile(...)
    pruned.fit(x, y, callbacks=[sparsity.UpdatePruningStep()])  # 2. the callback
    final = sparsity.strip_pruning(pruned)                      # 3. strip: plain Keras 3

Its core is ``keras.ops`` and numpy, so it runs on the TensorFlow and the JAX backends. Keras 2
(``tf_keras``) models are pruned with tfmot; ``tfcompress.compress`` takes either.
"""

from tfcompress.sparsity.callback import UpdatePruningStep, update_masks
from tfcompress.sparsity.schedules import (ConstantSparsity, PiecewiseSparsity,
                                           PolynomialDecay, PruningSchedule, from_spec)
from tfcompress.sparsity.summaries import PruningSummaries
from tfcompress.sparsity.wrapper import (PrunableLayer, PruneLowMagnitude, is_prunable,
                                         layer_sparsity, prune_low_magnitude, prune_scope,
                                         strip_pruning, why_not_prunable, wrappers)

__all__ = ["ConstantSparsity", "PiecewiseSparsity", "PolynomialDecay", "PrunableLayer",
           "PruneLowMagnitude", "PruningSchedule", "PruningSummaries", "UpdatePruningStep",
           "from_spec", "is_prunable", "layer_sparsity", "prune_low_magnitude",
           "prune_scope", "strip_pruning", "update_masks", "why_not_prunable", "wrappers"]
