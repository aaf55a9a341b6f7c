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

``resnet20_structured_criteria`` ranks the channels of one ResNet-20 four ways - at random,
filter L1 norm (Li et al. 2017), batch norm |gamma| (slimming's criterion without its
penalised training) and first-order Taylor importance (Molchanov et al. 2019) - removes half
inside every block, and fine-tunes each the same way, over three seeds (each seed its own
baseline). The same baselines are pruned unstructured without retraining, by magnitude and at
random at equal sparsity (``curve``).
"""

from __future__ import annotations

from .cifar import RESNET20, RESNET56
from .prune_quant import MNIST
from .pruning_methods import LIGHT_BENCHMARK, SEEDS, dense, repeats
from tfcompress.prune import STRUCTURED_CRITERIA
from tfcompress.recipe import CurveSpec, ExportSpec, PruneSpec, Variant, derive
from tfcompress.catalogue import register_experiment


def comparison(methods: dict[str, PruneSpec]) -> tuple[Variant, ...]:
    """The dense model and every method, each as float32 and int8."""
    out = [Variant("float32", ExportSpec("float32")), Variant("int8", ExportSpec("int8"))]
    for name, spec in methods.items():
        out += [Variant(f"{name}_float32", ExportSpec("float32"), spec),
                Variant(f"{name}_int8", ExportSpec("int8"), spec)]
    return tuple(out)


#: each structured method at its own paper's operating point on CIFAR, float32: Li et al.'s
#: ResNet-56-pruned-A (10% of the filters of every block's first convolution, except the
#: sensitive layers 16, 20, 38 and 54: conv1 of blocks 8, 10, 19 and 27) and Liu et al.'s
#: 40% of the channels by one global threshold (their ResNet-164 point)
PAPER_POINTS = (
    Variant("filters10_pruned_a_float32", ExportSpec("float32"), PruneSpec(
        0.1, method="filters", skip=("residual", "s1b8_conv1", "s2b1_conv1", "s3b1_conv1",
                                     "s3b9_conv1"))),
    Variant("slimming40_float32", ExportSpec("float32"), PruneSpec(
        0.4, method="slimming", scope="global", skip=("residual",), slimming_penalty=1e-4)),
)

#: the thesis's MLMark-style measurements: throughput at batch 1 to 128, peak memory
MLMARK = {"benchmark.batches": (1, 8, 32, 128), "benchmark.memory": True}

RESNET56_COMPARISON = register_experiment(derive(
    RESNET56, "resnet56_pruning_comparison",
    "CIFAR-10 ResNet-56: magnitude (50% of weights) vs L1 filter pruning vs network slimming "
    "(50% of the channels inside each block), same fine-tuning budget, float32 and int8, "
    "latency at 1 and 2 threads, throughput at batch 1-128 and peak memory.",
    profiles={**RESNET56.profiles,
              "tiny": {**RESNET56.profiles["tiny"], "benchmark.batches": [1, 4],
                       "variants": RESNET56.variants[:2] + comparison({
                           "filters50": PruneSpec(0.5, method="filters",
                                                  skip=("residual",))})[2:]}},
    **{"variants": comparison({
        "magnitude50": PruneSpec(0.5, frequency=50),
        "filters50": PruneSpec(0.5, method="filters", skip=("residual",)),
        "slimming50": PruneSpec(0.5, method="slimming", scope="global", skip=("residual",),
                                slimming_penalty=1e-4),
    }) + PAPER_POINTS, **MLMARK},
))

PREACT_COMPARISON = register_experiment(derive(
    RESNET56_COMPARISON, "preact_resnet56_pruning_comparison",
    "CIFAR-10 pre-activation ResNet-56 (He et al. 2016b; the thesis's second model): the same "
    "magnitude vs filter vs slimming comparison, throughput at batch 1-128, peak memory.",
    profiles={**RESNET56_COMPARISON.profiles,
              "tiny": {**RESNET56_COMPARISON.profiles["tiny"],
                       "model.options": {"depth": 8, "widths": [4, 8, 16], "preact": True}}},
    **{"model.name": "preact_resnet56"},
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

def criteria_variants(seeds: tuple[int, ...] = SEEDS) -> tuple[Variant, ...]:
    """The dense model and half the channels inside every block removed by each criterion
    (random first: the control), each over ``seeds``."""
    order = ("random", *[c for c in STRUCTURED_CRITERIA if c != "random"])
    return tuple(dense(seeds) + [
        v for c in order for v in repeats(f"filters50_{c}", PruneSpec(
            0.5, method="filters", criterion=c, skip=("residual",)), seeds)])


CRITERIA_COMPARISON = register_experiment(derive(
    RESNET20, "resnet20_structured_criteria",
    "CIFAR-10 ResNet-20: half the channels inside every block removed by random, L1-norm, "
    "BN-gamma and first-order Taylor ranking, same fine-tuning, 3 seeds; and unstructured "
    "magnitude vs random pruning at equal sparsity without retraining.",
    profiles={"tiny": {**RESNET56.profiles["tiny"], "curve.ratios": [0.0, 0.5, 0.9],
                       "variants": criteria_variants((0, 1))}},
    **{
        "variants": criteria_variants(),
        "curve": CurveSpec(ratios=tuple(round(0.1 * i, 1) for i in range(10)),
                           criteria=("magnitude", "random"), timing_batch=0),
        "benchmark": LIGHT_BENCHMARK,
    },
))
