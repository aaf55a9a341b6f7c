"""Which file to ship, and whether the model as it is can be trusted at all: the lines at the
top of a report."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tfcompress.report.row import Row
    from tfcompress.report.variant import VariantResult

#: accuracy within this many points of chance (1 / classes) is reported as chance
NEAR_CHANCE_PTS = 5.0


def choose(rows: list[Row], base: str, budget_pts: float) -> Row | None:
    """The row to ship: the smallest gzipped file whose TFLite accuracy is within
    ``budget_pts`` points of the baseline's; the fastest (batch-1 p50, fewest threads) of
    equal size. None when no row has an accuracy."""
    ref = next(r for r in rows if r.variant == base)
    t = min(ref.timing, default=None)
    within = [r for r in rows if r.tflite_accuracy is not None and
              100 * (ref.tflite_accuracy - r.tflite_accuracy) <= budget_pts + 1e-9]
    if not within:
        return None
    return min(within, key=lambda r: (r.tflite_gzip_bytes,
                                      *([] if t is None else [r.timing[t].p50_ms])))


def near_chance(rows: list[Row], base: str, classes: int) -> str | None:
    """A warning when the model as it is (the baseline's Keras accuracy, else its file's)
    scores about chance."""
    ref = next(r for r in rows if r.variant == base)
    acc = ref.keras_accuracy if ref.keras_accuracy is not None else ref.tflite_accuracy
    if acc is None or classes < 2:
        return None
    chance = 1.0 / classes
    if 100 * (acc - chance) > NEAR_CHANCE_PTS:
        return None
    return (f"The model as it is scores {100 * acc:.1f}% on {classes} classes: chance is "
            f"{100 * chance:.1f}%. Every row below inherits that. Check how it takes its "
            f"pixels (--pixel_range, --mean/--std) and its input size before trusting any "
            f"number here.")


def section(rows: list[Row], variants: list[VariantResult], base: str,
            budget_pts: float) -> list[str]:
    """``## Ship this file``: the chosen file, its card, what it costs and where it runs."""
    r = choose(rows, base, budget_pts)
    out = ["## Ship this file", ""]
    if r is None:
        return out + ["No file has a measured accuracy.", ""]
    v = next(x for x in variants if x.variant == r.variant)
    card = (v.tflite_file or f"tflite/{r.variant}.tflite").rsplit(".", 1)[0] + ".json"
    meta = v.tflite.metadata
    where = ("MediaPipe's ImageClassifier loads it as it is (metadata and labels inside)"
             if meta and meta["input"]["color_space"] == "RGB" else
             "run it with the LiteRT interpreter (`scripts/classify_tflite.py` shows how)")
    inp = v.tflite.input or {}
    feed = (f"give it {inp['dtype']} pixels 0..{inp['range'][1]:g} as they are"
            if inp.get("pixels") else "give it the model's normalized input (see the card)")
    t = min(r.timing, default=None)
    speed = f", p50 {r.timing[t].p50_ms:.3f} ms ({t}t)" if t is not None else ""
    return out + [
        f"**`{v.tflite_file or r.variant}`** (card: `{card}`): the smallest file within "
        f"{budget_pts:g} accuracy point(s) of `{base}` (recipe `ship_budget`): "
        f"{100 * r.tflite_accuracy:.2f}% ({r.accuracy_delta_pts:+.2f} pts), "
        f"{r.tflite_gzip_bytes / 1024:,.1f} KiB gzipped ({r.gzip_x_smaller:.2f}x "
        f"smaller){speed}. To use it, {feed}; {where}.", ""]
