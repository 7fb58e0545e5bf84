"""`benchmarks/report.py` rewrites only its generated blocks and spots stale ones.

The lines it writes from each report are checked on fresh quick runs in
``test_benchmarks_training.py``; here its splicing and ``--check`` run on
temporary files, with a stand-in report.
"""

from __future__ import annotations

import sys

import pytest
from conftest import REPO

sys.path.insert(0, str(REPO / "benchmarks"))
import report  # noqa: E402

sys.path.remove(str(REPO / "benchmarks"))


def block(name: str, body: str) -> str:
    return f"{report.BEGIN.format(name)}\n{body}\n{report.END.format(name)}"


def test_splice_replaces_only_the_named_block():
    text = f"intro\n{block('a', 'old a')}\nmiddle\n{block('b', 'old b')}\nend\n"
    out = report.splice(text, "a", "new a\nsecond line\n")
    assert out == (
        f"intro\n{block('a', 'new a' + chr(10) + 'second line')}\nmiddle\n"
        f"{block('b', 'old b')}\nend\n"
    )
    # Splicing again with the same body changes nothing.
    assert report.splice(out, "a", "new a\nsecond line") == out


def test_splice_refuses_a_file_without_the_markers():
    with pytest.raises(report.MissingBlockError, match="no block 'c': add the lines"):
        report.splice(f"intro\n{block('a', 'x')}\n", "c", "body")


def test_check_reports_stale_blocks_and_the_rewrite_fixes_them(
    tmp_path, monkeypatch, capsys
):
    results = tmp_path / "results"
    results.mkdir()
    (results / "only.json").write_text('{"figure": 1.234}')
    (results / "only.md").write_text("| table | 1.234 |\n")
    monkeypatch.setattr(report, "TABLES", ("only",))
    monkeypatch.setattr(report, "README_TABLES", ("only",))  # in both READMEs
    monkeypatch.setattr(
        report, "LINES", (("only", lambda r: f"- figure {r['figure']:.2f}"),)
    )
    readme = tmp_path / "README.md"
    bench = tmp_path / "BENCH.md"
    readme.write_text(
        f"# top\n{block('compare', '- figure 9.99')}\n"
        f"{block('only', '| table | old |')}\nrest\n"
    )
    bench.write_text(f"{block('only', '| table | old |')}\n")
    args = ["--results", str(results), "--readme", str(readme)]
    args += ["--bench-readme", str(bench)]

    assert report.main([*args, "--check"]) == 1
    out = capsys.readouterr().out
    assert f"{readme} is out of date" in out and f"{bench} is out of date" in out
    assert "9.99" in readme.read_text()  # --check writes nothing

    assert report.main(args) == 0
    assert readme.read_text() == (
        f"# top\n{block('compare', '- figure 1.23')}\n"
        f"{block('only', '| table | 1.234 |')}\nrest\n"
    )
    assert bench.read_text() == f"{block('only', '| table | 1.234 |')}\n"
    assert report.main([*args, "--check"]) == 0
