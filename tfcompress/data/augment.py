"""Training-time augmentation as a tf.data pipeline (training examples only).

An augmentation is ``f(image, seed) -> image`` with stateless random ops (``seed``: two
integers), so an epoch's augmented examples depend only on its seed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from tfcompress._keras import tf
from tfcompress.data import AUGMENTATIONS

if TYPE_CHECKING:
    from tfcompress.data import Dataset

PAD = 4  # pixels of zero padding before the random crop (He et al. 2016, CIFAR-10)


def identity(image: tf.Tensor, seed: tf.Tensor) -> tf.Tensor:
    del seed
    return image


def flip(image: tf.Tensor, seed: tf.Tensor) -> tf.Tensor:
    """Random horizontal flip."""
    return tf.image.stateless_random_flip_left_right(image, seed)


def crop_flip(image: tf.Tensor, seed: tf.Tensor) -> tf.Tensor:
    """Pad by 4 pixels, crop back to size at a random offset, then flip half the images."""
    padded = tf.pad(image, [[PAD, PAD], [PAD, PAD], [0, 0]])
    cropped = tf.image.stateless_random_crop(padded, tf.shape(image), seed)
    return flip(cropped, seed + 1)


def training_data(data: Dataset, batch_size: int, seed: int = 0) -> tf.data.Dataset:
    """Shuffled, augmented, batched training examples for one epoch of ``model.fit``.

    The order and every random draw come from ``seed`` and the example's index (stateless
    random ops), so the epoch is the same whatever runs in parallel or was run before.
    """
    fn = AUGMENTATIONS.get(data.augment)
    n = len(data.y_train)
    ds = tf.data.Dataset.from_tensor_slices((data.x_train, data.y_train.astype(np.int64)))
    ds = ds.enumerate().shuffle(n, seed=seed, reshuffle_each_iteration=False)
    ds = ds.map(lambda i, xy: (fn(xy[0], tf.stack([tf.constant(seed, tf.int64), i])), xy[1]),
                num_parallel_calls=tf.data.AUTOTUNE)
    return ds.batch(batch_size).prefetch(tf.data.AUTOTUNE)
