"""Knowledge distillation (Hinton et al. 2015): a student learns from a frozen teacher."""

from typing import Any

from tfcompress import flavor
from tfcompress.distill.distiller import Distiller, logits_and_probs


def distiller_of(student: Any) -> type:
    """The distiller for ``student``'s Keras: the suite's ``Distiller`` for tf_keras, Keras 3's
    own ``keras.distillation`` (``KerasDistiller``, the same loss) for Keras 3."""
    if flavor.which(student) == flavor.KERAS3:
        from tfcompress.distill.keras3 import KerasDistiller

        return KerasDistiller
    return Distiller


__all__ = ["Distiller", "distiller_of", "logits_and_probs"]
