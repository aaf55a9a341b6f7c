"""The registered experiments, grouped by study. Importing this package registers them all."""

from experiments import cifar, prune_quant, transfer  # noqa: F401
