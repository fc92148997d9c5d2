"""Progress on stderr for work that may take seconds: what is being done, and n/N.

Off unless the CLI turns it on (:func:`enable`), and then shown only when stderr
is a terminal and the command has run for :data:`AFTER` seconds, so quick
commands and pipes print nothing. A background thread redraws one status line;
the work itself only calls :func:`update`.

>>> update("proving", 1, 3)   # off: nothing is printed
"""
from __future__ import annotations

import sys
import threading
import time

__all__ = ["AFTER", "enable", "finish", "update"]

AFTER = 2.0  # seconds a command runs before its progress is shown
_state = {"on": False, "text": "", "since": 0.0, "shown": False}
_lock = threading.Lock()
_thread: threading.Thread | None = None


def enable(stream=None) -> bool:
    """Show progress on ``stream`` (stderr) if it is a terminal; returns whether it will."""
    global _thread
    stream = stream or sys.stderr
    if not (hasattr(stream, "isatty") and stream.isatty()):
        return False
    _state.update(on=True, stream=stream, since=time.monotonic())
    if _thread is None:
        _thread = threading.Thread(target=_draw, name="gradproof-progress", daemon=True)
        _thread.start()
    return True


def update(what: str, n: int | None = None, total: int | None = None) -> None:
    """Say what is being done now (``n`` of ``total`` when they are known)."""
    if not _state["on"]:
        return
    with _lock:
        _state["text"] = f"{what} {n}/{total}" if n is not None and total else what


def finish() -> None:
    """Clear the status line (before the result or an error is written)."""
    with _lock:
        if _state.get("shown"):
            _state["stream"].write("\r\x1b[K")
            _state["stream"].flush()
        _state.update(on=False, shown=False, text="", drawn=None)


def _draw() -> None:
    while True:
        time.sleep(0.25)
        with _lock:
            if not _state["on"] or not _state["text"] or time.monotonic() - _state["since"] < AFTER \
                    or _state.get("drawn") == _state["text"]:
                continue
            _state["stream"].write(f"\r\x1b[K{_state['text'][:100]} …")
            _state["stream"].flush()
            _state.update(shown=True, drawn=_state["text"])
