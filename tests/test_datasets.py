"""The offline data readers, in-process: MNIST's idx files and the CSV tables."""

from __future__ import annotations

import numpy as np
import pytest

from keras_hpo.datasets import load_csv
from keras_hpo.datasets import load_csv_table
from keras_hpo.datasets import load_mnist
from keras_hpo.datasets import read_idx


def test_mnist_reads_from_the_original_idx_files(mnist_idx_dir):
    data = load_mnist(data_dir=str(mnist_idx_dir), seed=0)
    assert (len(data.x_train), len(data.x_val), len(data.x_test)) == (
        50_000,
        10_000,
        10_000,
    )
    assert data.x_train.shape[1:] == (28, 28)
    assert data.num_classes == 10 and data.task == "classification"
    assert set(np.unique(data.y_test)) == set(range(10))
    assert 0.0 <= float(data.x_test.min()) and float(data.x_test.max()) <= 1.0


def test_a_file_that_is_not_idx_is_refused(tmp_path):
    path = tmp_path / "labels.idx"
    path.write_bytes(b"PK\x03\x04 not an idx file")
    with pytest.raises(ValueError, match="not an idx file"):
        read_idx(str(path))


def test_damaged_or_mismatched_idx_files_are_refused_by_name(tmp_path, mnist_idx_dir):
    # Images and labels of different counts trained on wrongly paired labels;
    # a cut file or a decompressed one still named .gz failed without a path.
    import gzip
    import shutil

    files = sorted(p.name for p in mnist_idx_dir.iterdir())
    for name in files:
        shutil.copy(mnist_idx_dir / name, tmp_path / name)
    labels = next(n for n in files if n.startswith("train-labels"))
    test_labels = next(n for n in files if n.startswith("t10k-labels"))
    shutil.copy(mnist_idx_dir / test_labels, tmp_path / labels)
    with pytest.raises(ValueError, match="train files hold 60000 images but 10000"):
        load_mnist(data_dir=str(tmp_path), seed=0)
    raw = read_idx(str(mnist_idx_dir / test_labels))
    plain = tmp_path / "plain.gz"  # not gzipped, named as if it were
    with open(mnist_idx_dir / test_labels, "rb") as handle:
        data = handle.read()
    data = gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data
    plain.write_bytes(data)
    np.testing.assert_array_equal(read_idx(str(plain)), raw)
    cut = tmp_path / "cut"
    cut.write_bytes(data[:-8])
    with pytest.raises(ValueError, match=r"`path`: 10000 bytes where its header"):
        read_idx(str(cut))


def test_a_table_with_text_and_empty_cells_is_read_as_dataframes(tmp_path):
    rows = ["size,colour,price"] + [
        f"{i},{'red' if i % 3 else ''},{2 * i + 1}" if i % 7 else f",blue,{2 * i + 1}"
        for i in range(30)
    ]
    path = tmp_path / "table.csv"
    path.write_text("\n".join(rows) + "\n")
    data = load_csv_table(str(path), "price", seed=0)
    assert data.task == "regression" and data.features == ["size", "colour"]
    frame = data.x_train
    assert list(frame.columns) == ["size", "colour"]
    assert frame["size"].dtype.kind == "f" and frame["size"].isna().any()
    assert frame["colour"].dtype.kind == "O"  # text (object or pandas str)
    assert len(data.x_train) + len(data.x_val) + len(data.x_test) == 30
    with pytest.raises(ValueError, match="no such column"):
        load_csv_table(str(path), "cost")


@pytest.mark.parametrize("reader", [load_csv, load_csv_table])
def test_a_row_without_a_target_is_refused_by_line(tmp_path, reader):
    # Read as text, an empty target cell would be a class of its own.
    rows = ["a,b,kind"] + [
        f"{i},{i % 5},{'cat' if i % 2 else 'dog'}" for i in range(30)
    ]
    rows[9] = "8,3,"
    path = tmp_path / "animals.csv"
    path.write_text("\n".join(rows) + "\n")
    with pytest.raises(ValueError) as info:
        reader(str(path), "kind", seed=0)
    assert str(info.value).startswith(
        "`csv`: the target column 'kind' is empty on line 10. Received: "
    )
    assert "Drop the rows without a target, or fill them." in str(info.value)
    # Blank lines before it (skipped when read) still count as lines of the file.
    rows[4:4] = ["", "   "]
    path.write_text("\n".join(rows) + "\n")
    with pytest.raises(ValueError, match="is empty on line 12. Received: "):
        reader(str(path), "kind", seed=0)


def test_binary_on_a_target_of_three_classes_is_refused_when_read(tmp_path):
    rows = ["a,kind"] + [f"{i},{('cat', 'dog', 'fish')[i % 3]}" for i in range(30)]
    path = tmp_path / "animals.csv"
    path.write_text("\n".join(rows) + "\n")
    with pytest.raises(ValueError) as info:
        load_csv(str(path), "kind", task="binary", seed=0)
    assert str(info.value) == (
        "`task`: binary needs a target of 2 classes; this one has 3 (cat, dog, "
        "fish). Received: task='binary' (of type str). Use --task classification, "
        "or leave --task out to infer it."
    )


def test_rows_are_named_by_their_line_in_the_file_and_blank_lines_skipped(tmp_path):
    # Blank lines were dropped before counting (a cell on line 5 was "line
    # 3"), and a line of spaces was a row as text but none for pandas.
    from keras_hpo.datasets import read_features

    path = tmp_path / "new.csv"
    path.write_text("a,b,c\n\n0.1,0.2,0.3\n   \n0.1,oops,0.3\n")
    with pytest.raises(ValueError, match="column 'b', line 5: 'oops' is not a fin"):
        read_features(str(path), ["a", "b", "c"], None)
    path.write_text("a,b,c\n1,x,3\n   \n\n4,y,6\n")
    _, frame, rows = read_features(str(path), ["a", "b", "c"], None, table=True)
    assert len(frame) == len(rows) == 2
    assert [row.line for row in rows] == [2, 5]


def test_a_spreadsheets_csv_reads_as_it_shows(tmp_path):
    # A byte-order mark made the first column '\ufeffa' (predict then found
    # no column 'a'); a trailing comma made an empty column 'Unnamed: 3'
    # that training refused; a repeated name became 'a.1' for pandas only.
    from keras_hpo.datasets import read_features
    from keras_hpo.datasets import read_table_frame

    rows = "".join(f"{i},{'xy'[i % 2]},{i % 2},\n" for i in range(30))
    path = tmp_path / "export.csv"
    path.write_bytes(("\ufeffa,c,y,\n" + rows).encode("utf-8"))
    data = load_csv_table(str(path), "y", seed=0)
    assert data.features == ["a", "c"]
    header, frame, body = read_features(str(path), ["a", "c"], table=True)
    assert header == ["a", "c", "y"] and list(frame.columns) == ["a", "c"]
    assert len(frame) == len(body) == 30 and body[0] == ["0", "x", "0"]
    numbers = tmp_path / "numbers.csv"
    numbers.write_bytes(
        ("\ufeffa,b,y,\n" + rows.replace("x", "1").replace("y,", "2,")).encode()
    )
    assert load_csv(str(numbers), "y", seed=0).features == ["a", "b"]
    twice = tmp_path / "twice.csv"
    twice.write_text("a,a,y\n" + "1,2,0\n" * 10)
    for reader in (
        lambda: load_csv(str(twice), "y"),
        lambda: read_table_frame(str(twice)),
    ):
        with pytest.raises(ValueError, match="has more than one column named 'a'"):
            reader()
    unnamed = tmp_path / "unnamed.csv"
    unnamed.write_text("a,,y\n" + "1,2,0\n" * 10)
    with pytest.raises(ValueError, match="column 2 has values but no name"):
        load_csv_table(str(unnamed), "y")
    semicolons = tmp_path / "semi.csv"
    semicolons.write_text("a;b;y\n" + "1;2;0\n" * 10)
    with pytest.raises(ValueError, match="seems separated by ';': save it with"):
        load_csv(str(semicolons), "y")


def test_a_class_of_three_rows_splits(tmp_path):
    # Its 3 rows were stratified into the training part (1 or 2) and the
    # rest, whose second stratified split then failed in scikit-learn.
    rows = ["a,b,label"] + [f"{i},{i % 7},{'x' if i % 2 else 'y'}" for i in range(40)]
    rows += [f"{i},{i},z" for i in range(3)]
    path = tmp_path / "t.csv"
    path.write_text("\n".join(rows) + "\n")
    for seed in range(3):
        data = load_csv(str(path), "label", seed=seed)
        total = len(data.y_train) + len(data.y_val) + len(data.y_test)
        assert total == 43 and data.num_classes == 3


@pytest.mark.parametrize(
    ("labels", "classes"),
    [
        (["07", "08", "09"], ["07", "08", "09"]),
        (["EU", "NA", "ASIA"], ["ASIA", "EU", "NA"]),  # "NA" is no missing value
        (["0", "1", "1.0"], ["0", "1", "1.0"]),
    ],
)
def test_both_readers_take_the_labels_as_written(tmp_path, labels, classes):
    # load_csv_table took pandas' reading of the target: 07 became 7, "NA"
    # an empty target, and "1"/"1.0" one class where load_csv had two.
    rows = ["a,b,label"] + [f"{i},{i % 5},{labels[i % 3]}" for i in range(30)]
    path = tmp_path / "t.csv"
    path.write_text("\n".join(rows) + "\n")
    for reader in (load_csv, load_csv_table):
        assert reader(str(path), "label").classes == classes, reader.__name__
