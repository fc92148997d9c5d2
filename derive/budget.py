"""Time budgets: SymPy work that would run for minutes stops with one line instead.

``with budget(60, "proving rnn_bptt", "--no-proof skips it"):`` raises
:class:`OutOfTime` when the block runs longer than 60 s. It is a
``BaseException`` (like ``KeyboardInterrupt``), so no ``except Exception`` on
the way (SymPy has many) can swallow it. The clock is ``SIGALRM``: only in the
main thread on systems that have it; elsewhere the block runs unbounded.
Python code is interrupted between bytecodes, which covers SymPy; a single C
call (a huge integer power) is not, so inputs that would need one are refused
before they get there.
"""
from __future__ import annotations

import signal
import threading
from contextlib import contextmanager

__all__ = ["DEFAULT", "OutOfTime", "budget"]

DEFAULT = 60.0  # seconds per stage (deriving, proving, checking, writing), --proof-timeout changes it


class OutOfTime(BaseException):
    """A stage ran past its budget; ``str()`` is the one line the CLI prints."""

    def __init__(self, seconds: float, what: str, hint: str):
        super().__init__(f"not finished within {seconds:g} s: {what}; {hint}")


def _usable() -> bool:
    return hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()


@contextmanager
def budget(seconds: float | None, what: str, hint: str):
    """Run the block for at most ``seconds`` (None or 0: no limit)."""
    if not seconds or not _usable():
        yield
        return

    def expire(signum, frame):
        raise OutOfTime(seconds, what, hint)

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
