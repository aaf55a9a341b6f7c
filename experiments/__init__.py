"""The registered experiments, grouped by study. Importing this package registers them all."""

from . import (cifar, distill_quant, prune_quant, pruning_methods,  # noqa: F401
               lottery, resnet18, structured, sweeps, transfer)
