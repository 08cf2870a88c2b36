"""Opening a file that must be a regular file, without ever waiting: run files, and the files a user
points at (a points CSV, an image folder's files, ``--config``, ``--samples``).

Opened plainly, a named pipe (FIFO, ``mkfifo``) waits: an open for reading until a writer opens it, a read
until the writer writes; where nobody ever will, a page, the command line or a data load hangs for good.
`open_regular` opens without waiting and says what it opened when that is no regular file
(`NotRegularFileError`, an OSError, so that every caller treats it as a file that cannot be read). Imports
nothing of gan_core: every module may use it (`gan_core.rundir` re-exports it, as before).
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path


class NotRegularFileError(OSError):
    """A file to be read or written is something other than a regular file: a named pipe (FIFO), a
    folder, a device or a socket (`open_regular`). An OSError, so that every reader and writer treats it
    as a file that cannot be read or written; its text is the reason alone, without errno and path."""

    def __str__(self) -> str:
        return self.strerror or "not a regular file"


_FILE_KINDS = (
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def file_kind(mode: int) -> str:
    """What a file of ``mode`` (``st_mode``) is, as a problem line names it: "a regular file", "a
    named pipe (FIFO)", "a folder", ..."""
    if stat.S_ISREG(mode):
        return "a regular file"
    return next((kind for is_kind, kind in _FILE_KINDS if is_kind(mode)), "a special file")


def open_regular(path: str | Path, flags: int = os.O_RDONLY, mode: int = 0o644) -> int:
    """``path`` opened with ``flags`` (``os.open``'s, ``mode`` for one it creates) as a blocking
    descriptor, or `NotRegularFileError` if it is not a regular file; never waits.

    Every file of a run folder is opened here, and every file a user points at. Opened plainly, a named
    pipe waits: an open for reading until a writer opens it, a read until the writer writes, a write into
    a full pipe until a reader reads; in a run folder or a data folder nobody ever will. Anyone can put
    one there (a hand edit, a mistaken ``mkfifo``), and a page, the command line, a data load or a
    training run would hang on it. O_NONBLOCK makes the open return at once, and the kind is taken from
    what was opened (``fstat``), not from the name beforehand, which could be swapped in between.
    O_NOCTTY: a terminal device opened by mistake must not become this process's terminal."""
    try:
        fd = os.open(path, flags | os.O_NONBLOCK | os.O_NOCTTY, mode)
    except IsADirectoryError:  # (a folder opened for writing): said as every other kind is said
        raise NotRegularFileError(errno.EISDIR, "not a regular file: a folder", str(path)) from None
    try:
        kind = os.fstat(fd).st_mode
        if not stat.S_ISREG(kind):
            raise NotRegularFileError(errno.EINVAL, f"not a regular file: {file_kind(kind)}", str(path))
        os.set_blocking(fd, True)  # (a regular file never blocks; cleared so the descriptor is as usual)
    except BaseException:
        os.close(fd)
        raise
    return fd


def read_regular(path: str | Path) -> bytes:
    """The whole of the regular file ``path`` (`open_regular`: `NotRegularFileError` for a named pipe, a
    folder, a device)."""
    with os.fdopen(open_regular(path), "rb") as file:
        return file.read()


def runs_folder_problem(folder: str | Path) -> str | None:
    """Why ``folder`` cannot be a runs folder, as one line naming it, or None where it can: it is a folder,
    or is made here (with its parents) as the dashboard's registry would make it.

    The problems: it, or the nearest of its parents that exists, is something other than a folder (a
    file, a named pipe: `file_kind`), or it cannot be made (no permission, a read-only file system, a
    folder like /proc where nothing can be made: the system's reason). A runs folder the process may
    read but not write is no problem here: its runs are shown, and starting one says why it cannot."""
    folder = Path(folder)
    for nearest in (folder, *folder.parents):
        try:
            mode = nearest.stat().st_mode
        except (FileNotFoundError, NotADirectoryError):  # (a path under a file: its parent is the problem)
            continue
        except OSError as exc:
            return f"{str(folder)!r} cannot be read ({exc.strerror or exc})"
        if not stat.S_ISDIR(mode):
            where = "it" if nearest == folder else f"its parent {str(nearest)!r}"
            return f"{str(folder)!r} is not a folder: {where} is {file_kind(mode)}"
        break
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        return f"{str(folder)!r} cannot be made ({exc.strerror or exc})"
    return None
