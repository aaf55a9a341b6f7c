"""The ResNet-18 learning-rate study (the MMI 712 global-pruning report).

Two CIFAR ResNet-18s trained identically except the learning rate (SGD, momentum 0.9, lr
0.001 vs 0.01), each over three seeds; every trained model is then pruned by one global
magnitude threshold from 0 to 80% in steps of 5%, **without retraining**, and its test
accuracy and CPU time measured at every ratio (``curve``). The report's two readings are put
to the test with error bars: "lr 0.01 is more robust to pruning" and "the dense model is very
slightly faster".

Quick profile: the full-width model (11.18 M parameters) on a 4,000-image subset for 4 epochs
at batch 64 (about 40 minutes on 2 CPU cores): far from converged, so it shows the pipeline
and how the two learning rates' curves compare at that budget, not the report's accuracies.
Full profile: all of CIFAR-10, 100 epochs, the learning rate divided by 10 at 50% and 75%.
"""

from __future__ import annotations

from .cifar import CIFAR_MEAN, CIFAR_STD
from .pruning_methods import LIGHT_BENCHMARK, SEEDS
from tfcompress.recipe import (CurveSpec, DataSpec, ExportSpec, ModelSpec, PruneSpec, Recipe,
                               TrainSpec, Variant)
from tfcompress.catalogue import register_experiment

LEARNING_RATES = (0.001, 0.01)
SCHEDULE = TrainSpec(epochs=4, batch_size=64, optimizer="sgd", learning_rate=0.01,
                     momentum=0.9, weight_decay=5e-4)


def schedule(lr: float) -> TrainSpec:
    from dataclasses import replace

    return replace(SCHEDULE, learning_rate=lr)


def label(lr: float) -> str:
    """``lr0_01`` for 0.01: a variant name is an identifier."""
    return f"lr{lr:g}".replace(".", "_")


def study_variants(seeds: tuple[int, ...] = SEEDS) -> tuple[Variant, ...]:
    """The unpruned model of every learning rate and seed (grouped by learning rate), and the
    first seed's model pruned to 80% without retraining, as float32 TFLite files: the LiteRT
    benchmark then times dense against pruned too."""
    out = [Variant(f"{label(lr)}_seed{s}", ExportSpec("float32"), seed=s, group=f"lr{lr:g}",
                   train=schedule(lr)) for lr in LEARNING_RATES for s in seeds]
    out += [Variant(f"{label(lr)}_pruned80", ExportSpec("float32"),
                    PruneSpec(0.8, method="oneshot", scope="global"), seed=seeds[0],
                    train=schedule(lr)) for lr in LEARNING_RATES]
    return tuple(out)


RESNET18_LR = register_experiment(Recipe(
    name="resnet18_lr_pruning",
    description="CIFAR-10 ResNet-18 trained at lr 0.001 and 0.01 (3 seeds each), pruned by "
                "global magnitude from 0 to 80% in steps of 5% without retraining: accuracy "
                "and CPU time per ratio, one curve per learning rate (the MMI 712 report).",
    data=DataSpec("cifar10", train_limit=4000, test_limit=1000, mean=CIFAR_MEAN,
                  std=CIFAR_STD, augment="crop_flip"),
    model=ModelSpec("resnet18"),
    train=schedule(0.01),
    finetune=TrainSpec(epochs=0),
    variants=study_variants(),
    baseline=f"{label(0.01)}_seed{SEEDS[0]}",
    curve=CurveSpec(criteria=("magnitude",), timing_batch=32, timing_rounds=5,
                    timing_runs=2),
    benchmark=LIGHT_BENCHMARK,
    profiles={
        "tiny": {"data.train_limit": 256, "data.test_limit": 64,
                 "variants": study_variants(SEEDS[:2]),
                 "model.options": {"widths": [4, 8, 8, 16], "blocks": [1, 1, 1, 1]},
                 "train.epochs": 1, "variants.*.train.epochs": 1,
                 "curve.ratios": [0.0, 0.4, 0.8], "curve.timing_batch": 4,
                 "curve.timing_rounds": 2, "benchmark.warmup_runs": 1,
                 "benchmark.min_runs": 5, "benchmark.min_seconds": 0.0,
                 "benchmark.throughput_batch": 4},
        "full": {"data.train_limit": None, "data.test_limit": None, "train.epochs": 100,
                 "variants.*.train.epochs": 100, "train.lr_schedule": "step",
                 "variants.*.train.lr_schedule": "step"},
    },
))
