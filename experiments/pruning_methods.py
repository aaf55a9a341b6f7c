"""The pruning methods of the classic studies, each reproducing a published finding.

- ``mnist_oneshot_vs_iterative``: Han et al. 2015 on LeNet-300-100: at equal fine-tuning
  budget, iterative prune / fine-tune cycles beat one-shot pruning at high sparsity.
- ``lenet_lottery_ticket``: Frankle & Carbin 2019: a pruned LeNet-300-100 rewound to its
  initialisation retrains better than the same mask on a fresh random initialisation.
- ``lenet_lottery_rates``: the same with the paper's own rates (20% per round per layer,
  10% for the output layer), every round measured: the accuracy-against-Pm curve.
- ``lenet_snip``: Lee et al. 2019: LeNet-300-100 pruned to 95% at initialisation by SNIP,
  then trained, comes within a point of the dense network (paper: 1.6% error at 95%).
- ``lenet_snip_curve``: the same at 50-99% (test error against sparsity, Lee et al.'s
  figure), and ``lenet5_snip``: LeNet-5-Caffe at 98% (paper: 0.8% error).
- ``mnist_layer_sensitivity``: one layer of LeNet-5 pruned at a time (conv vs dense).
- ``mnist_size_and_time_vs_ratio``: one-shot pruning without retraining over ratios 0-0.8:
  accuracy, Keras and TFLite size (raw, gzip, dense and sparse-encoded) and CPU time.
- ``resnet_global_vs_local_sweep``: global vs per-layer magnitude pruning of ResNet-20.

Repeats over seeds are variants with their own ``seed`` and a shared ``group``; each seed
trains its own baseline, and the report gives mean ± std per group.
"""

from __future__ import annotations

from .cifar import RESNET20, RESNET56
from .common import tiny
from .prune_quant import MNIST
from tfcompress.recipe import (BenchmarkSpec, DataSpec, ExportSpec, ModelSpec, PruneSpec,
                               Recipe, SensitivitySpec, TrainSpec, Variant, derive)
from tfcompress.catalogue import register_experiment

SEEDS = (0, 1, 2)
#: small timing budget: these studies compare accuracy, and many variants are timed
LIGHT_BENCHMARK = BenchmarkSpec(threads=(1,), warmup_runs=5, min_runs=50, min_seconds=0.5,
                                throughput_batch=32)
TINY_METHODS = {**tiny(600, 300, {"hidden": [32, 16]}), "variants.*.prune.frequency": 2}


def dense(seeds=SEEDS, mode: str = "float32") -> list[Variant]:
    """The unpruned model of every seed (the first is the baseline, named ``mode``)."""
    return [Variant(mode if s == seeds[0] else f"{mode}_seed{s}", ExportSpec(mode), None,
                    seed=s, group="dense") for s in seeds]


def repeats(name: str, prune: PruneSpec, seeds=SEEDS, mode: str = "float32") -> list[Variant]:
    """``prune`` once per seed: ``<name>_seed<s>``, grouped as ``name``."""
    return [Variant(f"{name}_seed{s}", ExportSpec(mode), prune, seed=s, group=name)
            for s in seeds]


LENET = dict(
    data=DataSpec("mnist"),
    model=ModelSpec("lenet_300_100"),
    train=TrainSpec(epochs=10, batch_size=128, optimizer="adam", learning_rate=1e-3),
    benchmark=LIGHT_BENCHMARK,
)


def _oneshot_vs_iterative(ratios: tuple[float, ...], gradual: tuple[float, ...],
                          seeds: tuple[int, ...] = SEEDS) -> tuple[Variant, ...]:
    """One-shot and iterative (4 rounds) at each ratio, tfmot's gradual pruning (iterative in
    small steps: a mask update every 50 steps) at each of ``gradual``, once per seed."""
    return tuple(dense(seeds) + [
        v for s in ratios
        for method in ("oneshot", "iterative")
        for v in repeats(f"{method}{round(s * 100)}",
                         PruneSpec(s, method=method, rounds=4 if method == "iterative" else 1),
                         seeds)
    ] + [v for s in gradual
         for v in repeats(f"gradual{round(s * 100)}", PruneSpec(s, frequency=50), seeds)])


ONESHOT_VS_ITERATIVE = register_experiment(Recipe(
    name="mnist_oneshot_vs_iterative",
    description="LeNet-300-100 on MNIST: one-shot vs iterative (4 rounds) magnitude pruning "
                "to 50-98%, and tfmot's gradual pruning at 90-98%, the same 4 fine-tuning "
                "epochs each, 3 seeds (Han et al. 2015).",
    finetune=TrainSpec(epochs=4, batch_size=128, optimizer="adam", learning_rate=5e-4),
    variants=_oneshot_vs_iterative((0.5, 0.8, 0.9, 0.95, 0.98), (0.9, 0.95, 0.98)),
    # tiny: the grid's shape (both methods, two ratios, gradual, two seeds per group) in 12
    # variants instead of 42
    profiles={"tiny": {"variants": _oneshot_vs_iterative((0.5, 0.9), (0.9,), seeds=(0, 1)),
                       **TINY_METHODS}},  # the variants first: the profile's wildcards apply
    **LENET,
))

LOTTERY = register_experiment(Recipe(
    name="lenet_lottery_ticket",
    description="LeNet-300-100 on MNIST: lottery tickets (3 rounds of magnitude pruning, "
                "rewound to the initialisation) vs the same masks randomly re-initialised, "
                "90% and 97% sparsity, 3 seeds (Frankle & Carbin 2019).",
    finetune=TrainSpec(epochs=1),  # unused: lottery tickets retrain with `train`
    variants=tuple(dense() + [
        v for s in (0.9, 0.97) for reinit in (False, True)
        for v in repeats(f"lottery{round(s * 100)}" + ("_reinit" if reinit else ""),
                         PruneSpec(s, method="lottery", rounds=3, reinit=reinit))
    ]),
    profiles={"tiny": TINY_METHODS},
    **{**LENET, "train": TrainSpec(epochs=8, batch_size=128, optimizer="adam",
                                   learning_rate=1.2e-3)},
))

LOTTERY_RATES = register_experiment(derive(
    LOTTERY, "lenet_lottery_rates",
    "LeNet-300-100 on MNIST: lottery tickets at Frankle & Carbin's own rates (20% of each "
    "hidden layer's and 10% of the output layer's remaining weights per round, 10 rounds, every "
    "round measured) vs the last masks randomly re-initialised, 3 seeds.",
    profiles={"tiny": {**TINY_METHODS, "variants": tuple(
        dense((0,)) + repeats("tickets", PruneSpec(0.36, method="lottery", rounds=2, rates=(
            ("dense", 0.2), ("output", 0.1))), seeds=(0,)))}},
    **{"variants": tuple(dense() + [
        v for reinit in (False, True)
        for v in repeats("tickets" + ("_reinit" if reinit else ""), PruneSpec(
            round(1 - 0.8 ** 10, 4), method="lottery", rounds=10, reinit=reinit,
            rates=(("dense", 0.2), ("output", 0.1))))])},
))

SNIP = register_experiment(Recipe(
    name="lenet_snip",
    description="LeNet-300-100 on MNIST pruned to 95% at initialisation by SNIP "
                "(|g * w| on one batch, global), then trained; vs dense, 3 seeds "
                "(Lee et al. 2019: 1.6% error at 95%).",
    finetune=TrainSpec(epochs=1),  # unused: SNIP trains with `train`
    variants=tuple(dense() + repeats("snip95", PruneSpec(0.95, method="snip",
                                                         scope="global"))),
    profiles={"tiny": TINY_METHODS},
    # A 95%-sparse network trains slowly: 20 epochs at a higher rate with step decay (the
    # paper trains 250k iterations); dense and sparse get the same schedule.
    **{**LENET, "train": TrainSpec(epochs=20, batch_size=128, optimizer="adam",
                                   learning_rate=3e-3, lr_schedule="step")},
))

SNIP_SPARSITIES = (0.5, 0.8, 0.9, 0.95, 0.98, 0.99)

SNIP_CURVE = register_experiment(derive(
    SNIP, "lenet_snip_curve",
    "LeNet-300-100 on MNIST pruned at initialisation by SNIP to 50-99%, then trained; test "
    "error against sparsity, 3 seeds each (Lee et al. 2019: 1.6% at 95%, 2.4% at 98%).",
    profiles={"tiny": {**TINY_METHODS, "variants": tuple(
        dense((0, 1)) + [v for s in (0.5, 0.9, 0.99)
                         for v in repeats(f"snip{round(s * 100)}",
                                          PruneSpec(s, method="snip", scope="global"),
                                          seeds=(0, 1))])}},
    **{"variants": tuple(dense() + [
        v for s in SNIP_SPARSITIES
        for v in repeats(f"snip{round(s * 100)}", PruneSpec(s, method="snip", scope="global"))
    ])},
))

LENET5_SNIP = register_experiment(derive(
    SNIP, "lenet5_snip",
    "LeNet-5-Caffe on MNIST pruned to 98% at initialisation by SNIP, then trained; vs dense, 3 "
    "seeds (Lee et al. 2019: 0.8% error at 98%, their dense reference 0.9%).",
    profiles={"tiny": {**tiny(600, 300, {"filters": [4, 8], "dense_units": 32})}},
    **{"model.name": "lenet5",
       # an epoch costs LeNet-5 3.7x LeNet-300-100 here (scripts/epoch_time.py): 6 epochs
       # (the paper: 250k iterations); dense and sparse get the same schedule
       "train.epochs": 6,
       "variants": tuple(dense() + repeats("snip98", PruneSpec(0.98, method="snip",
                                                               scope="global")))},
))

SENSITIVITY = register_experiment(Recipe(
    name="mnist_layer_sensitivity",
    description="LeNet-5 on MNIST: each conv and dense layer pruned alone (one-shot magnitude, "
                "no retraining) at 10-95%; validation accuracy per layer and proposed "
                "per-layer targets.",
    data=DataSpec("mnist"),
    model=ModelSpec("lenet5"),
    train=TrainSpec(epochs=4, batch_size=128, optimizer="adam", learning_rate=1e-3),
    finetune=TrainSpec(epochs=0),
    variants=(Variant("float32", ExportSpec("float32")),
              Variant("oneshot80", ExportSpec("float32"), PruneSpec(0.8, method="oneshot"))),
    sensitivity=SensitivitySpec(ratios=(0.1, 0.3, 0.5, 0.7, 0.8, 0.9, 0.95), tolerance=0.5),
    benchmark=LIGHT_BENCHMARK,
    profiles={"tiny": {**tiny(600, 300, {"filters": [4, 8], "dense_units": 32}),
                       "finetune.epochs": 0, "sensitivity.ratios": [0.5, 0.9]}},
))

SIZE_AND_TIME = register_experiment(derive(
    MNIST, "mnist_size_and_time_vs_ratio",
    "MNIST CNN pruned one-shot without retraining at ratios 0-0.8: accuracy, Keras and TFLite "
    "size (raw, gzip, dense and sparse-encoded) and CPU time per ratio.",
    profiles={"tiny": {**tiny(600, 300, {"filters": [4, 8], "dense_units": 32}),
                       "finetune.epochs": 0}},
    **{
        "variants": tuple(
            Variant(f"{mode}" if r == 0 else f"oneshot{round(r * 100)}_{mode}",
                    ExportSpec(mode), None if r == 0 else PruneSpec(r, method="oneshot"))
            for r in (0.0, 0.2, 0.4, 0.6, 0.8)
            for mode in ("float32", "float32_sparse", "int8", "int8_sparse")),
        "finetune.epochs": 0,  # after the variants: tfmot's gradual pruning needs epochs
    },
))

GLOBAL_VS_LOCAL = register_experiment(derive(
    RESNET20, "resnet_global_vs_local_sweep",
    "CIFAR-10 ResNet-20: one-shot magnitude pruning to 50/70/90% with one global threshold "
    "vs the same ratio in every layer (first conv and classifier kept dense), 2 fine-tuning "
    "epochs each; per-layer ratios in the report.",
    profiles=RESNET56.profiles,  # not resnet20_prune_quant's tiny variants
    **{
        "variants": (Variant("float32", ExportSpec("float32")),) + tuple(
            Variant(f"{scope}{round(s * 100)}", ExportSpec("float32"),
                    PruneSpec(s, method="oneshot", scope=scope, skip=("first", "last")))
            for s in (0.5, 0.7, 0.9) for scope in ("layer", "global")),
        "benchmark": LIGHT_BENCHMARK,
    },
))
