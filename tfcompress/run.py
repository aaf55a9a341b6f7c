"""Command line: ``python -m tfcompress.run --experiment=NAME [--profile=...]``; and, called,
the API's ``run``: ``tfcompress.run(recipe_or_name, profile=..., overrides=...)``.

Thin on purpose: flags live here, the work in ``tfcompress.api``. Bad input exits with status 2
and one line on stderr; an interrupted run exits 130 and resumes when repeated.
"""

from __future__ import annotations

import logging
import signal
import sys
import textwrap
import types

from absl import app, flags
from absl import logging as absl_logging

from tfcompress import errors
from tfcompress.data.names import DATASETS
from tfcompress.errors import InputError, SweepFailed
from tfcompress.recipe.core import BENCHMARK_MODES

if __name__ == "__main__":  # ``python -m``: one module, so flags are never defined twice
    sys.modules.setdefault("tfcompress.run", sys.modules[__name__])

log = logging.getLogger("tfcompress")

FLAGS = flags.FLAGS
flags.DEFINE_string("experiment", "digits_prune_quant", "Registered experiment to run (--list).")
flags.DEFINE_string("profile", "quick", "tiny (seconds, tests) | quick (real data, minutes) | "
                    "full (paper scale, for a GPU).")
flags.DEFINE_string("output_dir", "saved_models", "Root of run folders and the step cache.")
flags.DEFINE_string("data_dir", None, "Directory with local datasets "
                    "(default: $TFCOMPRESS_DATA_DIR).")
flags.DEFINE_multi_string("override", [], "Recipe override key=value, e.g. train.epochs=3 or "
                          "variants.pruned80_int8.prune.target_sparsity=0.9. Repeatable.")
flags.DEFINE_string("model_path", None, "Your Keras model to compress (.keras, .h5 or a "
                    "SavedModel folder); replaces the experiment's model.")
flags.DEFINE_string("dataset", None, "Dataset to train/evaluate on: a registered name "
                    f"({', '.join(n for n in DATASETS if n not in ('arrays', 'image_folder'))})"
                    " or an image folder / archive path; local copies are read from "
                    "--data_dir.")
flags.DEFINE_list("mean", None, "Per-channel mean subtracted from 0..1 pixels, e.g. "
                  "0.4914,0.4822,0.4465.")
flags.DEFINE_list("std", None, "Per-channel std dividing the pixels, e.g. 0.247,0.2435,0.2616.")
flags.DEFINE_list("image_size", None, "Resize images to HEIGHT,WIDTH (image folders).")
flags.DEFINE_string("pixel_range", None, "The range your model takes "
                  "pixels in: 0-1 (x / 255, the default), 0-255 (a model that rescales them "
                  "itself, e.g. Rescaling(1/255) first) or -1-1.")
flags.DEFINE_string("weights", None, "Pretrained backbone weights of a transfer model: a "
                    "local .h5 file, 'imagenet' (data dir, Keras cache, else download) or "
                    "'random'.")
flags.DEFINE_enum("benchmark", "reuse", list(BENCHMARK_MODES), "The LiteRT timing: reuse "
                  "(a timing of the same files on this machine, else time them) | again (time "
                  "them again) | short (at most 2 rounds of 10 runs: quicker, noisier).")
flags.DEFINE_bool("offline", None, "Never download data (default: $TFCOMPRESS_OFFLINE).")
flags.DEFINE_bool("list", False, "List the experiments with a one-line description and exit.")
flags.DEFINE_multi_string("config", [], "A Python file of your own recipes (it is imported: "
                          "its code runs); they join the registered experiments. Repeatable.")

EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143  # 128 + SIGTERM, as a shell reports it


class Terminated(KeyboardInterrupt):
    """SIGTERM (a scheduler or ``kill``), handled as Ctrl-C is: steps written atomically stay
    cached, the half-done one is dropped, one line says how to resume."""


def _on_sigterm(signum, frame):
    raise Terminated


def _fail(message: str) -> None:
    print(f"tfcompress: error: {message}", file=sys.stderr)
    sys.exit(EXIT_USAGE)


#: the tool's own flags as ``--help`` prints them, by what a user wants to do
HELP_GROUPS = (
    ("What to run", ("experiment", "profile", "list", "config")),
    ("Your own model and data", ("model_path", "dataset", "data_dir", "mean", "std",
                                 "pixel_range", "image_size", "weights", "offline")),
    ("The recipe and the outputs", ("override", "output_dir", "benchmark")),
)
HELP_FLAGS = ("-h", "--help", "-help", "--helpshort", "-?")


def usage() -> str:
    """What ``tfcompress --help`` prints: the tool's flags, grouped (absl's own flags only
    under ``--helpfull``)."""
    lines = ["tfcompress: prune, distill and quantize a Keras model to a TFLite file, with",
             "accuracy, size and CPU latency measured.", "",
             "Usage:  tfcompress --experiment=NAME [--profile=tiny|quick|full] [flags]",
             "        tfcompress --list",
             "        tfcompress --experiment=user_model_prune_quant --model_path=my.keras \\",
             "                   --dataset=cifar10 --data_dir=DIR"]
    for title, names in HELP_GROUPS:
        lines += ["", f"{title}:"]
        for name in names:
            flag = FLAGS[name]
            default = flag.default
            shown = "" if default in (None, [], "", False) else f" (default: {default})"
            text = " ".join(flag.help.replace(
                "; repeat this option to specify a list of values", "").split()) + shown
            lines.append(f"  --{name}")
            lines += textwrap.wrap(text, width=88, initial_indent="      ",
                                   subsequent_indent="      ")
    lines += ["", "Exit status: 0 done, 1 failed, 2 bad input (one line on stderr),",
              "130 interrupted (Ctrl-C), 143 terminated (SIGTERM): the same command resumes.",
              "absl's own flags (logging, verbosity): --helpfull"]
    return "\n".join(lines)


def parse_flags(argv: list[str]) -> list[str]:
    """absl's parser, but a bad flag is one line and exit 2 instead of a usage dump, and
    ``--help`` / ``-h`` list the tool's own flags (exit 0)."""
    if any(a in HELP_FLAGS for a in argv[1:]):
        print(usage())
        sys.exit(0)
    try:
        return FLAGS(argv)
    except flags.Error as e:
        _fail(str(e).splitlines()[0])
    return []  # unreachable


def list_experiments() -> str:
    from tfcompress import catalogue

    names = catalogue.experiment_names()
    width = max(map(len, names), default=0)

    def origin(name: str) -> str:
        where = catalogue.ORIGINS.get(name, "")
        return "" if where.startswith("tfcompress.experiments") else f" [{where}]"

    return "\n".join(f"{n:<{width}}  {catalogue.experiment(n).description}{origin(n)}"
                     for n in names)


class _Below(logging.Filter):
    """Passes records under ``level`` (progress goes to stdout, problems to stderr)."""

    def __init__(self, level: int):
        super().__init__()
        self.level = level

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno < self.level


def _route_logs() -> None:
    """Our progress lines go to stdout and our warnings to stderr, so that a refusal leaves
    exactly one line on stderr: the error."""
    out = logging.StreamHandler(sys.stdout)
    out.addFilter(_Below(logging.WARNING))
    out.setFormatter(logging.Formatter("tfcompress: %(message)s"))
    err = logging.StreamHandler(sys.stderr)
    err.setLevel(logging.WARNING)
    err.setFormatter(logging.Formatter("tfcompress: warning: %(message)s"))
    log.handlers[:] = [out, err]
    log.propagate = False


class _OnlyOurInfo(logging.Filter):
    """TensorFlow logs SavedModel tracing at INFO through absl; keep INFO for our own steps."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.WARNING or record.name.startswith("tfcompress")


def _numbers(flag: str, values: list[str], kind: type) -> list:
    try:
        return [kind(v) for v in values]
    except ValueError:
        raise InputError(f"--{flag} must be comma-separated {kind.__name__}s; received "
                         f"{','.join(values)!r}") from None


#: recipe path -> the convenience flag that sets it (a refusal names the flag the user typed)
FLAG_PATHS = {"model.path": "model_path", "data.path": "dataset", "data.name": "dataset",
              "model.options.weights": "weights", "data.pixel_range": "pixel_range",
              "data.mean": "mean", "data.std": "std", "data.image_size": "image_size"}


def _in_flag_terms(message: str) -> str:
    """``override 'data.mean': data.mean must be ...`` -> ``--mean=nan: --mean must be ...``
    when a convenience flag (not ``--override``) set that path."""
    typed = {path for path, _ in map(_split_override, FLAGS.override)}
    for path, flag in FLAG_PATHS.items():
        head = f"override {path!r}: "
        value = FLAGS[flag].value
        if message.startswith(head) and value and path not in typed:
            shown = ",".join(map(str, value)) if isinstance(value, list) else value
            return f"--{flag}={shown}: " + message[len(head):].replace(path, f"--{flag}")
    return message


def _split_override(text: str) -> tuple[str, str]:
    path, _, value = text.partition("=")
    return path.strip(), value


def flag_overrides() -> dict:
    """The convenience flags as recipe overrides (``--override`` is applied after them)."""
    out: dict = {}
    if FLAGS.model_path:
        out["model.path"] = FLAGS.model_path
    if FLAGS.dataset:
        if FLAGS.dataset in DATASETS:
            out["data.name"] = FLAGS.dataset
        else:
            out.update({"data.name": "image_folder", "data.path": FLAGS.dataset})
    if FLAGS.weights:
        out["model.options.weights"] = FLAGS.weights
    if FLAGS.pixel_range:
        out["data.pixel_range"] = FLAGS.pixel_range
    for flag, kind in (("mean", float), ("std", float), ("image_size", int)):
        values = getattr(FLAGS, flag)
        if values:
            out[f"data.{flag}"] = _numbers(flag, values, kind)
    return out


def main(argv: list[str]) -> int:
    from tfcompress import quiet

    quiet.filter_stderr()  # before TensorFlow starts: its C++ start-up noise off the terminal
    absl_logging.get_absl_handler().addFilter(_OnlyOurInfo())
    sys.stdout.reconfigure(line_buffering=True)  # Keras' per-epoch lines reach logs promptly
    log.setLevel(logging.INFO)
    _route_logs()
    signal.signal(signal.SIGTERM, _on_sigterm)
    if len(argv) > 1:
        _fail(f"unexpected arguments {argv[1:]}; flags look like --name=value")
    try:
        from tfcompress import catalogue

        for path in FLAGS.config:
            catalogue.load_config(path)
        if FLAGS.list:
            print(list_experiments())
            return 0
        from tfcompress import api, outdir
        from tfcompress.recipe import parse_override

        outdir.check(FLAGS.output_dir)  # as typed: '' would otherwise mean the current folder
        recipe = catalogue.experiment(FLAGS.experiment)
        # the convenience flags first, then --override (which may refine them); an unknown
        # profile, a bad override or a missing file is refused by api.run before it says
        # "running" (and before TensorFlow)
        overrides = {**flag_overrides(), **dict(map(parse_override, FLAGS.override))}
        with errors.called_from("cli"):  # refusals name flags, not Python arguments
            result = api.run(recipe, profile=FLAGS.profile, output_dir=FLAGS.output_dir,
                             data_dir=FLAGS.data_dir, offline=FLAGS.offline,
                             overrides=overrides, benchmark=FLAGS.benchmark)
    except InputError as e:
        _fail(_in_flag_terms(str(e)))
    except SweepFailed as e:
        print(f"tfcompress: error: {e}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt as e:
        how = "terminated (SIGTERM)" if isinstance(e, Terminated) else "interrupted"
        print(f"tfcompress: {how}; run the same command again to resume from the cache",
              file=sys.stderr)
        return EXIT_TERMINATED if isinstance(e, Terminated) else EXIT_INTERRUPTED
    if not result.rows:  # a sweep worker: the chief writes the report
        print("tfcompress: sweep worker finished; the chief writes the report")
        return 0
    print(summary(result.rows))
    print(f"\nReport: {result.run_dir / 'report.md'}")
    return 0


def summary(rows: list) -> str:
    """The table printed at the end of a run (``report.row.Row`` per variant)."""
    from tfcompress.report.table import speedup_cell

    lines = [f"{'variant':22s} {'TFLite acc':>10s} {'gzip KiB':>9s} {'x smaller':>9s} "
             f"{'p50 ms':>8s} {'speedup':>7s}  notes"]
    for r in rows:
        p50 = r.timing[1].p50_ms if 1 in r.timing else float("nan")
        lines.append(f"{r.variant:22s} {100 * r.tflite_accuracy:9.2f}% "
                     f"{r.tflite_gzip_bytes / 1024:9.1f} {r.gzip_x_smaller:9.2f} "
                     f"{p50:8.3f} {speedup_cell(r):>7s}  {r.notes}")
    return "\n".join(lines)


def console_main() -> None:
    """Entry point of the ``tfcompress`` console script."""
    app.run(main, flags_parser=parse_flags)


class _CallableModule(types.ModuleType):
    """``tfcompress.run`` names both this module (``python -m tfcompress.run``) and the API's
    ``run``: calling the module runs a recipe (``tfcompress.api.run``)."""

    def __call__(self, *args, **kwargs):
        from tfcompress.api import run

        return run(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule

if __name__ == "__main__":
    console_main()
