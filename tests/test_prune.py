import pytest

from tfcompress._keras import keras
from tfcompress.data import load
from tfcompress.errors import InputError
from tfcompress.models import MODELS
from tfcompress.prune import magnitude, schedule
from tfcompress.recipe import DataSpec, PruneSpec, TrainSpec
from tfcompress.train import loop


def test_plan_aligns_end_step_to_the_frequency():
    p = schedule.plan(PruneSpec(0.8, frequency=7, end_fraction=0.75), total_steps=101)
    assert p.begin_step == 0 and p.end_step % 7 == 0 and p.end_step <= 75
    assert p.end_step > 75 - 7


def test_plan_rejects_a_window_shorter_than_the_frequency_naming_the_override_that_fits():
    from tfcompress import errors

    # from Python the Python argument comes first, from the command line the flag
    with pytest.raises(InputError, match=r"prune.frequency=100 .*; pass compress\(\.\.\., "
                                         r"frequency=3\), or run\(.*\(command line: run with "
                                         r"--override=variants\.\*\.prune\.frequency=3\): "
                                         r"10 mask updates"):
        schedule.plan(PruneSpec(0.8, frequency=100), total_steps=40)
    with errors.called_from("cli"), pytest.raises(
            InputError, match=r"prune.frequency=100 .*; run with "
                              r"--override=variants\.\*\.prune\.frequency=3 \(Python: pass "
                              r"compress\(\.\.\., frequency=3\).*\): 10 mask updates") as e:
        schedule.plan(PruneSpec(0.8, frequency=100), total_steps=40)
    fits = int(str(e.value).split("prune.frequency=")[2].split()[0])
    p = schedule.plan(PruneSpec(0.8, frequency=fits), total_steps=40)  # and it does fit
    assert schedule.updates(p) >= schedule.GRADUAL_UPDATES


@pytest.mark.parametrize("frequency", [1, "auto"])
def test_a_window_of_no_steps_is_refused_naming_the_fractions_not_the_frequency(frequency):
    # of 2 steps (0 and 1), 0.25 and 0.5 both round to step 0: no frequency can help
    spec = PruneSpec(0.8, frequency=frequency, begin_fraction=0.25, end_fraction=0.5)
    with pytest.raises(InputError, match=r"^prune.begin_fraction=0.25 and prune.end_fraction="
                                         r"0.5 leave no pruning window: both fall on step 0 "
                                         r"of 2 fine-tuning steps; widen"):
        schedule.plan(spec, total_steps=2)
    assert schedule.updates(schedule.plan(spec, total_steps=4)) >= 1  # 0.25 -> 1, 0.5 -> 2


@pytest.mark.parametrize("total, frequency", [(40, 1), (158, 7), (1580, 74), (10, 1)])
def test_auto_frequency_fits_about_16_updates_to_any_fine_tuning(total, frequency):
    """``frequency="auto"``: the same recipe gradual on 300 images and on 100,000."""
    p = schedule.plan(PruneSpec(0.8, frequency="auto"), total_steps=total)
    assert p.frequency == frequency
    assert schedule.updates(p) >= min(schedule.AUTO_UPDATES, p.end_step - p.begin_step + 1)
    assert schedule.updates(p) > schedule.FEWEST_UPDATES or total < 10
    with pytest.raises(InputError, match="positive integer or 'auto'"):
        PruneSpec(0.8, frequency="often")


def test_polynomial_schedule_ends_exactly_at_the_target():
    spec = PruneSpec(0.8, frequency=3, power=3)
    sched = schedule.build(spec, total_steps=50)
    p = schedule.plan(spec, 50)
    should_prune, sparsity = sched(p.end_step)
    assert bool(should_prune) and float(sparsity) == pytest.approx(0.8)
    _, mid = sched(p.begin_step + (p.end_step - p.begin_step) // 2)
    assert 0.0 < float(mid) < 0.8


@pytest.mark.parametrize("kind", ["polynomial_decay", "constant"])
def test_fine_tuning_reaches_the_target_sparsity_in_every_layer(tmp_path, kind):
    data = load(DataSpec("digits", train_limit=200, test_limit=50))
    keras.utils.set_random_seed(0)
    model = MODELS.get("digits_cnn")(data.input_shape, 10, filters=[4, 8], dense_units=16)
    ft = TrainSpec(epochs=2, batch_size=32)
    total = ft.epochs * loop.steps_per_epoch(len(data.x_train), ft.batch_size)
    pruned = magnitude.apply(model, PruneSpec(0.75, schedule=kind, frequency=2), total)
    loop.fit(pruned, data, ft, work_dir=tmp_path, callbacks=magnitude.callbacks(),
             tensorboard=magnitude.summaries(tmp_path / "logs"))
    stripped = magnitude.strip(pruned)
    per_layer = magnitude.layer_sparsity(stripped)
    assert set(per_layer) == {"conv1", "conv2", "fc1", "logits"}
    for name, s in per_layer.items():
        # tfmot rounds the number of pruned weights: within one weight of the target
        assert abs(s["sparsity"] - 0.75) <= 1.0 / s["params"] + 1e-9, name
    assert not any(isinstance(l, type(pruned.layers[1])) for l in stripped.layers[1:])
    assert list((tmp_path / "logs").rglob("events.out.tfevents*")), "no pruning summaries"


def test_an_interrupted_pruning_fine_tune_resumes_and_still_reaches_the_target(tmp_path):
    from test_train import stop_at_epoch

    data = load(DataSpec("digits", train_limit=200, test_limit=50))
    ft = TrainSpec(epochs=3, batch_size=32)
    total = ft.epochs * loop.steps_per_epoch(len(data.x_train), ft.batch_size)
    spec = PruneSpec(0.75, frequency=2)

    def pruned_model():
        keras.utils.set_random_seed(0)
        base = MODELS.get("digits_cnn")(data.input_shape, 10, filters=[4, 8], dense_units=16)
        return magnitude.apply(base, spec, total)

    with pytest.raises(KeyboardInterrupt):
        loop.fit(pruned_model(), data, ft, work_dir=tmp_path,
                 callbacks=[*magnitude.callbacks(), stop_at_epoch(keras, 1)])
    resumed, seen = pruned_model(), stop_at_epoch(keras)
    history = loop.fit(resumed, data, ft, work_dir=tmp_path,
                       callbacks=[*magnitude.callbacks(), seen])
    assert seen.begun == [1, 2] and len(history["loss"]) == 3  # epochs 2 and 3 ran
    steps = [int(keras.backend.get_value(l.pruning_step)) for l in resumed.layers
             if hasattr(l, "pruning_step")]
    assert steps and all(s == total for s in steps)
    for name, s in magnitude.layer_sparsity(magnitude.strip(resumed)).items():
        assert abs(s["sparsity"] - 0.75) <= 1.0 / s["params"] + 1e-9, name
