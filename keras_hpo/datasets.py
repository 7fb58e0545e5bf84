"""Data sets for the command line and the examples, split three ways.

``digits`` ships inside scikit-learn (no download). ``mnist`` and
``fashion_mnist`` use Keras' own loaders, which download once into the Keras
cache; ``data_dir=`` reads the original idx files from a folder instead. ``csv``
reads a user's own table.
"""

from __future__ import annotations

import csv
import gzip
import math
import os
from dataclasses import dataclass
from typing import Any

import numpy as np

from keras_hpo.errors import bad_type
from keras_hpo.errors import bad_value

__all__ = [
    "DATASETS",
    "Dataset",
    "DownloadError",
    "load_csv",
    "load_csv_table",
    "load_dataset",
    "load_digits",
    "load_fashion_mnist",
    "load_mnist",
    "read_features",
    "read_idx",
    "read_table_frame",
]

DATASETS = ("digits", "mnist", "fashion_mnist", "csv")

#: The four files of MNIST and Fashion-MNIST that ``data_dir=`` must hold.
IDX_FILES = (
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
)


class DownloadError(ConnectionError):
    """Keras could not download a data set (no network, a proxy, a server down).

    The message names the data set and the reason, and says how to load it
    without a download (``data_dir=``).
    """


@dataclass
class Dataset:
    """Train, validation and test splits, and what the task is.

    Attributes:
        name: The data set's name.
        task: ``"classification"``, ``"binary"`` or ``"regression"``.
        num_classes: Number of classes (classification), else ``None``.
        x_train, y_train, x_val, y_val, x_test, y_test: The splits.
        classes: The original labels, in the order of their codes (CSV).
        features: The feature columns' names, in order (CSV).
    """

    name: str
    task: str
    num_classes: int | None
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    classes: list | None = None
    features: list[str] | None = None

    def limit(self, n_train: int | None) -> Dataset:
        """Keeps only the first ``n_train`` training samples (for quick runs)."""
        if n_train is None:
            return self
        if isinstance(n_train, bool) or not isinstance(n_train, int) or n_train < 1:
            raise bad_value("limit", n_train, "must be a positive int", "E.g. 5000.")
        self.x_train, self.y_train = self.x_train[:n_train], self.y_train[:n_train]
        return self


def _split(x, y, seed: int, stratify: bool, fractions=(0.6, 0.2)):
    from sklearn.model_selection import train_test_split

    strat = y if stratify else None
    x_train, x_rest, y_train, y_rest = train_test_split(
        x, y, train_size=fractions[0], random_state=seed, stratify=strat
    )
    # A class of 3 rows leaves 1 of them here, which cannot be stratified.
    _, counts = np.unique(y_rest, return_counts=True)
    strat = y_rest if stratify and counts.min() >= 2 else None
    x_val, x_test, y_val, y_test = train_test_split(
        x_rest, y_rest, test_size=0.5, random_state=seed, stratify=strat
    )
    return x_train, y_train, x_val, y_val, x_test, y_test


def load_digits(seed: int = 0) -> Dataset:
    """scikit-learn's 8x8 digits (1,797 samples, 10 classes), split 60/20/20.

    Pixels are scaled to ``[0, 1]``. No download.
    """
    from sklearn.datasets import load_digits as sk_digits

    x, y = sk_digits(return_X_y=True)
    x = (x / 16.0).astype("float32")
    parts = _split(x, y.astype("int64"), seed, stratify=True)
    return Dataset("digits", "classification", 10, *parts)


def read_idx(path: str) -> np.ndarray:
    """Reads an idx file (MNIST's format), gzipped or not (by its content).

    Raises:
        ValueError: Naming the file, if it is not an idx file of bytes or
            holds fewer or more bytes than its header says.
    """
    with open(path, "rb") as handle:
        data = handle.read()
    if data[:2] == b"\x1f\x8b":  # gzip's magic bytes, whatever the name
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError) as err:
            raise bad_value(
                "path", path, f"a damaged gzip file ({err})", "Download it again."
            ) from None
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] != 8:
        raise bad_value(
            "path", path, "not an idx file of unsigned bytes", "Check the file."
        )
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    expected = 4 + 4 * ndim + math.prod(dims)
    if len(data) != expected:
        raise bad_value(
            "path",
            path,
            f"{len(data)} bytes where its header ({dims}) says {expected} "
            "(cut short, or not what its header says)",
            "Download it again.",
        )
    return np.frombuffer(data, np.uint8, offset=4 + 4 * ndim).reshape(dims)


def _from_idx_dir(data_dir: str):
    names = {
        "x_train": ("train-images-idx3-ubyte", "train-images.idx3-ubyte"),
        "y_train": ("train-labels-idx1-ubyte", "train-labels.idx1-ubyte"),
        "x_test": ("t10k-images-idx3-ubyte", "t10k-images.idx3-ubyte"),
        "y_test": ("t10k-labels-idx1-ubyte", "t10k-labels.idx1-ubyte"),
    }
    arrays = {}
    for key, stems in names.items():
        candidates = [
            os.path.join(data_dir, s + ext) for s in stems for ext in (".gz", "")
        ]
        found = next((c for c in candidates if os.path.exists(c)), None)
        if found is None:
            raise bad_value(
                "data_dir",
                data_dir,
                f"no {stems[0]}(.gz) file in it",
                "Point it at a folder holding the four idx files of MNIST or "
                "Fashion-MNIST.",
            )
        arrays[key] = read_idx(found)
    for part in ("train", "test"):
        images, labels = len(arrays[f"x_{part}"]), len(arrays[f"y_{part}"])
        if images != labels:
            raise bad_value(
                "data_dir",
                data_dir,
                f"its {part} files hold {images} images but {labels} labels",
                "Put the images and labels of one data set side by side "
                "(MNIST's or Fashion-MNIST's four files).",
            )
    return (arrays["x_train"], arrays["y_train"]), (arrays["x_test"], arrays["y_test"])


def _download_failed(err: Exception) -> bool:
    """Whether ``err`` is a failed download raised by ``keras.utils.get_file``."""
    if isinstance(err, OSError):  # URLError, ConnectionError, timeouts
        return True
    # get_file turns an HTTPError / URLError into a bare Exception.
    text = str(err)
    return type(err) is Exception and (
        "URL fetch failure" in text or "fetch failure" in text.lower()
    )


def _download(name: str, loader):
    """``loader()`` (Keras' loader, which downloads once), its failure explained.

    Raises:
        DownloadError: If the download failed; the message names the data
            set, the reason (one line) and the fix.
    """
    try:
        return loader()
    except Exception as err:
        if not _download_failed(err):
            raise
        reason = " ".join(str(err).split()) or type(err).__name__
        raise DownloadError(
            f"Could not download the {name} data set: {reason}. Without network "
            "access, pass data_dir=DIR, a folder holding its four original idx "
            f"files ({', '.join(IDX_FILES)}; gzipped or not), or run once with "
            "network access so that Keras keeps a copy in its cache."
        ) from err


def _images(name: str, loader, data_dir: str | None, seed: int) -> Dataset:
    if data_dir:
        (x, y), (x_test, y_test) = _from_idx_dir(data_dir)
    else:
        (x, y), (x_test, y_test) = _download(name, loader)
    x = x.astype("float32") / 255.0
    x_test = x_test.astype("float32") / 255.0
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(x))
    n_val = len(x) // 6  # 50,000 / 10,000 as is customary
    val, train = order[:n_val], order[n_val:]
    return Dataset(
        name,
        "classification",
        10,
        x[train],
        y[train].astype("int64"),
        x[val],
        y[val].astype("int64"),
        x_test,
        y_test.astype("int64"),
    )


def load_mnist(data_dir: str | None = None, seed: int = 0) -> Dataset:
    """MNIST: 28x28 digits; 50,000 train, 10,000 validation, 10,000 test.

    Args:
        data_dir: A folder of the four original idx files; ``None`` uses
            ``keras.datasets.mnist.load_data()`` (downloads once).
        seed: Seed of the train/validation split.

    Raises:
        DownloadError: If ``data_dir`` is ``None`` and the download fails.
    """
    import keras

    return _images("mnist", keras.datasets.mnist.load_data, data_dir, seed)


def load_fashion_mnist(data_dir: str | None = None, seed: int = 0) -> Dataset:
    """Fashion-MNIST, split like `load_mnist`.

    Args:
        data_dir: A folder of the four idx files; ``None`` uses
            ``keras.datasets.fashion_mnist.load_data()`` (downloads once).
        seed: Seed of the train/validation split.

    Raises:
        DownloadError: If ``data_dir`` is ``None`` and the download fails.
    """
    import keras

    return _images(
        "fashion_mnist", keras.datasets.fashion_mnist.load_data, data_dir, seed
    )


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def load_csv(path: str, target: str, task: str | None = None, seed: int = 0) -> Dataset:
    """A table with a header row: every column but ``target`` is a feature.

    Features must be numeric. The task is inferred unless given: text labels
    or up to 20 distinct whole numbers mean classification (``binary`` for
    two), anything else regression.

    Args:
        path: The CSV file.
        target: The name of the column to predict.
        task: ``"classification"``, ``"binary"``, ``"regression"`` or ``None``.
        seed: Seed of the 60/20/20 split.

    Raises:
        ValueError: For a missing file or column, a non-numeric feature, or a
            table too small to split.
    """
    header, body = _read_table(path, target)
    x, labels = _features_and_labels(path, header, body, target)
    features = [h for h in header if h != target]
    return _csv_dataset(path, x, _encode_target(labels, task), features, seed)


def _csv_dataset(path: str, x: Any, target: tuple, features: list, seed: int):
    """A CSV's `Dataset`: ``x`` and the encoded target split 60/20/20."""
    task, y, num_classes, classes = target
    if len(x) < 10:
        raise bad_value("csv", path, f"only {len(x)} rows", "Give at least 10 rows.")
    stratify = task != "regression" and min(np.bincount(y)) >= 3
    name = os.path.splitext(os.path.basename(path))[0]
    return Dataset(
        name,
        task,
        num_classes,
        *_split(x, y, seed, stratify),
        classes=classes,
        features=features,
    )


def load_csv_table(
    path: str, target: str, task: str | None = None, seed: int = 0
) -> Dataset:
    """A table with text columns and missing values, as pandas DataFrames.

    For ``HyperMLP(preprocessing="auto")`` (``keras-hpo tune --preprocessing
    auto``): every column but ``target`` is a feature, numeric where every
    filled cell is a number, else text; an empty cell is a missing value.
    The target and the split are as in `load_csv`.

    Raises:
        ValueError: For a missing file or column, a missing target value,
            or a table too small to split.
        ImportError: If pandas is not installed (``pip install pandas``).
    """
    header, rows = _rows(path)  # read once: the frame's header, the labels
    frame = read_table_frame(path, header)
    if not isinstance(target, str) or target not in frame.columns:
        raise bad_value(
            "target",
            target,
            f"no such column in {path}",
            f"Columns: {', '.join(map(str, frame.columns))}.",
        )
    # The labels as written (as `load_csv` reads them: `07`, `1.0` and `NA`
    # are classes of their own; pandas made them 7, 1 and missing).
    column = header.index(target)
    if len(rows) != len(frame):  # pragma: no cover - both skip blank lines
        raise bad_value("csv", path, "rows pandas reads otherwise", "Check the file.")
    labels = [row[column].strip() if column < len(row) else "" for row in rows]
    for row, label in zip(rows, labels, strict=True):
        if not label:
            raise _empty_target(path, target, row.line)
    encoded = _encode_target(labels, task)
    x = frame.drop(columns=[target])
    return _csv_dataset(path, x, encoded, [str(c) for c in x.columns], seed)


def read_table_frame(path: str, header: list[str] | None = None) -> Any:
    """A CSV as a pandas DataFrame: empty cells missing, numbers where all are.

    ``header`` is the file's header as `_rows` read it, if the caller has it
    (else the file is read for it too).

    Raises:
        ValueError: For a missing or empty file.
        ImportError: If pandas is not installed.
    """
    if not os.path.isfile(path):
        raise bad_value("csv", path, "no such file", "Pass the path of a CSV file.")
    try:
        import pandas  # noqa: PLC0415 - only tables with text columns need it
    except ImportError as err:
        raise ImportError(
            "Reading a CSV with text columns or missing values needs pandas: "
            'pip install pandas (or pip install "keras-hpo[tabular]").'
        ) from err
    try:
        frame = pandas.read_csv(path, skipinitialspace=True)
    except (ValueError, pandas.errors.ParserError) as err:
        raise bad_value(
            "csv", path, f"cannot be read ({err})", "Check the file."
        ) from err
    if frame.empty:
        raise bad_value(
            "csv", path, "needs a header row and data rows", "Check the file."
        )
    # The header as `_rows` reads it: no unnamed empty column, no name twice
    # (pandas would rename them "Unnamed: 3" and "a.1").
    if header is None:
        header = _rows(path)[0]
    named = [
        c
        for c in frame.columns
        if not (str(c).startswith("Unnamed: ") and frame[c].isna().all())
    ]
    frame = frame[named]
    if len(named) == len(header):
        frame.columns = header
    else:
        frame.columns = [str(c).strip() for c in frame.columns]
    return frame


def read_features(
    path: str,
    features: list[str] | None = None,
    target: str | None = None,
    table: bool = False,
) -> tuple[list[str], Any, list[list[str]]]:
    """A CSV's feature columns, to predict from (``keras-hpo predict``).

    Args:
        path: The CSV file, with a header row.
        features: The columns the model was trained on, in that order
            (other columns are ignored); ``None``: every column but
            ``target``.
        target: A column to leave out when ``features`` is not known.
        table: Read text and empty cells too, as a DataFrame (a search of
            ``HyperMLP(preprocessing="auto")``).

    Returns:
        ``(header, x, rows)``: the file's header, the features of each row
        (float32, or a DataFrame with ``table``) and the rows as read.

    Raises:
        ValueError: For a missing file or column, or a feature that is not
            a finite number (the message names the column and line).
    """
    header, body = _rows(path)
    if features is None:
        features = [h for h in header if h != target]
    missing = [f for f in features if f not in header]
    if missing:
        raise bad_value(
            "csv",
            path,
            f"has no column {', '.join(map(repr, missing))}, which the model "
            "was trained on",
            f"Give a CSV with the columns {', '.join(features)}.",
        )
    if table:
        return header, read_table_frame(path, header)[features], body
    columns = [header.index(f) for f in features]
    x = np.empty((len(body), len(columns)), dtype="float32")
    fix = "Encode features as numbers, as in the data the model was tuned on."
    for i, row in enumerate(body):
        _check_row(path, header, row, row.line)
        for j, (name, column) in enumerate(zip(features, columns, strict=True)):
            x[i, j] = _feature(path, name, row[column], row.line, fix)
    return header, x, body


class _Row(list):
    """A CSV row's cells, and the file line it ends on (``line``)."""

    line: int


def _rows(path: str) -> tuple[list[str], list[_Row]]:
    """A CSV's header and data rows; refuses a missing or empty file.

    Blank lines, and lines of spaces only, are left out (as pandas leaves
    them out); each row keeps its line in the file, for messages. A UTF-8
    byte-order mark is not part of the first column's name, and a column
    without a name or any value (the trailing comma of a spreadsheet's
    export) is no column.

    Raises:
        ValueError: For two columns of one name, or a column of values
            without a name.
    """
    if not os.path.isfile(path):
        raise bad_value("csv", path, "no such file", "Pass the path of a CSV file.")
    rows = []
    with open(path, newline="", encoding="utf-8-sig") as handle:
        reader = csv.reader(handle)
        for cells in reader:
            row = _Row(cells)
            row.line = reader.line_num
            rows.append(row)
    if len(rows) < 2:
        raise bad_value(
            "csv", path, "needs a header row and data rows", "Check the file."
        )
    body = [r for r in rows[1:] if r and not (len(r) == 1 and not r[0].strip())]
    header = [h.strip() for h in rows[0]]
    unnamed = [i for i, name in enumerate(header) if not name]
    if unnamed:
        filled = [i for i in unnamed if any(i < len(r) and r[i].strip() for r in body)]
        if filled:
            raise bad_value(
                "csv",
                path,
                f"column {filled[0] + 1} has values but no name in the header",
                "Name every column in the first row.",
            )
        header = [name for name in header if name]
        for i, row in enumerate(body):
            kept = _Row(cell for j, cell in enumerate(row) if j not in unnamed)
            kept.line = row.line
            body[i] = kept
    twice = sorted({name for name in header if header.count(name) > 1})
    if twice:
        raise bad_value(
            "csv",
            path,
            f"has more than one column named {', '.join(map(repr, twice))}",
            "Give each column its own name.",
        )
    return header, body


def _check_row(path: str, header: list[str], row: list[str], line: int) -> None:
    if len(row) != len(header):
        raise bad_value(
            "csv",
            path,
            f"line {line} has {len(row)} fields, not {len(header)}",
            "Fix the row.",
        )


def _feature(path: str, name: str, cell: str, line: int, fix: str) -> float:
    """A feature cell as a finite number; refuses anything else by column and line."""
    number = _number(cell)
    if number is None or not np.isfinite(number):
        raise bad_value(
            "csv",
            path,
            f"column {name!r}, line {line}: {cell!r} is not a finite number",
            fix,
        )
    return number


def _read_table(path: str, target: str) -> tuple[list[str], list[_Row]]:
    """The CSV's header and non-empty rows; refuses a missing file or column."""
    if not isinstance(target, str) or not target:
        raise bad_type("target", target, "a column name", "Pass --target COLUMN.")
    header, body = _rows(path)
    if target not in header:
        other = [s for s in (";", "\t", "|") if len(header) == 1 and s in header[0]]
        hint = (
            f" The file seems separated by {other[0]!r}: save it with commas."
            if other
            else ""
        )
        raise bad_value(
            "target",
            target,
            f"no such column in {path}",
            f"Columns: {', '.join(header)}.{hint}",
        )
    return header, body


def _empty_target(path: str, target: str, line: int) -> ValueError:
    """The error for a row without a target value (a class of its own else)."""
    return bad_value(
        "csv",
        path,
        f"the target column {target!r} is empty on line {line}",
        "Drop the rows without a target, or fill them.",
    )


def _features_and_labels(path, header, body, target) -> tuple[np.ndarray, list]:
    """The numeric feature matrix and the target column's text, row by row."""
    column = header.index(target)
    features, labels = [], []
    fix = (
        "Encode features as numbers (one-hot encode categories), or pass "
        "--preprocessing auto to read text columns and empty cells."
    )
    for row in body:
        line = row.line
        _check_row(path, header, row, line)
        if not row[column].strip():
            raise _empty_target(path, target, line)
        values = [
            _feature(path, name, cell, line, fix)
            for name, cell in zip(header, row, strict=True)
            if name != target
        ]
        features.append(values)
        labels.append(row[column].strip())
    return np.asarray(features, dtype="float32"), labels


def _encode_target(labels: list, task: str | None):
    """``(task, y, num_classes, classes)``: the task inferred unless given."""
    numeric = [_number(v) for v in labels]
    distinct = sorted(set(labels))
    whole = all(n is not None and float(n).is_integer() for n in numeric)
    if task is None:
        if any(n is None for n in numeric) or (whole and len(distinct) <= 20):
            task = "binary" if len(distinct) == 2 else "classification"
        else:
            task = "regression"
    if task == "regression":
        if any(n is None for n in numeric):
            raise bad_value(
                "task", task, "the target column is not numeric", "Use classification."
            )
        return task, np.asarray(numeric, dtype="float32"), None, None
    classes = sorted(distinct, key=lambda v: (_number(v) is None, _number(v) or 0, v))
    if task == "binary" and len(classes) != 2:
        shown = ", ".join(map(str, classes[:5])) + (", ..." if len(classes) > 5 else "")
        raise bad_value(
            "task",
            task,
            f"binary needs a target of 2 classes; this one has {len(classes)} "
            f"({shown})",
            "Use --task classification, or leave --task out to infer it.",
        )
    code = {label: i for i, label in enumerate(classes)}
    y = np.asarray([code[v] for v in labels], dtype="int64")
    return task, y, len(classes) if task == "classification" else None, classes


def load_dataset(
    name: str,
    *,
    data_dir: str | None = None,
    csv_path: str | None = None,
    target: str | None = None,
    task: str | None = None,
    seed: int = 0,
    tabular: bool = False,
) -> Dataset:
    """Loads one of `DATASETS` by name (see the functions above).

    ``tabular=True`` reads a CSV with `load_csv_table` (DataFrames with text
    columns and missing values) instead of `load_csv` (numbers only).
    """
    if name == "digits":
        return load_digits(seed)
    if name == "mnist":
        return load_mnist(data_dir, seed)
    if name == "fashion_mnist":
        return load_fashion_mnist(data_dir, seed)
    if name == "csv":
        if not csv_path or not target:
            raise bad_value(
                "dataset",
                name,
                "needs a file and a target column",
                "Pass --csv PATH --target COLUMN.",
            )
        if tabular:
            return load_csv_table(csv_path, target, task, seed)
        return load_csv(csv_path, target, task, seed)
    raise bad_value(
        "dataset", name, "unknown data set", f"Use one of: {', '.join(DATASETS)}."
    )
