"""Library error messages in the words of the ``keras-hpo`` command line.

`cli_message` rewrites the Python argument names an error names
(``project_name``, ``overwrite=True``) into the flags of ``keras-hpo tune``
(``--project-name``, ``--overwrite``). This module owns that rewriting and
must not parse arguments or run anything.
"""

from __future__ import annotations

import re

__all__ = ["FLAGS", "cli_message"]

#: The library's argument names -> the `keras-hpo tune` flags that set them.
FLAGS = {
    "project_name": "--project-name",
    "directory": "--directory",
    "overwrite": "--overwrite",
    "data_dir": "--data-dir",
    "csv_path": "--csv",
    "csv": "--csv",
    "target": "--target",
    "task": "--task",
    "dataset": "--dataset",
    "strategy": "--strategy",
    "max_trials": "--max-trials",
    "epochs": "--epochs",
    "batch_size": "--batch-size",
    "seed": "--seed",
    "limit": "--limit",
}

# Left as they are: quoted values ('...' or "..." as repr writes them) and
# path-like words (any run holding a / or \\, e.g. runs/project_name/oracle.json).
_VERBATIM = re.compile(
    r"""(?<!\w)'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*"|[^\s'"`=]*[/\\][^\s'"`]*"""
)
_NAMES = "|".join(sorted(FLAGS, key=len, reverse=True))
_START = r"(?<![\w.\-])"  # not inside a word, a file name or a flag
_RULES = [
    (re.compile(_START + r"overwrite=True\b"), lambda m: "--overwrite"),
    (re.compile(_START + r"overwrite=False\b"), lambda m: "no --overwrite"),
    # `name`, as errors.bad_value writes it
    (re.compile(rf"`({_NAMES})`"), lambda m: f"`{FLAGS[m[1]]}`"),
    # name=value
    (re.compile(rf"{_START}({_NAMES})=(?!=)"), lambda m: f"{FLAGS[m[1]]} "),
    # "argument name"
    (
        re.compile(rf"\b(arguments? `?)({_NAMES})(?![\w\-/\\]|\.\w)"),
        lambda m: f"{m[1]}{FLAGS[m[2]]}",
    ),
    # a bare name that cannot be a plain word: project_name, data_dir, ...
    (
        re.compile(
            rf"{_START}({'|'.join(n for n in FLAGS if '_' in n)})"
            r"(?![\w\-/\\]|\.\w)"
        ),
        lambda m: FLAGS[m[1]],
    ),
]


def _flag_words(text: str) -> str:
    for pattern, replace in _RULES:
        text = pattern.sub(replace, text)
    return text


def cli_message(message: str) -> str:
    """A library error's message as `keras-hpo tune` prints it: with its flags.

    The library speaks of its Python arguments (``overwrite=True``,
    ``project_name``, `` `data_dir` ``); the command has flags instead
    (``--overwrite``, ``--project-name``, ``--data-dir``). An argument name is
    rewritten where it is used as one: in backquotes, before ``=``, after
    "argument", or as a bare name with an underscore. Quoted values and
    path-like words (anything with a slash) are left byte for byte, so
    ``/runs/project_name/oracle.json`` or ``'directory'`` stay as they are.
    """
    parts, last = [], 0
    for match in _VERBATIM.finditer(message):
        parts += [_flag_words(message[last : match.start()]), match[0]]
        last = match.end()
    parts.append(_flag_words(message[last:]))
    return "".join(parts)
