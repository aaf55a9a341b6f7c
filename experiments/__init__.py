"""The registered experiments, grouped by study. Importing this package registers them all."""

from experiments import cifar, prune_quant, pruning_methods, structured, transfer  # noqa: F401
