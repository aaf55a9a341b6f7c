"""Structured pruning on every keras.applications family (issue 18), as Torch-Pruning checks
torchvision: each family prunes 40% of its prunable channels with its function preserved and
fewer MACs, in tf_keras and in Keras 3. ``scripts/structured_zoo.py`` prints the table."""

import pytest

from tfcompress.structured import zoo

pytestmark = pytest.mark.slow  # every family is built, copied and rebuilt: minutes in all


def _keras(flavor):
    if flavor == "keras3":
        from tfcompress._keras3 import keras
    else:
        from tfcompress._keras import keras
    return keras


@pytest.mark.parametrize("flavor", ["keras2", "keras3"])
@pytest.mark.parametrize("family", list(zoo.FAMILIES))
def test_every_family_prunes_with_its_function_preserved(family, flavor):
    keras = _keras(flavor)
    if family not in zoo.available(keras):
        assert flavor == "keras3" and family in ("RegNet", "RegNetY", "ResNetRS")
        pytest.skip(f"{family} is not in Keras 3's keras.applications")
    model = zoo.build(keras, family)
    zoo.randomize(model)
    r = zoo.check(model, ratio=0.4)
    assert zoo.preserved(r), r
    assert r["prunable"] >= 0.5 * r["channels"], r  # not frozen away (RegNetX: 54%)
    assert r["macs_after"] < 0.75 * r["macs_before"], r
    assert r["uncounted"] == [], r
    # TensorFlow's profiler agrees, except that it does not count grouped convolutions (RegNet;
    # ConvNeXt's depthwise convolutions are Conv2D with groups=C), which run as a nested function
    if r["grouped"]:
        assert r["macs_tensorflow"] < r["macs_before"], r
    else:
        assert r["macs_before"] == r["macs_tensorflow"], r
