"""Running a TFLite file with the LiteRT interpreter (``ai_edge_litert``) on the CPU."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from typing import Any

import numpy as np
from ai_edge_litert.interpreter import Interpreter, OpResolverType

from tfcompress.progress import progress

log = logging.getLogger("tfcompress")


class LiteModel:
    """A TFLite model with one input and one output, ready to run batches.

    Inputs are given as float arrays in the model's training layout; for quantized inputs
    they are quantized with the file's own scale and zero point, and outputs are dequantized,
    so callers never see the integer representation.
    """

    def __init__(self, model: bytes | str | os.PathLike, num_threads: int = 1):
        self.content = model if isinstance(model, bytes) else open(model, "rb").read()
        #: whether XNNPACK (LiteRT's default CPU delegate) runs the model; files it refuses
        #: (e.g. sparse-encoded fully connected weights) run on the built-in kernels instead
        self.xnnpack = True
        self.interpreter = Interpreter(model_content=self.content, num_threads=num_threads)
        try:
            self.interpreter.allocate_tensors()
        except RuntimeError as e:
            if "delegate" not in str(e).lower():
                raise
            log.warning("XNNPACK refused this model (%s); running it on the built-in kernels",
                        str(e).splitlines()[0][:120])
            self.xnnpack = False
            self.interpreter = Interpreter(
                model_content=self.content, num_threads=num_threads,
                experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
            self.interpreter.allocate_tensors()
        inputs = self.interpreter.get_input_details()
        outputs = self.interpreter.get_output_details()
        if len(inputs) != 1 or len(outputs) != 1:
            raise ValueError(f"expected one input and one output; the model has "
                             f"{len(inputs)} and {len(outputs)}")
        self.input, self.output = inputs[0], outputs[0]
        self._batch = int(self.input["shape"][0])

    @property
    def input_dtype(self) -> np.dtype:
        return np.dtype(self.input["dtype"])

    @property
    def output_dtype(self) -> np.dtype:
        return np.dtype(self.output["dtype"])

    def quantize_input(self, x: np.ndarray) -> np.ndarray:
        """Float inputs -> the input tensor's dtype (int8/uint8 via scale and zero point)."""
        dtype = self.input_dtype
        if not np.issubdtype(dtype, np.integer):
            return x.astype(dtype)
        scale, zero = self.input["quantization"]
        info = np.iinfo(dtype)
        return np.clip(np.round(x / scale + zero), info.min, info.max).astype(dtype)

    def dequantize_output(self, y: np.ndarray) -> np.ndarray:
        if not np.issubdtype(self.output_dtype, np.integer):
            return y.astype(np.float32)
        scale, zero = self.output["quantization"]
        return (y.astype(np.float32) - zero) * scale

    def resize(self, batch: int) -> None:
        if batch != self._batch:
            shape = [batch, *self.input["shape"][1:]]
            self.interpreter.resize_tensor_input(self.input["index"], shape)
            self.interpreter.allocate_tensors()
            self._batch = batch

    def run(self, x_quantized: np.ndarray) -> np.ndarray:
        """One invoke on an already quantized batch; returns the raw output tensor."""
        self.resize(len(x_quantized))
        self.interpreter.set_tensor(self.input["index"], x_quantized)
        self.interpreter.invoke()
        return self.interpreter.get_tensor(self.output["index"])

    def predict(self, x: np.ndarray, batch_size: int = 256, desc: str | None = None,
                prepare: Callable[[np.ndarray], np.ndarray] | None = None) -> np.ndarray:
        """Float outputs for float inputs, in batches (each passed through ``prepare`` first:
        e.g. ``Dataset.pixels`` for a file that takes pixels)."""
        chunks = range(0, len(x), batch_size)
        if desc:
            chunks = progress(chunks, desc=desc, unit="batch")
        prepare = prepare or (lambda b: b)
        return np.concatenate([
            self.dequantize_output(self.run(self.quantize_input(prepare(x[i:i + batch_size]))))
            for i in chunks
        ])


def accuracy(model: LiteModel, x: np.ndarray, y: np.ndarray, desc: str | None = None,
             prepare: Callable[[np.ndarray], np.ndarray] | None = None) -> float:
    """Top-1 accuracy of a TFLite model on float inputs (through ``prepare``, see predict)."""
    return float(np.mean(np.argmax(model.predict(x, desc=desc, prepare=prepare), axis=-1) == y))


def _inspect(content: bytes) -> tuple[Interpreter, dict[int, Any], list[dict[str, Any]]]:
    """An interpreter without delegates (XNNPACK would fuse ops), the file's tensors by index
    and its operators as written."""
    no_delegates = OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES
    interp = Interpreter(model_content=content, experimental_op_resolver_type=no_delegates)
    interp.allocate_tensors()
    tensors = {t["index"]: t for t in interp.get_tensor_details()}
    return interp, tensors, interp._get_ops_details()  # the only API listing ops' tensors


def ops(content: bytes) -> list[dict[str, Any]]:
    """The model's operators as written in the file (no delegate), with tensor dtypes."""
    _, tensors, ops_ = _inspect(content)
    out = []
    for op in ops_:
        def dtypes(indices):
            return [np.dtype(tensors[i]["dtype"]).name for i in indices if i >= 0 and i in tensors]
        out.append({"op": op["op_name"], "inputs": dtypes(op["inputs"]),
                    "outputs": dtypes(op["outputs"])})
    return out


#: Operators whose second input is a weight tensor.
WEIGHTED_OPS = ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED")


def weights(content: bytes) -> list[dict[str, Any]]:
    """The weight tensors of conv and fully connected ops as stored in the file: dtype, size,
    zeros and distinct values (what pruning and clustering leave in the deployed model).
    Sparse-encoded tensors, which the interpreter does not hand out, are left out."""
    interp, details, ops_ = _inspect(content)
    made_by = {o: op for op in ops_ for o in op["outputs"]}
    out = []
    for op in ops_:
        if op["op_name"] not in WEIGHTED_OPS or len(op["inputs"]) < 2:
            continue
        index = op["inputs"][1]
        if index in made_by:  # float16 weights: the constant is the DEQUANTIZE op's input
            producer = made_by[index]
            if producer["op_name"] != "DEQUANTIZE":
                continue
            index = producer["inputs"][0]
        try:
            w = interp.get_tensor(index)
        except ValueError:
            continue
        # output channels lead, except in depthwise kernels ([1, h, w, channels])
        rows = (w.reshape(-1, w.shape[-1]).T if op["op_name"] == "DEPTHWISE_CONV_2D"
                else w.reshape(w.shape[0], -1))
        per_channel = [np.unique(c).size for c in rows]
        out.append({"op": op["op_name"], "tensor": details[index]["name"],
                    "dtype": np.dtype(w.dtype).name, "size": int(w.size),
                    "zeros": int(np.count_nonzero(w == 0)), "unique": int(np.unique(w).size),
                    "unique_per_channel_max": int(max(per_channel, default=0))})
    return out
