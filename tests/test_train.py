import pytest

from tfcompress._keras import keras
from tfcompress.data import load
from tfcompress.models import MODELS
from tfcompress.recipe import DataSpec, TrainSpec
from tfcompress.train import loop


class StopAtEpoch(keras.callbacks.Callback):
    """Interrupts (Ctrl-C) as epoch ``epoch`` begins; records the epochs it saw begin."""

    def __init__(self, epoch=None):
        super().__init__()
        self.epoch = epoch
        self.begun = []

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == self.epoch:
            raise KeyboardInterrupt
        self.begun.append(epoch)


def test_interrupted_training_resumes_from_the_last_finished_epoch(tmp_path):
    data = load(DataSpec("digits", train_limit=100, test_limit=20))

    def model():
        keras.utils.set_random_seed(0)
        return MODELS.get("digits_cnn")(data.input_shape, 10, filters=[2, 2], dense_units=8)

    spec = TrainSpec(epochs=3, batch_size=50)
    with pytest.raises(KeyboardInterrupt):
        loop.fit(model(), data, spec, work_dir=tmp_path, callbacks=[StopAtEpoch(2)])
    assert (tmp_path / "backup" / "state.json").is_file()
    seen = StopAtEpoch()
    history = loop.fit(model(), data, spec, work_dir=tmp_path, callbacks=[seen])
    assert seen.begun == [2]  # only the third epoch was left to run
    assert len(history["loss"]) == 3  # the history restored with the weights
    assert not (tmp_path / "backup").exists()
    assert list((tmp_path / "logs").rglob("events.out.tfevents*"))
    straight = loop.fit(model(), data, spec, work_dir=tmp_path / "straight")
    assert straight == history  # the same epochs, to the last digit
