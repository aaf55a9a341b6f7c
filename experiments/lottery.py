"""Lottery tickets on CIFAR-10 with Conv-2, Conv-4 and Conv-6 (Frankle & Carbin 2019, figure 2
and table 1): each seed's network is trained, then pruned over several rounds at the paper's
per-layer rates (convolutions 10% - 15% for Conv-6 -, dense layers 20%, the output layer 10% of
the remaining weights per round), rewound to its initialisation and retrained each round. Every
round's ticket is measured (accuracy against Pm, the early-stopping epoch); the control is the
last round's mask on a fresh random initialisation, trained the same way.

Paper: tickets match or beat the dense network down to Pm of a few percent and stop early
sooner; random re-initialisations of the same masks fall behind as Pm shrinks.

Quick profile: 5 epochs a training, 5 rounds (dense layers at Pm 33%, convolutions at 59%, 44%
for Conv-6), 3 seeds, on a 5,000-image subset for Conv-2 and 2,500 for Conv-4 and Conv-6. An
image costs Conv-4 2.0x and Conv-6 2.2x Conv-2's training time here (``python
scripts/epoch_time.py``: 2.6 / 5.2 / 5.8 s an epoch of 1,200 images at batch 60 on 2 cores),
so at 5,000 images they would take 85-95 min; on 2,500 the quick runs took 40 min (Conv-4) and
58 min (Conv-6) sharing the CPU with another run. Full profile: the paper's schedule (45,000
training images, batch 60, Adam; 20K / 25K / 30K iterations) and 15 rounds (dense Pm 3.5%).
"""

from __future__ import annotations

from .cifar import CIFAR_MEAN, CIFAR_STD
from .pruning_methods import LIGHT_BENCHMARK, dense, repeats
from tfcompress.recipe import DataSpec, ModelSpec, PruneSpec, Recipe, TrainSpec
from tfcompress.catalogue import register_experiment

#: name -> (paper's Adam learning rate, its iterations at batch 60, conv rate per round,
#: the quick profile's training subset)
NETWORKS = {"conv2": (2e-4, 20_000, 0.10, 5000), "conv4": (3e-4, 25_000, 0.10, 2500),
            "conv6": (3e-4, 30_000, 0.15, 2500)}
QUICK_ROUNDS, FULL_ROUNDS = 5, 15
DENSE_RATE, OUTPUT_RATE = 0.2, 0.1


def ticket(conv_rate: float, rounds: int, reinit: bool = False) -> PruneSpec:
    return PruneSpec(round(1 - (1 - DENSE_RATE) ** rounds, 4), method="lottery",
                     rounds=rounds, reinit=reinit,
                     rates=(("conv", conv_rate), ("dense", DENSE_RATE),
                            ("output", OUTPUT_RATE)))


def lottery_variants(conv_rate: float, rounds: int) -> tuple:
    return tuple(dense() + repeats("tickets", ticket(conv_rate, rounds))
                 + repeats("tickets_reinit", ticket(conv_rate, rounds, reinit=True)))


def recipe(name: str) -> Recipe:
    lr, iterations, conv_rate, quick_images = NETWORKS[name]
    pairs = int(name[-1]) // 2
    return Recipe(
        name=f"{name}_lottery_ticket",
        description=f"CIFAR-10 Conv-{2 * pairs}: lottery tickets over {QUICK_ROUNDS} rounds at "
                    f"Frankle & Carbin's rates (conv {conv_rate:.0%}, dense 20%, output 10% "
                    f"per round) vs the same masks randomly re-initialised, 3 seeds.",
        data=DataSpec("cifar10", train_limit=quick_images, test_limit=2000, mean=CIFAR_MEAN,
                      std=CIFAR_STD),
        model=ModelSpec(name),
        train=TrainSpec(epochs=5, batch_size=60, optimizer="adam", learning_rate=lr),
        finetune=TrainSpec(epochs=1),  # unused: lottery tickets retrain with `train`
        variants=lottery_variants(conv_rate, QUICK_ROUNDS),
        benchmark=LIGHT_BENCHMARK,
        profiles={
            "tiny": {"data.train_limit": 256, "data.test_limit": 64, "train.epochs": 2,
                     "model.options": {"widths": [4, 8, 8], "dense": [16, 16]},
                     "variants": lottery_variants(conv_rate, 2),
                     "benchmark.warmup_runs": 1, "benchmark.min_runs": 5,
                     "benchmark.min_seconds": 0.0, "benchmark.throughput_batch": 4},
            "full": {"data.train_limit": 45_000, "data.test_limit": None,
                     "train.epochs": round(iterations * 60 / 45_000),
                     "variants": lottery_variants(conv_rate, FULL_ROUNDS)},
        },
    )


CONV2, CONV4, CONV6 = (register_experiment(recipe(n)) for n in NETWORKS)
