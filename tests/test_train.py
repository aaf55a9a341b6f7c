import pytest

from tfcompress._keras import keras
from tfcompress.data import load
from tfcompress.models import MODELS
from tfcompress.recipe import DataSpec, TrainSpec
from tfcompress.train import loop


class StopAfterEpoch(keras.callbacks.Callback):
    def __init__(self, epoch):
        super().__init__()
        self.epoch = epoch

    def on_epoch_end(self, epoch, logs=None):
        if epoch == self.epoch:
            raise KeyboardInterrupt


def test_interrupted_training_resumes_from_the_last_finished_epoch(tmp_path):
    data = load(DataSpec("digits", train_limit=100, test_limit=20))

    def model():
        keras.utils.set_random_seed(0)
        return MODELS.get("digits_cnn")(data.input_shape, 10, filters=[2, 2], dense_units=8)

    spec = TrainSpec(epochs=3, batch_size=50)
    with pytest.raises(KeyboardInterrupt):
        loop.fit(model(), data, spec, work_dir=tmp_path, callbacks=[StopAfterEpoch(1)])
    assert (tmp_path / "backup").is_dir()
    history = loop.fit(model(), data, spec, work_dir=tmp_path)
    assert len(history["loss"]) == 1  # only the third epoch was left to run
    assert list((tmp_path / "logs").rglob("events.out.tfevents*"))
