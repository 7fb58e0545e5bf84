"""A SIGTERM during a search stops it as Ctrl-C does.

Job schedulers (Slurm at its time limit, Kubernetes, ``docker stop``,
``timeout``) end a process with SIGTERM and, some seconds later, SIGKILL.
Python's default for SIGTERM ends the process at once: no "Search stopped"
line, ``search.json`` still says the search is running, and a chief does
not end its workers (they end themselves once they notice, see
`keras_hpo.distributed.launch.end_with_parent`). While a one-process search
runs or a chief serves, `sigterm_stops_search` turns SIGTERM into
`Terminated`, a ``KeyboardInterrupt``, so the search stops as on Ctrl-C:
the running trial is abandoned (it runs again on resume), everything
finished is saved, the stop reason says "terminated (SIGTERM)", and the
chief ends its workers at once. A second SIGTERM ends the process at once.
If the program does not catch `Terminated` (a script of one's own, a chief
that ``keras-hpo launch`` ended), it ends with one line that says so
instead of a traceback (and status 1, as an uncaught error).

It owns SIGTERM's handler during a search; it must not stop a search
otherwise.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
from collections.abc import Iterator

__all__ = ["Terminated", "interrupt_reason", "sigterm_stops_search"]


class Terminated(KeyboardInterrupt):
    """SIGTERM arrived during a search: it stops as on Ctrl-C."""


def interrupt_reason(err: BaseException) -> str:
    """Why an interrupted search stopped, for people: Ctrl-C or SIGTERM."""
    if isinstance(err, Terminated):
        return "terminated (SIGTERM)"
    return "interrupted (Ctrl-C)"


class _OneLine:
    """``sys.excepthook`` once SIGTERM stopped a search.

    An uncaught `Terminated` is told in one line; anything else goes to the
    hook that was there.
    """

    def __init__(self, previous):
        self.previous = previous

    def __call__(self, kind, value, traceback) -> None:
        if not isinstance(value, Terminated):
            self.previous(kind, value, traceback)
            return
        print(
            "keras_hpo: the search was terminated (SIGTERM); the trials that "
            "finished are kept: run the same command again to resume it",
            file=sys.stderr,
            flush=True,
        )


@contextlib.contextmanager
def sigterm_stops_search() -> Iterator[None]:
    """While the block runs, SIGTERM raises `Terminated` in the main thread.

    Only in the main thread, and only when SIGTERM has Python's default
    handler: a program's own handler is left as it is. The default comes
    back after the first SIGTERM and when the block ends.
    """
    if (
        threading.current_thread() is not threading.main_thread()
        or signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL
    ):
        yield
        return

    def stop(signum, frame) -> None:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)  # a second one ends it
        if not isinstance(sys.excepthook, _OneLine):
            sys.excepthook = _OneLine(sys.excepthook)
        raise Terminated()

    signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
