"""Delivering output: checked before any work, written atomically, and remembered.

A scheduled `run` reports what changed since the last report it delivered, not merely since
the previous run: when a report cannot be written (a missing folder, a full disk, a kill
between the commit and the write), the next run reports the same changes again, so an alert is
never lost. Only a report that was written completely is recorded in `deliveries`.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from stancetrack.errors import OutputError
from stancetrack.models import Delivery
from stancetrack.store import utcnow

STDOUT = "stdout"


def check_writable(path: Path, what: str = "report") -> None:
    """Fail now, before any work, if `path` cannot be written as a file."""
    if path.is_dir():
        raise OutputError(f"cannot write {what} to {path}: it is a folder")
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.exists():
        raise OutputError(f"cannot write {what} to {path}: folder {folder} does not exist")
    if not folder.is_dir():
        raise OutputError(f"cannot write {what} to {path}: {folder} is not a folder")
    if path.exists() and not _is_regular_or_device(path):
        raise OutputError(f"cannot write {what} to {path}: not a regular file")
    target = path if path.exists() else folder
    if not os.access(target, os.W_OK):
        raise OutputError(f"cannot write {what} to {path}: permission denied")


def _is_regular_or_device(path: Path) -> bool:
    # Character devices such as /dev/stdout are fine targets; FIFOs and sockets would block.
    import stat

    mode = path.stat().st_mode
    return stat.S_ISREG(mode) or stat.S_ISCHR(mode)


def write_atomically(path: Path, content: str | bytes, what: str = "report") -> None:
    """Write the whole file or nothing: a temp file in the same folder, then a rename.

    Devices (/dev/stdout) are written directly. Errors become one-line `OutputError`s.
    """
    data = content.encode("utf-8") if isinstance(content, str) else content
    try:
        if path.exists() and not path.is_file():
            with path.open("wb") as handle:
                handle.write(data)
                handle.flush()
            return
        folder = path.parent if str(path.parent) else Path(".")
        handle_fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
        try:
            with os.fdopen(handle_fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temp, path)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise OutputError(f"cannot write {what} to {path}: {exc.strerror or exc}") from None


def last_delivered_run(session: Session) -> int:
    """The run whose report was last delivered (0 when none ever was)."""
    return int(session.scalar(select(func.max(Delivery.run_id))) or 0)


def record_delivery(session: Session, run_id: int, target: str, fmt: str) -> None:
    session.add(Delivery(run_id=run_id, target=target[:2000], format=fmt, delivered_at=utcnow()))
    session.flush()
