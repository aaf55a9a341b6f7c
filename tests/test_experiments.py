"""Every registered experiment runs at its tiny profile (Model Garden's habit: a test builds
and runs every registered experiment). One run per experiment for the whole session
(``conftest.tiny_runs``), shared with every other test that reads it."""

from __future__ import annotations

import pytest

from tfcompress import catalogue
from support import check_tiny_run, shares

#: The experiments whose tiny run ``make test`` makes anyway, for the tests that read it
#: (``test_pipeline``, ``test_phone``, ``test_sweep``, ``test_distill_quant_experiments``,
#: ``test_studies``) or that take under half a minute: their smoke test adds little. Every other
#: experiment's tiny run takes a minute or more (a 14.7 M-parameter VGG, ImageNet MobileNet,
#: the ResNet-56s, the lottery studies' rounds): ``make test-slow``, which CI runs too.
FAST = {"digits_prune_quant", "mnist_prune_quant", "resnet20_prune_quant",
        "resnet20_sparsity_sweep", "mnist_distill", "mnist_kd_prune_quant",
        "mnist_cluster_quant", "lenet_snip_curve", "lenet5_snip", "lenet_lottery_rates",
        "mnist_layer_sensitivity", "mnist_sparsity_sweep"}
#: experiments that need a model file from the user (``--model_path``): run in test_user_model
NEEDS_A_FILE = {"user_model_prune_quant", "user_model_fast"}
#: experiments whose tiny run another test makes and calls ``check_tiny_run`` on: test_cli's
#: VGG16 run from the command line (5 minutes; a second one here would double it), and
#: test_speed_target's MobileNet speed target, its files timed by a stand-in (no test may
#: depend on the machine's speed)
RUN_ELSEWHERE = {"vgg16_prune_quant", "mobilenet_fast"}


def _params():
    return [pytest.param(n, marks=[shares(n)] + ([] if n in FAST else [pytest.mark.slow]))
            for n in catalogue.experiment_names() if n not in NEEDS_A_FILE | RUN_ELSEWHERE]


@pytest.mark.real_data
@pytest.mark.parametrize("name", _params())
def test_every_registered_experiment_runs_at_tiny(name, tiny_runs):
    check_tiny_run(catalogue.experiment(name).for_profile("tiny"), tiny_runs(name).run_dir)
