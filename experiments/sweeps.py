"""keras-tuner sweeps of how a model is pruned, scored on the measured size and latency of
its int8 TFLite file (``tfcompress.sweep``)."""

from __future__ import annotations

from .cifar import RESNET20, RESNET56
from .prune_quant import MNIST
from tfcompress.recipe import ExportSpec, Param, PruneSpec, SweepSpec, Variant, derive
from tfcompress.catalogue import register_experiment

#: The trial template: gradual pruning, int8 export. The space sets its fields.
TRIAL = Variant("pruned_int8", ExportSpec("int8"), PruneSpec(0.8, frequency=100))


def space(frequencies: tuple[int, ...], epochs: tuple[int, int],
          ends: tuple[float, ...] = (0.5, 0.75, 1.0)) -> tuple[Param, ...]:
    """Final sparsity, the schedule's shape, one-shot vs gradual, fine-tuning epochs."""
    prune = "sweep.trial.prune."
    return (
        Param(prune + "target_sparsity", "float", 0.5, 0.95, step=0.05),
        Param(prune + "method", "choice", values=("gradual", "oneshot")),
        Param(prune + "begin_fraction", "choice", values=(0.0, 0.25)),
        Param(prune + "end_fraction", "choice", values=ends),
        Param(prune + "power", "choice", values=(1.0, 3.0)),
        Param(prune + "frequency", "choice", values=frequencies),
        Param("finetune.epochs", "int", epochs[0], epochs[1]),
    )


def tiny_sweep(max_trials: int) -> dict:
    """Three trials on the tiny data, schedules that fit its few steps: a mask update every
    step, and windows that end at 0.75 or later (of 2 steps, 0.25 to 0.5 rounds to no step at
    all; every 2nd step leaves others no interval), so whichever configurations the tuner
    draws (a Bayesian one's next depends on measured latencies), every trial runs."""
    return {"sweep.max_trials": max_trials,
            "sweep.space": space((1,), (1, 2), ends=(0.75, 1.0)),
            "sweep.trial.prune.frequency": 1, "sweep.trial.export.calibration_samples": 16}


MNIST_SWEEP = register_experiment(derive(
    MNIST, "mnist_sparsity_sweep",
    "MNIST CNN: random search (8 trials) over sparsity, schedule, one-shot vs gradual and "
    "fine-tune epochs; the most accurate int8 TFLite file within 1 MiB gzip is chosen.",
    profiles={
        "tiny": {**MNIST.profiles["tiny"], **tiny_sweep(3), "sweep.max_gzip_kib": 20.0},
        "full": {"sweep.max_trials": 30, "sweep.space": space((50, 100, 200), (2, 6))},
    },
    variants=(MNIST.variant("float32"), MNIST.variant("int8")),
    sweep=SweepSpec(trial=TRIAL, space=space((50, 100), (1, 2)), tuner="random",
                    max_trials=8, objective="constrained", max_gzip_kib=1024.0),
))

RESNET20_SWEEP = register_experiment(derive(
    RESNET20, "resnet20_sparsity_sweep",
    "CIFAR-10 ResNet-20: Bayesian search (6 trials) over sparsity and schedule; score = "
    "accuracy - 0.5 x gzip MiB - 0.05 x p95 ms of the int8 TFLite file.",
    profiles={
        "tiny": {**RESNET56.profiles["tiny"], **tiny_sweep(3)},
        "full": {**RESNET20.profiles["full"], "sweep.max_trials": 25,
                 "sweep.space": space((100, 200), (10, 40))},
    },
    variants=(RESNET20.variant("float32"), RESNET20.variant("int8")),
    sweep=SweepSpec(trial=TRIAL, space=space((25, 50), (1, 2)), tuner="bayesian",
                    max_trials=6, objective="weighted", size_weight=0.5,
                    latency_weight=0.05),
))
