"""Pause, Resume and Stop for a run that another process writes, through a small command file.

The dashboard cannot call into a run it does not train (a terminal's ``python -m gan_core train``, a
user's loop through `gan_core.track`, rank 0 of a torchrun job). It writes ``commands.json`` in the run's
folder instead, atomically (a temp file renamed over it): ``{"seq": n, "command": "pause", "source":
"dashboard", "time": ...}`` (``source``: who sent it, as the run's ``command`` event records it:
"dashboard" from its buttons, "script" by default from `gan_core.track.send_command`). Notes for the
run go the same way, in ``notes_request.json`` (`send_notes`; the writer writes them into notes.txt and
answers in status.json, `answer_notes`). Those are the only files a reader ever writes in a run folder,
and the writer only reads them: each file has one writer. The
writer's `CommandPoller` looks at the file's mtime at most once per step and at most every
`POLL_SECONDS` (one ``os.stat``, about a microsecond), reads it only when it changed (or was read within
`RACY_NS` of its change: two writes in one timestamp tick can stat alike), and acts on a ``seq`` it has
not seen; a command sent before the writer started is not acted on. Only the newest command counts:
Pause then Stop before the writer looks is a Stop.
"""

from __future__ import annotations

import json
import os
import secrets
import time
from pathlib import Path

from gan_core.rundir import (
    NotesChangedError,
    RunDir,
    RunDirError,
    atomic_write_text,
    checked_notes,
    notes_change,
    now_iso,
    read_regular,
)

COMMANDS_NAME = "commands.json"
NOTES_REQUEST_NAME = "notes_request.json"  # notes for a run another process writes (`send_notes`)
COMMANDS = ("pause", "resume", "stop")
POLL_SECONDS = 0.2
RACY_NS = 2_000_000_000  # a file read this soon (ns) after its change is read again, its stat unchanged


def _read(path: Path) -> dict:
    try:
        raw = json.loads(read_regular(path).decode("utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError):
        return {}
    return raw if isinstance(raw, dict) else {}


def _seq(raw: dict) -> int:
    seq = raw.get("seq")
    return seq if isinstance(seq, int) and not isinstance(seq, bool) else 0


MAX_SOURCE = 64  # characters of a command's source: a name for the events table, not a message


def asker(source: str) -> str:
    """Who sent a command, for a terminal's line: "the dashboard", or the command file's own word for
    the sender, quoted (text from a file: control characters escaped)."""
    return "the dashboard" if source == "dashboard" else repr(source)


def send_command(run_dir: RunDir | str | os.PathLike, command: str, source: str = "script") -> int:
    """Ask the process writing ``run_dir`` (a `RunDir`, or the run folder's path) to ``command`` (one of
    `COMMANDS`); returns the command's sequence number. ``source`` says who asks, as the run's
    ``command`` event records it ("pause (from script)"): the dashboard's buttons send "dashboard".
    `ValueError` for an unknown command or a source that is no short name; `RunDirError` for a path that
    is no run folder, or when the file cannot be written. Nothing waits here: the writer acts within a
    step (see the module docstring)."""
    if command not in COMMANDS:
        raise ValueError(f"command {command!r} is unknown: allowed {', '.join(COMMANDS)}")
    if (
        not isinstance(source, str)
        or not source.strip()
        or len(source) > MAX_SOURCE
        or not source.isprintable()
    ):
        raise ValueError(
            f"source={source!r} is invalid: allowed a name of 1 to {MAX_SOURCE} printable characters, "
            "such as 'script' (the default) or your scheduler's name"
        )
    if not isinstance(run_dir, RunDir):
        if not isinstance(run_dir, str | os.PathLike):
            raise TypeError(f"run_dir must be a RunDir or a run folder's path, got {type(run_dir).__name__}")
        run_dir = RunDir.from_path(run_dir)
    return _write_request(run_dir, COMMANDS_NAME, {"command": command, "source": source})[0]


def _write_request(run_dir: RunDir, name: str, fields: dict) -> tuple[int, str]:
    """Write a reader's request file ``name`` in ``run_dir`` atomically: ``fields`` with the next ``seq``,
    a random ``id`` (two senders may read one seq: the writer tells them apart by it, and answers by
    it) and the time; returns (seq, id). `RunDirError` naming the file when it cannot be written."""
    path = run_dir.path / name
    seq, key = _seq(_read(path)) + 1, secrets.token_hex(8)
    try:
        atomic_write_text(path, json.dumps({"seq": seq, "id": key, **fields, "time": now_iso()}) + "\n")
    except OSError as exc:
        raise RunDirError(f"run {run_dir.run_id!r}: cannot write {name}: {exc.strerror or exc}") from None
    return seq, key


class _Watched:
    """One file a reader writes and the writer polls (commands.json, notes_request.json): its content
    when it changed since the last look and holds a sequence number not seen before."""

    def __init__(self, path: Path):
        self.path = path
        self._mtime = self._stat()
        self._racy = self._mtime is not None and time.time_ns() - self._mtime[0] <= RACY_NS
        first = _read(self.path)
        self._seen = _seq(first)  # requests from before this writer started are not its own
        self._seen_id = first.get("id")

    def _stat(self) -> tuple[int, int, int] | None:
        # every atomic rename is a new inode: two writes within one timestamp tick are still told apart
        try:
            st = os.stat(self.path)
        except OSError:
            return None
        return st.st_mtime_ns, st.st_ino, st.st_size

    def new(self) -> dict | None:
        mtime = self._stat()
        # Unchanged: nothing new, unless it was read within `RACY_NS` of its change, where a write later
        # in the same timestamp tick, on the freed inode at one size, stats alike (git's "racy clean"
        # rule): then read again, once its change is older than that.
        if mtime == self._mtime and not self._racy:
            return None
        self._mtime = mtime
        self._racy = mtime is not None and time.time_ns() - mtime[0] <= RACY_NS
        raw = _read(self.path)
        seq, key = _seq(raw), raw.get("id")
        # a new sequence number, or the same one under another id: two senders that read one number
        # and both wrote the next (two dashboards, a terminal); the later file is the one there
        if seq < self._seen or (seq == self._seen and (key is None or key == self._seen_id)):
            return None
        self._seen, self._seen_id = seq, key
        return raw


class CommandPoller:
    """The writer's side: `poll` returns a new command (or None), cheaply enough to call every step, and
    keeps a notes request that arrived (`notes`, for the writer to answer with `answer_notes`)."""

    def __init__(self, folder: Path, interval: float = POLL_SECONDS):
        self.path = Path(folder) / COMMANDS_NAME
        self.interval = interval
        self._next = 0.0
        self._commands = _Watched(self.path)
        self._notes = _Watched(Path(folder) / NOTES_REQUEST_NAME)
        self.notes: dict | None = None  # the newest notes request not yet answered

    def poll(self, force: bool = False) -> tuple[str, str] | None:
        """(command, source) when a command arrived since the last poll, else None. Looks at the files
        at most every ``interval`` seconds unless ``force``; a notes request seen is kept in `notes`."""
        now = time.monotonic()
        if not force and now < self._next:
            return None
        self._next = now + self.interval
        request = self._notes.new()
        if request is not None:
            self.notes = request
        raw = self._commands.new()
        if raw is None or raw.get("command") not in COMMANDS:
            return None
        source = raw.get("source")
        return raw["command"], source if isinstance(source, str) else "the dashboard"


def send_notes(
    run_dir: RunDir | str | os.PathLike,
    text: str,
    *,
    append: bool = False,
    expected: str | None = None,
    source: str = "script",
) -> str:
    """Ask the process writing ``run_dir`` to set its notes to ``text`` (with ``append``, to add it on a
    line of its own; ``expected``: only over these notes, see `gan_core.rundir.notes_change`) through
    notes_request.json, written atomically as commands.json is; returns the request's id. The writer
    answers in status.json's ``notes_request`` (``{"seq", "id", "error", "changed"}``) when it next looks,
    between two steps (`answer_notes`). Only the newest request waits there: one sent over another the
    writer has not read yet replaces it (its sender is answered by nobody, and says so). `RunDirError`
    for text that is not allowed (`checked_notes`) or a file that cannot be written."""
    checked_notes(text)
    if not isinstance(run_dir, RunDir):
        run_dir = RunDir.from_path(run_dir)
    fields = {"text": text, "append": bool(append), "expected": expected, "source": str(source)[:MAX_SOURCE]}
    return _write_request(run_dir, NOTES_REQUEST_NAME, fields)[1]


def answer_notes(run_dir: RunDir, request: dict) -> dict:
    """The writer's side of `send_notes`: apply ``request`` (`CommandPoller.notes`) to ``run_dir``, whose
    claim this process holds (`RunDir.update_notes`), and return the answer for status.json's
    ``notes_request``: ``{"seq": n, "error": None or why not, "changed": True where ``expected`` no
    longer held}``. Never raises for a request's content: a malformed one is answered with its error."""
    seq, key = _seq(request), request.get("id")
    text, append, expected = request.get("text"), request.get("append"), request.get("expected")
    if not isinstance(text, str) or not isinstance(append, bool) or not isinstance(expected, str | None):
        error = f"{NOTES_REQUEST_NAME} is malformed: its text, append or expected"
        return {"seq": seq, "id": key, "error": error, "changed": False}
    try:
        run_dir.update_notes(notes_change(run_dir.run_id, text, append=append, expected=expected))
    except NotesChangedError as exc:
        return {"seq": seq, "id": key, "error": str(exc), "changed": True}
    except RunDirError as exc:  # (not allowed, a full disk, a damaged notes.txt: said to the asker)
        return {"seq": seq, "id": key, "error": str(exc), "changed": False}
    return {"seq": seq, "id": key, "error": None, "changed": False}
