#!/usr/bin/env python3
"""How long does an epoch of each model take on this machine? Sizes a quick profile before
committing an hour of CPU to it: trains each registered model (Adam, sparse cross-entropy) on
``--images`` random inputs at ``--batch``, and prints the median seconds per epoch over
``--rounds`` rounds that visit every model in turn (after one warm-up fit that compiles the
train function), with the ratio to the first model.

    python scripts/epoch_time.py --models=conv2,conv4,conv6
    python scripts/epoch_time.py --models=resnet20,resnet56 --batch=128 --images=2560

Inputs are random (an epoch's time does not depend on the values); nothing is downloaded.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402


def positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is not a positive integer")
    return value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", default="conv2,conv4,conv6",
                        help="registered model names, comma-separated")
    parser.add_argument("--shape", default="32,32,3", help="input shape, e.g. 28,28,1")
    parser.add_argument("--classes", type=positive, default=10)
    parser.add_argument("--images", type=positive, default=1200)
    parser.add_argument("--batch", type=positive, default=60)
    parser.add_argument("--rounds", type=positive, default=3)
    args = parser.parse_args(argv)

    from tfcompress.errors import InputError
    from tfcompress.models import MODELS, build

    names = [n.strip() for n in args.models.split(",") if n.strip()]
    if not names:
        print(f"epoch_time: --models={args.models!r} names no model "
              f"(e.g. --models=conv2,conv4)", file=sys.stderr)
        return 2
    try:
        for name in names:
            MODELS.check(name)
    except InputError as err:
        print(f"epoch_time: {err}", file=sys.stderr)
        return 2
    try:
        shape = tuple(int(d) for d in args.shape.split(","))
    except ValueError:
        print(f"epoch_time: --shape={args.shape!r} is not comma-separated integers "
              "(e.g. 32,32,3)", file=sys.stderr)
        return 2

    rng = np.random.default_rng(0)
    x = rng.random((args.images, *shape), dtype=np.float32)
    y = rng.integers(0, args.classes, args.images)
    models = {}
    for name in names:
        model = build(name, shape, args.classes, {})
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
        model.fit(x[:args.batch], y[:args.batch], batch_size=args.batch, verbose=0)
        models[name] = model
    times: dict[str, list[float]] = {name: [] for name in names}
    for _ in range(args.rounds):
        for name, model in models.items():
            start = time.perf_counter()
            model.fit(x, y, batch_size=args.batch, epochs=1, verbose=0)
            times[name].append(time.perf_counter() - start)

    first = statistics.median(times[names[0]])
    print(f"| model | parameters | s / epoch of {args.images:,} (median of {args.rounds}) "
          f"| spread | × {names[0]} |")
    print("|---|---|---|---|---|")
    for name in names:
        median = statistics.median(times[name])
        print(f"| `{name}` | {models[name].count_params():,} | {median:.2f} "
              f"| {min(times[name]):.2f}-{max(times[name]):.2f} | {median / first:.2f}x |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
