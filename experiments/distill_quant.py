"""Knowledge distillation, the quantization suite, and combined pipelines.

``mnist_distill`` is Hinton et al. (2015)'s MNIST experiment at CPU scale: a 2x800 ReLU MLP
trained from the labels alone vs distilled from the MNIST CNN at several temperatures, over
three seeds. ``mnist_kd_prune_quant`` is the seed study's pipeline (distil the 12.5 MB CNN
into a smaller CNN, prune it, quantize it to int8) against each step alone.
``mnist_qat_vs_ptq`` compares every TFLite conversion and quantization-aware training on a
small MobileNet-style CNN, where post-training int8 loses accuracy. ``mnist_cluster_quant``
is Deep Compression's weight sharing with tfmot, alone and with collaborative optimization
(CQAT, sparsity-preserving clustering, PCQAT). The ResNet recipes reuse
``resnet56_prune_quant``'s baseline as the teacher (same data, model and training).
"""

from __future__ import annotations

from .cifar import RESNET56
from .common import tiny
from .prune_quant import MNIST
from .pruning_methods import LIGHT_BENCHMARK, SEEDS
from tfcompress.recipe import (ClusterSpec, DataSpec, DistillSpec, ExportSpec, ModelSpec,
                               PruneSpec, QatSpec, Recipe, TrainSpec, Variant, derive)
from tfcompress.catalogue import register_experiment

F32, INT8 = ExportSpec("float32"), ExportSpec("int8")
MNIST_TINY = tiny(600, 300, {"filters": [4, 8], "dense_units": 32})
MNIST_FULL = MNIST.profiles["full"]

#: Hinton et al.'s small net: 2 hidden layers of 800 ReLUs, no regularisation.
HINTON_STUDENT = ModelSpec("lenet_300_100", {"hidden": (800, 800)})
TEMPERATURES = (2.0, 4.0, 8.0)


def distill_variants(student: ModelSpec, temperatures=TEMPERATURES,
                     seeds=SEEDS) -> tuple[Variant, ...]:
    """The teacher (baseline), the student from scratch and distilled at each temperature,
    each over ``seeds``."""
    out = [Variant("float32", F32)]
    out += [Variant(f"scratch_seed{s}", F32, distill=DistillSpec(student, alpha=0.0), seed=s,
                    group="scratch") for s in seeds]
    for t in temperatures:
        out += [Variant(f"kd_T{t:g}_seed{s}", F32, distill=DistillSpec(student, temperature=t),
                        seed=s, group=f"kd_T{t:g}") for s in seeds]
    return tuple(out)


MNIST_DISTILL = register_experiment(derive(
    MNIST, "mnist_distill",
    "Hinton et al.'s MNIST distillation: a 2x800 MLP trained from the labels vs distilled "
    "from the MNIST CNN (alpha 1, T = 2 / 4 / 8), 3 seeds each; test errors mean ± std.",
    # tiny: every kind of variant once (the teacher, scratch and one temperature) over two
    # seeds, so that the across-seeds table is still made
    profiles={"tiny": {**MNIST_TINY,
                       "variants": distill_variants(HINTON_STUDENT, (4.0,), SEEDS[:2]),
                       "variants.*.distill.student.options": {"hidden": [16]}},
              "full": MNIST_FULL},
    **{"variants": distill_variants(HINTON_STUDENT), "benchmark": LIGHT_BENCHMARK},
))

#: The seed study's student: the MNIST CNN with a 256-unit instead of 1024-unit dense layer.
KD_STUDENT = ModelSpec("mnist_cnn", {"dense_units": 256})
KD = DistillSpec(KD_STUDENT, temperature=4.0)
SCRATCH = DistillSpec(KD_STUDENT, alpha=0.0)
PRUNE80 = PruneSpec(0.8, frequency=100)

MNIST_KD_PRUNE_QUANT = register_experiment(derive(
    MNIST, "mnist_kd_prune_quant",
    "The seed study's pipeline: distil the MNIST CNN (12.5 MB) into a CNN with a 256-unit "
    "dense layer, prune it 80%, quantize to int8; against each step alone and the student "
    "without its teacher.",
    profiles={"tiny": {**MNIST_TINY,
                       "variants.*.distill.student.options": {"filters": [4, 8],
                                                              "dense_units": 16}},
              "full": MNIST_FULL},
    **{"variants": (
        Variant("float32", F32),
        Variant("int8", INT8),
        Variant("pruned80_int8", INT8, PRUNE80),
        Variant("kd_float32", F32, distill=KD),
        Variant("kd_int8", INT8, distill=KD),
        Variant("scratch_pruned80_int8", INT8, PRUNE80, distill=SCRATCH),
        Variant("kd_pruned80_int8", INT8, PRUNE80, distill=KD),
        Variant("kd_pruned80_pqat_int8", INT8, PRUNE80, distill=KD, qat=QatSpec("pqat")),
    ), "benchmark": LIGHT_BENCHMARK},
))

PER_TENSOR = ExportSpec("int8", per_channel=False)

QAT_VS_PTQ = register_experiment(Recipe(
    name="mnist_qat_vs_ptq",
    description="A very small MobileNet-style CNN (depthwise-separable, batch norm, ReLU6; "
                "widths 4-8-16, 718 parameters) on MNIST: every TFLite conversion (float16, "
                "dynamic range, int8 with int8 / uint8 I/O and per-tensor weights, 16x8) vs "
                "quantization-aware training; 50% pruning with post-training int8 vs PQAT. "
                "`finetuned_*` is the float model fine-tuned as long as QAT fine-tunes (no "
                "pruning: 'oneshot 0%'), then PTQ: the same budget without QAT.",
    data=DataSpec("mnist"),
    model=ModelSpec("tiny_mobilenet", {"widths": (4, 8, 16)}),
    train=TrainSpec(epochs=10, batch_size=128, learning_rate=2e-3, lr_schedule="step"),
    finetune=TrainSpec(epochs=2, batch_size=128, learning_rate=2e-4),
    variants=(
        Variant("float32", F32),
        Variant("float16", ExportSpec("float16")),
        Variant("dynamic", ExportSpec("dynamic")),
        Variant("int8", INT8),
        Variant("int8_int8_io", ExportSpec("int8", io="int8")),  # int8: uint8 I/O
        Variant("int16x8", ExportSpec("int16x8", io="int16")),  # fully integer
        Variant("finetuned_int8", INT8, PruneSpec(0.0, method="oneshot")),
        Variant("qat_int8", INT8, qat=QatSpec()),
        Variant("int8_per_tensor", PER_TENSOR),
        Variant("finetuned_int8_per_tensor", PER_TENSOR, PruneSpec(0.0, method="oneshot")),
        Variant("pruned50_int8", INT8, PruneSpec(0.5, frequency=50)),
        Variant("pruned50_pqat_int8", INT8, PruneSpec(0.5, frequency=50), qat=QatSpec("pqat")),
    ),
    benchmark=LIGHT_BENCHMARK,
    profiles={"tiny": {**tiny(600, 300, {"widths": [4, 8]}), "finetune.epochs": 1},
              "full": {"train.epochs": 20, "finetune.epochs": 5}},
))

CLUSTER16 = ClusterSpec(16)
PRUNE50 = PruneSpec(0.5, frequency=100)

MNIST_CLUSTER_QUANT = register_experiment(derive(
    MNIST, "mnist_cluster_quant",
    "Deep Compression's weight sharing on its LeNet-5 (431 K params): 16 clusters per kernel "
    "(k-means++), float32 and int8, with cluster-preserving QAT; pruning 50% + "
    "sparsity-preserving clustering + PCQAT. 2 fine-tuning epochs per stage at Adam 1e-4.",
    profiles={"tiny": {**MNIST_TINY, "model.options": {"filters": [4, 8], "dense_units": 16},
                       "finetune.epochs": 1},
              "full": MNIST_FULL},
    **{"model": ModelSpec("lenet5"), "finetune.epochs": 2, "finetune.learning_rate": 1e-4,
       "variants": (
        Variant("float32", F32),
        Variant("int8", INT8),
        Variant("cluster16_float32", F32, cluster=CLUSTER16),
        Variant("cluster16_int8", INT8, cluster=CLUSTER16),
        Variant("cluster16_cqat_int8", INT8, cluster=CLUSTER16, qat=QatSpec("cqat")),
        Variant("pruned50_cluster16_int8", INT8, PRUNE50,
                cluster=ClusterSpec(16, preserve_sparsity=True)),
        Variant("pruned50_cluster16_pcqat_int8", INT8, PRUNE50,
                cluster=ClusterSpec(16, preserve_sparsity=True), qat=QatSpec("pcqat")),
    ), "benchmark": LIGHT_BENCHMARK},
))

RESNET20_STUDENT = ModelSpec("resnet20")
RESNET_TINY = {**RESNET56.profiles["tiny"],
               "variants.*.distill.student": ModelSpec("resnet", {"depth": 8,
                                                                  "widths": [4, 4, 8]})}

RESNET56_TO_RESNET20 = register_experiment(derive(
    RESNET56, "resnet56_to_resnet20_distill",
    "CIFAR-10: ResNet-20 trained from the labels vs distilled from ResNet-56 (T = 4), float32 "
    "and int8.",
    profiles={**RESNET56.profiles, "tiny": RESNET_TINY},
    **{"variants": (
        Variant("float32", F32),
        Variant("int8", INT8),
        Variant("resnet20_scratch", F32, distill=DistillSpec(RESNET20_STUDENT, alpha=0.0)),
        Variant("resnet20_kd", F32, distill=DistillSpec(RESNET20_STUDENT, temperature=4.0)),
        Variant("resnet20_kd_int8", INT8,
                distill=DistillSpec(RESNET20_STUDENT, temperature=4.0)),
    )},
))

FILTERS50 = PruneSpec(0.5, method="filters", skip=("residual",))
RESNET_KD = DistillSpec(RESNET20_STUDENT, temperature=4.0)

RESNET56_COMBINED = register_experiment(derive(
    RESNET56, "resnet56_combined",
    "The seed R&D study's fourth experiment: ResNet-56 on CIFAR-10 compressed by L1 filter "
    "pruning (50% of the channels inside each block), by distillation into ResNet-20, by int8 "
    "quantization, each alone and all three combined.",
    profiles={**RESNET56.profiles, "tiny": RESNET_TINY},
    **{"variants": (
        Variant("float32", F32),
        Variant("int8", INT8),
        Variant("filters50_float32", F32, FILTERS50),
        Variant("kd_resnet20_float32", F32, distill=RESNET_KD),
        Variant("kd_filters50_float32", F32, FILTERS50, distill=RESNET_KD),
        Variant("kd_filters50_int8", INT8, FILTERS50, distill=RESNET_KD),
    )},
))
