"""Op coverage of a TFLite file: which operators compute in integer, which in float."""

from __future__ import annotations

import sys
from collections import Counter
from typing import Any

from tfcompress import litert

FLOAT_TYPES = {"float32", "float16"}
QUANTIZED_TYPES = {"int8", "uint8", "int16"}


def classify(op: dict[str, Any]) -> str:
    """``quantized`` (integer activations), ``hybrid`` (int8 weights, float compute), ``float``
    or ``other`` (e.g. int32 shape arithmetic)."""
    outputs = set(op["outputs"])
    if outputs & QUANTIZED_TYPES and not outputs & FLOAT_TYPES:
        return "quantized"
    if outputs & FLOAT_TYPES and set(op["inputs"]) & QUANTIZED_TYPES:
        return "hybrid"
    if outputs & FLOAT_TYPES:
        return "float"
    return "other"  # e.g. int32 shape arithmetic


def coverage(content: bytes) -> dict[str, Any]:
    """Summary of a TFLite file's operators for the report.

    Returns:
      ``{"ops": {kind: count}, "by_op": {op: {kind: count}}, "float_ops": [names],
      "input_dtype", "output_dtype", "fully_quantized": bool}``; ``fully_quantized`` means
      integer I/O and no float or hybrid operator.
    """
    model = litert.LiteModel(content)
    kinds = [(op["op"], classify(op)) for op in litert.ops(content)]
    counts = Counter(kind for _, kind in kinds)
    by_op: dict[str, Counter] = {}
    for name, kind in kinds:
        by_op.setdefault(name, Counter())[kind] += 1
    float_ops = sorted({name for name, kind in kinds if kind in ("float", "hybrid")})
    integer_io = model.input_dtype.name in QUANTIZED_TYPES and \
        model.output_dtype.name in QUANTIZED_TYPES
    return {
        "ops": dict(sorted(counts.items())),
        "op_types": sorted(by_op),
        "by_op": {name: dict(sorted(c.items())) for name, c in sorted(by_op.items())},
        "float_ops": float_ops,
        "input_dtype": model.input_dtype.name,
        "output_dtype": model.output_dtype.name,
        "fully_quantized": integer_io and not float_ops,
    }


def describe(content: bytes) -> list[str]:
    """Lines for a person: I/O types, then each operator type with how it computes."""
    cov = coverage(content)
    out = [f"input {cov['input_dtype']}, output {cov['output_dtype']}; "
           f"{'fully integer' if cov['fully_quantized'] else 'NOT fully integer'}"]
    for name, counts in cov["by_op"].items():
        out.append(f"  {name:24s} " + ", ".join(f"{n} {k}" for k, n in counts.items()))
    return out


def main(argv: list[str]) -> int:
    """``python -m tfcompress.quantize.coverage FILE.tflite ...``: which ops of each file
    compute in integer and which fell back to float (exit 2 on an unreadable file)."""
    if not argv:
        print("coverage: error: no .tflite file given; usage: "
              "python -m tfcompress.quantize.coverage FILE.tflite [...]",
              file=sys.stderr)
        return 2
    for path in argv:
        try:
            with open(path, "rb") as fh:
                lines = describe(fh.read())
        except Exception as e:  # noqa: BLE001 (any unreadable file is one line, not a traceback)
            reason = " ".join(str(e).split())[:160] or type(e).__name__
            print(f"coverage: error: {path}: not a readable TFLite file ({reason})",
                  file=sys.stderr)
            return 2
        print(path)
        print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
