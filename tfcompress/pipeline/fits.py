"""Whether a model fits the data: its input shape the data's, its outputs the classes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tfcompress.errors import InputError

if TYPE_CHECKING:
    from tfcompress.data import Dataset


def check_fits(model: Any, data: Dataset, what: str = "") -> None:
    """The model's input shape fits the data and its outputs the classes."""
    want, have = tuple(model.input_shape[1:]), data.input_shape
    fits = len(want) == len(have) and all(w in (None, h) for w, h in zip(want, have))
    if not fits:
        raise InputError(f"{what}model input shape {list(want)} does not match the data "
                         f"({data.name}: {list(have)}); pick the matching dataset or "
                         f"data.image_size")
    if model.output_shape[-1] not in (None, data.num_classes):
        raise InputError(f"{what}model has {model.output_shape[-1]} outputs but "
                         f"{data.name} has {data.num_classes} classes")


@dataclass
class Shapes:
    """What ``check_fits`` reads of a model, for a bare SavedModel's signature."""

    input: list[int | None]
    classes: int | None

    @property
    def input_shape(self) -> tuple[int | None, ...]:
        return tuple(self.input)

    @property
    def output_shape(self) -> tuple[int | None, ...]:
        return (None, self.classes)
