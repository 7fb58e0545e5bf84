"""The ``keras-hpo`` command.

``keras-hpo tune`` with no arguments tunes the built-in `HyperMLP` on
scikit-learn's digits (no download) with Bayesian search, prints every trial
and the best, evaluates the best model on the held-out test split and writes
everything under ``keras_hpo_results/``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence

from keras_hpo.cli_messages import cli_message

__all__ = ["build_parser", "cli_message", "main", "tensorboard_logdir"]

STRATEGIES = ("grid", "random", "bayesian")

#: The grid `keras-hpo tune --strategy grid` searches (16 combinations).
#: Trials of a random or Bayesian search when ``--max-trials`` is not given.
DEFAULT_TRIALS = 12

CLI_GRID = {
    "num_layers": [1, 2],
    "units": [64, 256],
    "dropout": [0.0, 0.2],
    "learning_rate": [1e-3, 1e-2],
}


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a positive integer, got {text!r}"
        ) from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected an integer >= 0, got {text!r}"
        ) from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {text!r}")
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"expected seconds > 0, got {text!r}")
    return value


def _fuse(text: str) -> int | str:
    if text == "auto":
        return text
    try:
        return _positive_int(text)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(
            f"expected a positive integer or auto, got {text!r}"
        ) from None


class _Formatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows a default once: not when it is None or the help already says it."""

    def _get_help_string(self, action):
        if action.default is None or "(default:" in (action.help or ""):
            return action.help
        return super()._get_help_string(action)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``keras-hpo`` and its subcommands."""
    parser = argparse.ArgumentParser(
        prog="keras-hpo",
        description="Keras-native hyperparameter tuning. Run `keras-hpo tune` to "
        "tune an MLP on the bundled digits data set (no download needed).",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    tune = _add_tune(sub)
    _add_data_options(tune)
    _add_summary(sub)
    _add_predict(sub)
    _add_report(sub)
    _add_tensorboard(sub)
    _add_launch(sub)
    parser.epilog = "The options of `keras-hpo tune`:\n\n" + tune.format_help()
    parser.set_defaults(tune_parser=tune)  # its mistakes show its own usage
    return parser


def _add_tune(sub) -> argparse.ArgumentParser:
    """``keras-hpo tune`` and its search options."""
    tune = sub.add_parser(
        "tune",
        help="tune an MLP's depth, width, dropout, activation and learning rate",
        description="Tune keras_hpo.HyperMLP on a data set, print each trial "
        "and the best, evaluate the best model on the test split and write "
        "the results (trial files, best weights, summary.json) under "
        "DIRECTORY/PROJECT_NAME. Running the same command again resumes: "
        "finished trials are kept.",
        formatter_class=_Formatter,
    )
    tune.add_argument(
        "--strategy",
        choices=STRATEGIES,
        default="bayesian",
        help="search strategy; grid searches a built-in 16-point grid "
        f"({', '.join(CLI_GRID)}), random and bayesian HyperMLP's default space",
    )
    tune.add_argument(
        "--max-trials",
        type=_positive_int,
        default=None,
        help=f"number of trials (default: {DEFAULT_TRIALS}; grid: the whole grid)",
    )
    tune.add_argument(
        "--epochs", type=_positive_int, default=15, help="training epochs per trial"
    )
    tune.add_argument(
        "--batch-size", type=_positive_int, default=32, help="training batch size"
    )
    tune.add_argument(
        "--seed",
        type=_seed,
        default=0,
        help="random seed of the search and the data split",
    )
    tune.add_argument(
        "--fuse",
        type=_fuse,
        default=1,
        help="train up to N trials at once as one fused model, or auto (groups "
        "where a cost model says fusing is faster); 1 trains them one by one",
    )
    tune.add_argument(
        "--workers",
        type=_positive_int,
        default=None,
        help="train trials in N worker processes while this one serves the "
        "search (one machine; see `keras-hpo launch` for more)",
    )
    tune.add_argument(
        "--directory", default="keras_hpo_results", help="folder for all results"
    )
    tune.add_argument(
        "--project-name",
        default=None,
        help="sub-folder of this search (default: <dataset>_<strategy>)",
    )
    tune.add_argument(
        "--overwrite",
        action="store_true",
        help="start from scratch instead of resuming an existing project",
    )
    return tune


def _add_data_options(tune: argparse.ArgumentParser) -> None:
    """The data options of ``keras-hpo tune``."""
    tune.add_argument(
        "--dataset",
        choices=("digits", "mnist", "fashion_mnist", "csv"),
        default="digits",
        help="digits ships with scikit-learn; mnist and fashion_mnist use "
        "Keras' loaders (download once, or see --data-dir); csv needs --csv "
        "and --target",
    )
    tune.add_argument("--csv", metavar="PATH", help="CSV file with a header row")
    tune.add_argument("--target", metavar="COLUMN", help="CSV column to predict")
    tune.add_argument(
        "--preprocessing",
        choices=("auto",),
        default=None,
        help="csv: read text columns and empty cells too, and impute, "
        "standardise and one-hot encode them inside the model "
        "(HyperMLP(preprocessing='auto'); needs pandas)",
    )
    tune.add_argument(
        "--scoring",
        metavar="NAME",
        default=None,
        help="what ranks the trials, as scikit-learn names it (e.g. accuracy, "
        "neg_root_mean_squared_error, f1_macro) or a Keras metric (mae); "
        "default: the task's validation accuracy or loss",
    )
    tune.add_argument(
        "--task",
        choices=("classification", "binary", "regression"),
        default=None,
        help="task of a CSV data set (default: inferred from the target column)",
    )
    tune.add_argument(
        "--data-dir",
        metavar="DIR",
        default=None,
        help="read mnist/fashion_mnist from the four original idx files in DIR "
        "instead of downloading",
    )
    tune.add_argument(
        "--limit",
        type=_positive_int,
        default=None,
        help="use only the first N training samples (quick runs)",
    )
    tune.add_argument(
        "--quiet", action="store_true", help="print only the final result"
    )


def _add_summary(sub) -> None:
    """``keras-hpo summary DIR``."""
    summary = sub.add_parser(
        "summary",
        help="print the trial table of a search from its project directory",
        description="Print one row per trial (status, score, best epoch, "
        "epochs run, seconds, hyperparameters) of a finished or interrupted "
        "search, read from DIR, and mark the best.",
    )
    summary.add_argument(
        "directory",
        metavar="DIR",
        help="the project directory, e.g. keras_hpo_results/digits_bayesian",
    )


def _add_predict(sub) -> None:
    """``keras-hpo predict DIR --csv FILE``."""
    predict = sub.add_parser(
        "predict",
        help="predict a CSV's rows with a finished search's refit model",
        description="Load the best configuration refit on all the data "
        "(keras_hpo.load(DIR).best_estimator_) and predict every row of a CSV "
        "file. The feature columns are those the search was tuned on (named "
        "in DIR/summary.json by `keras-hpo tune --dataset csv`), else every "
        "column but --target. Writes the CSV's columns plus a `prediction` "
        "column (class labels as in the tuning data) to --output, or prints it.",
        formatter_class=_Formatter,
    )
    predict.add_argument(
        "directory", metavar="DIR", help="the project directory of the search"
    )
    predict.add_argument("--csv", metavar="PATH", required=True, help="rows to predict")
    predict.add_argument(
        "--target", metavar="COLUMN", default=None, help="a column to leave out"
    )
    predict.add_argument(
        "--output", metavar="PATH", default=None, help="CSV to write (default: print)"
    )


def _add_report(sub) -> None:
    """``keras-hpo report DIR``."""
    report = sub.add_parser(
        "report",
        help="write a search's plots and an HTML page of its trials",
        description="Draw the optimization history, hyperparameter importance, "
        "parallel coordinates, slices and learning curves of the search in DIR "
        "as PNG files and write index.html (no JavaScript, no network) showing "
        "them and the trial table, best first. Prints the paths written. "
        'Needs matplotlib (pip install "keras-hpo[report]").',
        formatter_class=_Formatter,
    )
    report.add_argument(
        "directory", metavar="DIR", help="the project directory of the search"
    )
    report.add_argument(
        "--output",
        metavar="OUT",
        default=None,
        help="folder to write (default: DIR/report); an existing folder must be "
        "empty or an earlier report's",
    )
    report.add_argument(
        "--seed", type=_seed, default=0, help="seed of the importance estimate"
    )


def _report(args) -> int:
    from keras_hpo.analysis.report import write_report

    try:
        written = write_report(args.directory, args.output, seed=args.seed)
    except ValueError as err:  # the library's argument, as the flag it is here
        message = str(err).replace("`output_dir`", "`--output`")
        raise ValueError(message.replace("output_dir=", "--output ")) from err
    except ImportError as err:  # matplotlib is missing: say how to install it
        print(f"keras-hpo report: error: {err}", file=sys.stderr)
        return 1
    for path in written.values():
        print(path)
    return 0


def _add_tensorboard(sub) -> None:
    """``keras-hpo tensorboard DIR``."""
    board = sub.add_parser(
        "tensorboard",
        help="start TensorBoard on a search's logs, on localhost",
        description="Start TensorBoard on DIR/tensorboard (a project "
        "directory) or on DIR itself, bound to 127.0.0.1. Open the printed "
        "address; the HParams tab shows one row per trial. Ctrl-C stops it.",
        formatter_class=_Formatter,
    )
    board.add_argument(
        "directory", metavar="DIR", help="a project directory or a log directory"
    )
    board.add_argument("--port", type=_positive_int, default=6006, help="port")


def _gpus(text: str) -> list[str]:
    gpus = [g.strip() for g in text.split(",") if g.strip()]
    if not gpus:
        raise argparse.ArgumentTypeError(f"expected GPU IDs like 0,1,2,3, got {text!r}")
    return gpus


def _address(text: str) -> tuple[str, int]:
    from keras_hpo.distributed.settings import parse_address

    try:
        return parse_address(text, "--chief")
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def _add_launch(sub) -> None:
    """``keras-hpo launch``: a script's search on a chief and N workers."""
    launch = sub.add_parser(
        "launch",
        help="run a script's search on a chief and N worker processes",
        description="Start the chief and N workers of COMMAND (a script that "
        "calls tuner.search) with keras-tuner's variables set, print their "
        "lines tagged, end them all when the search ends, and exit with the "
        "chief's status. The chief serves the oracle on 127.0.0.1 unless "
        "--chief says otherwise; beyond loopback every process needs the "
        "same KERAS_HPO_TOKEN. Example: keras-hpo launch --workers 2 -- "
        "python train.py",
        formatter_class=_Formatter,
    )
    launch.add_argument(
        "--workers", type=_positive_int, default=1, help="worker processes here"
    )
    launch.add_argument(
        "--gpus",
        type=_gpus,
        default=None,
        help="one worker per GPU ID (e.g. 0,1,2,3), each seeing only its GPU",
    )
    launch.add_argument(
        "--chief",
        type=_address,
        default=None,
        metavar="HOST:PORT",
        help="where the chief listens (default: 127.0.0.1, a free port); "
        "without --serve the workers connect to a chief on another machine",
    )
    launch.add_argument(
        "--serve",
        action="store_true",
        help="with --chief: run the chief on this machine, bound to HOST:PORT",
    )
    launch.add_argument(
        "--lease",
        type=_seconds,
        default=None,
        help="seconds a worker's trial stays its own without a heartbeat (default 30)",
    )
    launch.add_argument("script", nargs=argparse.REMAINDER, help="-- COMMAND [ARGS...]")


def _launch(args) -> int:
    from keras_hpo.distributed.launch import launch

    command = args.script[1:] if args.script[:1] == ["--"] else args.script
    if not command:
        print(
            "keras-hpo launch: error: give the command after --, e.g. "
            "keras-hpo launch --workers 2 -- python train.py",
            file=sys.stderr,
        )
        return 2
    return launch(
        command,
        args.workers,
        gpus=args.gpus,
        chief=args.chief,
        serve=args.chief is None or args.serve,
        lease=args.lease,
    )


def _tuner(args, data):
    import keras_hpo

    standardize = data.task == "regression" or args.dataset == "csv"
    hypermodel_kwargs = {
        "num_classes": data.num_classes,
        "standardize": standardize and not args.preprocessing,
        "preprocessing": args.preprocessing,
        "batch_size": args.batch_size,
    }
    common = {
        "seed": args.seed,
        "directory": args.directory,
        "project_name": args.project_name or f"{data.name}_{args.strategy}",
        "overwrite": args.overwrite,
        "verbose": 0 if args.quiet else 1,
        "fuse": args.fuse,
        "scoring": args.scoring,
    }
    if args.strategy == "grid":
        hypermodel = keras_hpo.HyperMLP(data.task, **hypermodel_kwargs)
        return keras_hpo.GridSearch(
            hypermodel, max_trials=args.max_trials, param_grid=CLI_GRID, **common
        )
    hypermodel = keras_hpo.HyperMLP(data.task, **hypermodel_kwargs)
    strategy = {"random": keras_hpo.RandomSearch, "bayesian": keras_hpo.BayesianSearch}
    trials = args.max_trials or DEFAULT_TRIALS
    return strategy[args.strategy](hypermodel, max_trials=trials, **common)


def _is_worker() -> bool:
    """Whether this process trains trials for a chief (its environment says)."""
    from keras_hpo.distributed.settings import Cluster
    from keras_hpo.errors import ConfigError

    try:
        cluster = Cluster.from_env()
    except ConfigError:  # the search names what is wrong
        return False
    return cluster is not None and not cluster.is_chief


def _tune(args) -> int:
    from keras_hpo.datasets import load_dataset
    from keras_hpo.files import read_json
    from keras_hpo.hypermodels.tabular import model_inputs
    from keras_hpo.tuners.results import atomic_write_json

    data = load_dataset(
        args.dataset,
        data_dir=args.data_dir,
        csv_path=args.csv,
        target=args.target,
        task=args.task,
        seed=args.seed,
        tabular=args.preprocessing == "auto",
    ).limit(args.limit)
    if not args.quiet and not _is_worker():  # the chief says it, once
        print(
            f"Data set {data.name}: {len(data.x_train)} train, {len(data.x_val)} "
            f"validation, {len(data.x_test)} test samples; task {data.task}",
            flush=True,
        )
    tuner = _tuner(args, data)
    path = os.path.join(tuner.project_dir, "summary.json")
    # What `keras-hpo predict` needs to read a CSV as this search did, kept
    # before the search: a search stopped (Ctrl-C) leaves trials to predict
    # with, whose inputs and classes it must know.
    about = {
        "dataset": data.name,
        "strategy": args.strategy,
        "target": args.target,
        "features": data.features,
        "classes": data.classes,
        "preprocessing": args.preprocessing,
    }
    if not _is_worker():
        kept = read_json(path, "") if os.path.isfile(path) else {}
        atomic_write_json(path, {**(kept if isinstance(kept, dict) else {}), **about})
    start = time.perf_counter()
    tuner.search(
        data.x_train,
        data.y_train,
        validation_data=(data.x_val, data.y_val),
        epochs=args.epochs,
        workers=args.workers,
    )
    best = tuner.best_model()
    x_test = model_inputs(best, data.x_test)  # a table's named columns
    scores = best.evaluate(x_test, data.y_test, verbose=0, return_dict=True)
    test = {name: float(value) for name, value in scores.items()}
    summary = {
        **about,
        "objective": tuner.oracle.objective.name,
        "trials": len(tuner.results()),
        "best_trial_id": tuner.best_trial_id_,
        "best_params": tuner.best_params_,
        "best_score": tuner.best_score_,
        "test": test,
        "seconds": time.perf_counter() - start,
    }
    atomic_write_json(path, summary)
    shown = ", ".join(f"{k}={v:.4f}" for k, v in test.items())
    print(f"Best model on the test split: {shown}")
    print(f"Results: {tuner.project_dir} (summary in {path})")
    return 0


def _predict(args) -> int:
    import csv
    import io

    import keras_hpo
    from keras_hpo.datasets import read_features
    from keras_hpo.files import atomic_write
    from keras_hpo.files import foreign_file
    from keras_hpo.files import read_json

    search = keras_hpo.load(args.directory)
    about = {}
    path = os.path.join(args.directory, "summary.json")
    if os.path.isfile(path):
        about = read_json(path, "Run keras-hpo tune again to write it.")
        if not isinstance(about, dict):
            raise foreign_file(path, "a keras-hpo tune summary")
    features, table = about.get("features"), about.get("preprocessing") == "auto"
    if not about:  # a search run from Python: the model says what it takes
        taken = getattr(search.best_estimator_, "input", None)
        if isinstance(taken, dict):  # named columns: HyperMLP(preprocessing=...)
            features, table = list(taken), True
    header, x, rows = read_features(
        args.csv, features, args.target or about.get("target"), table=table
    )
    predictions = search.predict(x)  # a CSV's class labels, as in the file
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow([*header, "prediction"])
    for row, value in zip(rows, predictions, strict=True):
        # As NumPy prints it: a label as in the file (1000001, not 1e+06), a
        # float with the fewest digits that read back as the same value.
        shown = value if isinstance(value, str) else str(value)
        writer.writerow([*row, shown])
    if args.output is None:
        _to_stdout(text.getvalue(), end="")
        return 0

    def write(tmp: str) -> None:
        with open(tmp, "w") as handle:
            handle.write(text.getvalue())

    atomic_write(args.output, write)
    print(f"Wrote {len(rows)} predictions to {args.output}", file=sys.stderr)
    return 0


def _summary(args) -> int:
    from keras_hpo.summary import format_summary
    from keras_hpo.summary import read_project

    _to_stdout(format_summary(read_project(args.directory)))
    return 0


def _to_stdout(text: str, end: str = "\n") -> None:
    """Prints a command's output; a reader that stops reading ends it quietly.

    As other tools do (`keras-hpo summary DIR | head`): the rest goes
    nowhere, so that Python's own flush at exit raises no second error.
    """
    try:
        print(text, end=end, flush=True)
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def tensorboard_logdir(directory: str) -> str:
    """The log directory to serve for ``keras-hpo tensorboard DIR``."""
    inner = os.path.join(directory, "tensorboard")
    return inner if os.path.isdir(inner) else directory


def _tensorboard(args) -> int:
    from tensorboard import program

    from keras_hpo.errors import bad_value

    if not os.path.isdir(args.directory):
        raise bad_value(
            "DIR", args.directory, "is not a directory", "Pass a project directory."
        )
    board = program.TensorBoard()
    board.configure(
        logdir=tensorboard_logdir(args.directory),
        host="127.0.0.1",
        port=args.port,
        load_fast="false",
    )
    return board.main()


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``keras-hpo`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    for stream in (sys.stdout, sys.stderr):  # a name in λ on an ASCII terminal
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")
    from keras_hpo.errors import ConfigTypeError
    from keras_hpo.errors import ProjectInUseError

    commands = {
        "summary": _summary,
        "tensorboard": _tensorboard,
        "predict": _predict,
        "report": _report,
        "launch": _launch,
    }
    if args.command in commands:
        try:
            return commands[args.command](args)
        except (ValueError, OSError) as err:
            print(f"keras-hpo {args.command}: error: {err}", file=sys.stderr)
            return 2
    tune = args.tune_parser
    if args.dataset == "csv" and not (args.csv and args.target):
        tune.error("--dataset csv needs --csv PATH and --target COLUMN")
    if args.csv and args.dataset != "csv":
        tune.error("--csv is only used with --dataset csv")
    if args.preprocessing and args.dataset != "csv":
        tune.error("--preprocessing is only used with --dataset csv")
    if args.target and args.dataset != "csv":
        tune.error("--target is only used with --dataset csv")
    if args.data_dir and args.dataset not in ("mnist", "fashion_mnist"):
        tune.error(
            f"--data-dir is only used with --dataset mnist or fashion_mnist "
            f"({args.dataset} is read from "
            f"{'scikit-learn' if args.dataset == 'digits' else '--csv'})"
        )
    if args.task and args.dataset != "csv":
        tune.error(
            f"--task is only used with --dataset csv ({args.dataset} is a "
            "classification data set)"
        )
    try:
        return _tune(args)
    except KeyboardInterrupt as err:  # Ctrl-C, or SIGTERM during the search
        from keras_hpo.tuners.termination import Terminated
        from keras_hpo.tuners.termination import interrupt_reason

        print(
            f"keras-hpo: {interrupt_reason(err)}; the trials that finished are "
            "kept: run the same command again to resume the search",
            file=sys.stderr,
        )
        return 143 if isinstance(err, Terminated) else 130
    except (ValueError, ConfigTypeError) as err:  # ConfigError is a ValueError
        print(f"keras-hpo: error: {cli_message(str(err))}", file=sys.stderr)
        return 2
    except (OSError, ProjectInUseError) as err:  # download, disk, another owner
        print(f"keras-hpo: error: {cli_message(str(err))}", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
