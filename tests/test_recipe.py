import dataclasses
import re

import pytest

from tfcompress import catalogue
from tfcompress.errors import InputError
from tfcompress.recipe import (PROFILES, DataSpec, ExportSpec, PruneSpec, TrainSpec,
                               apply_overrides, derive, fingerprint, parse_override)


def base():
    return catalogue.experiment("digits_prune_quant")


@pytest.mark.parametrize("name", catalogue.experiment_names())
@pytest.mark.parametrize("profile", PROFILES)
def test_every_experiment_builds_at_every_profile(name, profile):
    recipe = catalogue.experiment(name).for_profile(profile)
    assert recipe.name == name
    assert recipe.variant(recipe.baseline).prune is None
    assert recipe.to_dict()["variants"]


def test_tiny_profile_shrinks_the_recipe():
    quick, tiny = base().for_profile("quick"), base().for_profile("tiny")
    assert tiny.train.epochs < quick.train.epochs
    assert tiny.data.train_limit is not None and quick.data.train_limit is None
    assert all(v.export.calibration_samples == 16 for v in tiny.variants)
    # the wildcard touched only the variants that prune
    assert {v.prune.frequency for v in tiny.variants if v.prune} == {2}


def test_override_paths_types_and_wildcards():
    r = apply_overrides(base(), ["train.epochs=3", "train.learning_rate=1",
                                 "variants.pruned80_int8.prune.target_sparsity=0.9",
                                 "benchmark.threads=[1]", "data.train_limit=none"])
    assert r.train.epochs == 3
    assert r.train.learning_rate == 1.0 and isinstance(r.train.learning_rate, float)
    assert r.variant("pruned80_int8").prune.target_sparsity == 0.9
    assert r.variant("pruned80_float32").prune.target_sparsity == 0.8
    assert r.benchmark.threads == (1,)
    assert r.data.train_limit is None


@pytest.mark.parametrize("override, words", [
    ("train.epochz=3", ["epochz", "epochs"]),
    ("train.batch_size=0", ["batch_size", "positive integer", "0"]),
    ("variants.pruned90_int8.export.mode=int8", ["pruned90_int8", "pruned80_int8"]),
    ("variants.int8.export.mode=int4", ["int4", "int8", "float32", "dynamic"]),
    ("variants.pruned80_int8.prune.target_sparsity=1.0", ["target_sparsity", "[0, 1)"]),
    ("model.name=resnet7", ["resnet7", "resnet20", "mnist_cnn"]),
    ("trainepochs", ["key=value"]),
    ("profiles.tiny=1", ["--profile"]),
    ("model.options.foo.bar=1", ["model.options.foo.bar", "'foo'", "not set",
                                 "--override=model.options.foo="]),
])
def test_bad_overrides_name_the_value_and_the_choices(override, words):
    with pytest.raises(InputError) as e:
        apply_overrides(base(), [override])
    msg = str(e.value)
    assert "\n" not in msg
    for w in words:
        assert w in msg


def test_specs_validate_on_construction():
    with pytest.raises(InputError, match="dataset 'mnsit'.*mnist"):
        DataSpec("mnsit")
    with pytest.raises(InputError, match="optimizer"):
        TrainSpec(epochs=1, optimizer="adamw2")
    with pytest.raises(InputError, match="initial_sparsity"):
        PruneSpec(target_sparsity=0.5, initial_sparsity=0.6)
    with pytest.raises(InputError, match="end_fraction"):
        PruneSpec(target_sparsity=0.5, begin_fraction=0.5, end_fraction=0.5)
    with pytest.raises(InputError, match="export mode"):
        ExportSpec("int4")
    with pytest.raises(InputError, match="profile 'huge'"):
        base().for_profile("huge")


def test_baseline_must_be_an_unpruned_variant():
    with pytest.raises(InputError, match="baseline"):
        dataclasses.replace(base(), baseline="pruned80_int8")


def test_derive_changes_only_what_it_names():
    d = derive(base(), "digits_p90", "90%", **{"variants.*.prune.target_sparsity": 0.9})
    assert d.name == "digits_p90" and d.train == base().train
    assert all(v.prune.target_sparsity == 0.9 for v in d.variants if v.prune)


def test_parse_override_literals():
    assert parse_override("a.b=3") == ("a.b", 3)
    assert parse_override("a=[1, 2]") == ("a", [1, 2])
    assert parse_override("a=adam") == ("a", "adam")
    assert parse_override("a=None") == ("a", None)
    assert parse_override("a=true") == ("a", True)


def test_fingerprint_is_stable_and_sensitive():
    r = base()
    assert fingerprint(r.train) == fingerprint(dataclasses.replace(r.train))
    assert fingerprint(r.train) != fingerprint(dataclasses.replace(r.train, epochs=31))


def test_unknown_experiment_lists_close_matches():
    with pytest.raises(InputError, match="Did you mean: digits_prune_quant"):
        catalogue.experiment("digit_prune_quant")


#: a value each method-owned field refuses, and the words of the refusal
BAD_OWNED = {"rounds": (0, "a positive integer"), "target_speedup": (0.5, "a number > 1"),
             "round_to": (0, "a positive integer"), "search_steps": (13, "an integer in [1, 12]"),
             "recovery": ("retrain", "one of"), "finetune": ({"epochs": 1}, "a fine-tuning spec"),
             "rewind_epoch": (-1, "an integer >= 0"), "reinit": ("yes", "true or false"),
             "criterion": ("l3", "one of"), "snip_batches": (0, "a positive integer"),
             "slimming_penalty": (-1.0, "a number >= 0"), "m_by_n": ((4, 2), "[m, n]"),
             "rates": ((("conv", 0.1),), "dense among them")}
#: what a method needs besides the field under test to be a valid spec
NEEDS = {"m_by_n": {"m_by_n": (2, 4)}}


def _owned():
    from tfcompress.prune import all_methods

    return [(name, f) for name, m in sorted(all_methods().items()) for f in m.owns]


@pytest.mark.parametrize("method, name", _owned())
def test_each_method_checks_the_fields_it_owns_and_no_other_takes_them(method, name):
    """A method owns its fields' checks (``PruneMethod.validate``, ``FIELD_CHECKS`` for the
    fields several own): each bad value is refused in one line naming the field; on a method
    that does not own the field, any value but the default is refused as another's."""
    from tfcompress.prune import all_methods

    assert name in BAD_OWNED, f"a bad value for {method}'s field {name} is missing here"
    value, words = BAD_OWNED[name]
    extra = {k: v for k, v in NEEDS.get(method, {}).items() if k != name}
    with pytest.raises(InputError, match=rf"prune\.{name}\b.*{re.escape(words)}") as e:
        PruneSpec(0.5, method=method, **extra, **{name: value})
    assert "\n" not in str(e.value)
    others = [m for m, obj in all_methods().items() if name not in obj.owns]
    for other in others:
        with pytest.raises(InputError, match=rf"^prune\.{name} must be .* unless method is "):
            PruneSpec(0.5, method=other, **NEEDS.get(other, {}), **{name: value})
