"""Training-time augmentation as a tf.data pipeline (training examples only)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from tfcompress._keras import tf

if TYPE_CHECKING:
    from tfcompress.data import Dataset

PAD = 4  # pixels of zero padding before the random crop (He et al. 2016, CIFAR-10)


def identity(image: tf.Tensor) -> tf.Tensor:
    return image


def flip(image: tf.Tensor) -> tf.Tensor:
    """Random horizontal flip."""
    return tf.image.random_flip_left_right(image)


def crop_flip(image: tf.Tensor) -> tf.Tensor:
    """Pad by 4 pixels, crop back to size at a random offset, then flip half the images."""
    padded = tf.pad(image, [[PAD, PAD], [PAD, PAD], [0, 0]])
    return flip(tf.image.random_crop(padded, tf.shape(image)))


def training_data(data: Dataset, batch_size: int, seed: int = 0) -> tf.data.Dataset:
    """Shuffled, augmented, batched training examples for ``model.fit``."""
    from tfcompress.data import AUGMENTATIONS

    fn = AUGMENTATIONS.get(data.augment)
    ds = tf.data.Dataset.from_tensor_slices((data.x_train, data.y_train.astype(np.int64)))
    ds = ds.shuffle(len(data.y_train), seed=seed, reshuffle_each_iteration=True)
    ds = ds.map(lambda x, y: (fn(x), y), num_parallel_calls=tf.data.AUTOTUNE)
    return ds.batch(batch_size).prefetch(tf.data.AUTOTUNE)
