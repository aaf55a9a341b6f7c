"""Structured pruning that physically shrinks the model, against unstructured sparsity.

``resnet56_pruning_comparison`` is the seed R&D study: ResNet-56 on CIFAR-10, the dense
baseline vs weight (magnitude) pruning vs L1-norm filter pruning (Li et al. 2017) vs network
slimming (Liu et al. 2017), each followed by the same fine-tuning budget, each also as int8,
all measured in one run. Filter pruning removes half of the channels inside every residual
block (the residual streams stay whole, as in Li et al.'s ResNet-56-B), which removes about
half of the convolution MACs. The quick profile reuses ``resnet56_prune_quant``'s baseline
(same data, model and training, so the cached step is shared).

Anchors for the full profile: Li et al. ResNet-56-pruned-B 93.06% at -27.6% FLOPs;
Torch-Pruning's ResNet-56 93.64% at 2.57x fewer FLOPs.
"""

from __future__ import annotations

from .cifar import RESNET56
from .prune_quant import MNIST
from tfcompress.recipe import ExportSpec, PruneSpec, Variant, derive
from tfcompress.registry import register_experiment


def comparison(methods: dict[str, PruneSpec]) -> tuple[Variant, ...]:
    """The dense model and every method, each as float32 and int8."""
    out = [Variant("float32", ExportSpec("float32")), Variant("int8", ExportSpec("int8"))]
    for name, spec in methods.items():
        out += [Variant(f"{name}_float32", ExportSpec("float32"), spec),
                Variant(f"{name}_int8", ExportSpec("int8"), spec)]
    return tuple(out)


RESNET56_COMPARISON = register_experiment(derive(
    RESNET56, "resnet56_pruning_comparison",
    "CIFAR-10 ResNet-56: magnitude (50% of weights) vs L1 filter pruning vs network slimming "
    "(50% of the channels inside each block), same fine-tuning budget, float32 and int8, "
    "latency at 1 and 2 threads.",
    **{"variants": comparison({
        "magnitude50": PruneSpec(0.5, frequency=50),
        "filters50": PruneSpec(0.5, method="filters", skip=("residual",)),
        "slimming50": PruneSpec(0.5, method="slimming", scope="global", skip=("residual",),
                                slimming_penalty=1e-4),
    })},
))

MNIST_STRUCTURED = register_experiment(derive(
    MNIST, "mnist_structured_vs_unstructured",
    "MNIST CNN: whole filters and dense neurons removed (L1 norm, 50% and 75% per layer; "
    "'matrix-based' pruning) vs magnitude pruning of single weights (80%), same fine-tuning.",
    **{"variants": comparison({
        "magnitude80": PruneSpec(0.8, frequency=100),
        "filters50": PruneSpec(0.5, method="filters"),
        "filters75": PruneSpec(0.75, method="filters"),
    })},
))
