"""Reading and writing files a user names, safely: never blocking on a FIFO or a device,
never reading past a size cap, never leaving a half-written output."""
from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path

from .errors import UsageError

__all__ = ["Refused", "read_regular", "write_atomic"]


class Refused(Exception):
    """A file that is not read: not a regular file, or over the size cap (``str()`` says which;
    ``size`` is the file's size in the second case, else None)."""

    def __init__(self, why: str, size: int | None = None):
        super().__init__(why)
        self.size = size


def read_regular(path, limit: int, *, follow: bool = True) -> tuple[bytes, os.stat_result]:
    """(bytes, stat) of the regular file ``path``, at most ``limit`` bytes.

    Opened without blocking (a FIFO or a device is refused, never read) and, with
    ``follow=False``, never through a symlink; the checks are made on the open file.
    Raises :class:`Refused`, or ``OSError`` when it cannot be opened.
    """
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | (0 if follow else getattr(os, "O_NOFOLLOW", 0))
    fd = os.open(path, flags)
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        os.close(fd)
        raise Refused("not a regular file (a directory, FIFO or device)")
    with os.fdopen(fd, "rb") as fh:
        if st.st_size > limit:
            raise Refused(f"{st.st_size} bytes, over the {limit}-byte cap", st.st_size)
        return fh.read(limit + 1)[:limit], st


def write_atomic(out: str, data: bytes) -> None:
    """``data`` into the file ``out`` via a temporary file beside it: on a full disk or an
    interruption ``out`` is left as it was, never half-written."""
    target = Path(os.path.realpath(out))  # through a symlink, to the file it names
    try:
        fd, tmp = tempfile.mkstemp(dir=target.parent if str(target.parent) else ".", prefix=f".{target.name}.",
                                   suffix=".part")
    except OSError as e:
        raise UsageError(f"cannot write {out!r}: {e.strerror}") from None
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        if target.exists():
            mode = stat.S_IMODE(os.stat(target).st_mode)  # an existing file keeps its mode
        else:
            mask = os.umask(0)
            os.umask(mask)
            mode = 0o666 & ~mask  # the mode a plain open() would have given
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except OSError as e:
        raise UsageError(f"cannot write {out!r}: {e.strerror}") from None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
