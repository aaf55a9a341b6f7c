#!/usr/bin/env python3
"""Runs an experiment (its steps are cached) and checks every shipped .tflite with MediaPipe's
ImageClassifier against the LiteRT interpreter on the test images: loads or not, top-1
agreement, largest top-1 score gap, both accuracies. Needs ``make mediapipe-env``.

    python scripts/mediapipe_check.py mobilenet_prune_quant quick
    python scripts/mediapipe_check.py resnet20_prune_quant tiny
"""

from __future__ import annotations

import sys


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print("usage: mediapipe_check.py EXPERIMENT PROFILE", file=sys.stderr)
        return 2
    import tfcompress
    from tfcompress import mediapipe, catalogue
    from tfcompress.data import load

    experiment, profile = argv[1], argv[2]
    result = tfcompress.run(experiment, profile=profile)
    data = load(catalogue.experiment(experiment).for_profile(profile).data)
    rows = mediapipe.compare(sorted(result.tflite.values()), data)
    print(f"\n{experiment} ({profile}): MediaPipe ImageClassifier vs LiteRT interpreter, "
          f"{len(data.y_test)} test images")
    print("| file | loads | top-1 agreement | max top-1 score gap | MediaPipe acc | "
          "interpreter acc |")
    print("|---|---|---|---|---|---|")
    for name, r in rows.items():
        if not r["loads"]:
            print(f"| {name} | no: {r['error']} | | | | |")
            continue
        print(f"| {name} | yes | {100 * r['agreement']:.2f}% | {r['max_score_gap']:.4f} | "
              f"{100 * r['mediapipe_accuracy']:.2f}% | {100 * r['interpreter_accuracy']:.2f}% |")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
