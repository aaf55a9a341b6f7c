"""The names a recipe's data section may use: datasets and augmentations (lazy registries,
so that a recipe validates without importing a loader)."""

from tfcompress.registry import Registry

#: Loaders take ``(spec, data_dir, offline)`` and return ``RawData``; see ``dataset.py``.
DATASETS: Registry = Registry(
    "dataset",
    {
        "digits": "tfcompress.data.digits:load",
        "mnist": "tfcompress.data.mnist:load",
        "cifar10": "tfcompress.data.cifar10:load",
        "cats_vs_dogs": "tfcompress.data.cats_vs_dogs:load",
        "image_folder": "tfcompress.data.image_folder:load",
        "arrays": "tfcompress.data.arrays:load",
    },
)

#: Training-time augmentation names -> ``f(image, seed) -> image`` mapped over tf.data examples;
#: see ``augment.py``.
AUGMENTATIONS: Registry = Registry(
    "augmentation",
    {
        "none": "tfcompress.data.augment:identity",
        "flip": "tfcompress.data.augment:flip",
        "crop_flip": "tfcompress.data.augment:crop_flip",
    },
)
