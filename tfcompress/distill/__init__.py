"""Knowledge distillation (Hinton et al. 2015): a student learns from a frozen teacher."""

from tfcompress.distill.distiller import Distiller, logits_and_probs

__all__ = ["Distiller", "logits_and_probs"]
