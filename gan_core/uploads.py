"""The data users uploaded through the dashboard (the sidebar's CSV or ZIP), kept under the runs folder's
``.uploads/`` (`UPLOADS_NAME`), one folder per upload (`gan_core.export.save_points_upload`,
`extract_images_zip`): which runs use each, and removing the ones no run uses.

An upload is kept while a run needs it: a stopped run resumes by loading its ``data_path`` again, and
a branch does too. Nothing removes one on its own; the Runs page lists them with their sizes and the
runs that use them, and removes the unused ones a user chooses (`delete_upload`).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

from gan_core.files import open_regular
from gan_core.quoting import quoted
from gan_core.rundir import os_reason

UPLOADS_NAME = ".uploads"
MAX_CONFIG_BYTES = 1 << 20  # a run's config.json is a few kB; one larger is read no further


class UploadsError(ValueError):
    """An upload cannot be removed; the message says why and what is allowed."""


@dataclass(frozen=True)
class Upload:
    """One upload folder: ``name`` (its folder under ``.uploads``), ``kind`` ("points CSV" or
    "images"), ``files`` and ``size_bytes`` (regular files under it, links not followed), ``modified``
    (seconds since the epoch: when it was written) and ``used_by``: the ids of the run folders whose
    config.json names it (sorted; empty: no run uses it, it may be removed). A run folder is named as it
    is on disk, a hand-renamed one included."""

    name: str
    path: Path
    kind: str
    files: int
    size_bytes: int
    modified: float
    used_by: tuple[str, ...]


def uploads_root(runs_root: str | Path) -> Path:
    return Path(runs_root) / UPLOADS_NAME


def _users(runs_root: Path) -> dict[str, str]:
    """Folder name -> the text of its config.json, for every folder of ``runs_root`` that holds one,
    whatever its name (a run folder renamed by hand, which no listing shows, still needs its data); a
    folder whose config.json cannot be read (damaged, a named pipe, a link) maps to "": it counts as
    using every upload, so that nothing is removed that a run might need. A user's own loop's run
    (run.json, no config.json) names no upload."""
    texts = {}
    try:
        entries = list(runs_root.iterdir())
    except OSError:
        return texts
    for entry in entries:
        if entry.name.startswith("."):  # .uploads itself, and other hidden folders: no runs
            continue
        config = entry / "config.json"
        try:
            if not entry.is_dir() or not os.path.lexists(config):
                continue
            if entry.is_symlink():  # a linked folder is never read (`scan_runs`): unknown
                raise OSError("a symlink")
            with os.fdopen(open_regular(config), "rb") as file:
                data = file.read(MAX_CONFIG_BYTES + 1)
        except OSError:
            texts[entry.name] = ""
            continue
        texts[entry.name] = data.decode("utf-8", "replace") if len(data) <= MAX_CONFIG_BYTES else ""
    return texts


def list_uploads(runs_root: str | Path) -> list[Upload]:
    """Every upload folder under ``runs_root``/.uploads, newest first. An upload is used by a run whose
    config.json names its folder (its ``data_path`` lies in it); a run whose config.json cannot be read
    counts as using every upload (it might). Entries that are not folders, and symlinks, are left out.
    Never raises: an unreadable ``.uploads`` lists nothing."""
    root = uploads_root(runs_root)
    try:
        entries = list(root.iterdir())
    except OSError:
        return []
    users = _users(Path(runs_root))
    found = []
    for entry in entries:
        try:
            info = entry.lstat()
        except OSError:
            continue
        if stat.S_ISDIR(info.st_mode):
            found.append(_upload(entry, info.st_mtime, users))
    return sorted(found, key=lambda u: (-u.modified, u.name))


def _upload(folder: Path, modified: float, users: dict[str, str]) -> Upload:
    """The `Upload` of ``folder``, its files counted and sized in one walk (links not followed, files
    gone meanwhile skipped), its users those of ``users`` (`_users`) that name it or cannot be read."""
    sizes: dict[str, int] = {}
    for path in folder.rglob("*"):
        with contextlib.suppress(OSError):
            info = path.lstat()
            if stat.S_ISREG(info.st_mode):
                sizes[str(path.relative_to(folder))] = info.st_size
    kind = "points CSV" if list(sizes) == ["points.csv"] else "images"
    used_by = tuple(sorted(run_id for run_id, text in users.items() if not text or folder.name in text))
    return Upload(folder.name, folder, kind, len(sizes), sum(sizes.values()), modified, used_by)


def upload_of(runs_root: str | Path, path: str | Path | None) -> str | None:
    """The name of the upload folder ``path`` lies in (a data_path the sidebar's form set from an
    upload), or None: no path, or one outside ``runs_root``/.uploads."""
    if path is None or not str(path).strip():
        return None
    root = uploads_root(runs_root).resolve()
    try:
        inner = Path(path).resolve().relative_to(root)
    except (ValueError, OSError, RuntimeError):  # elsewhere; a loop of links
        return None
    return inner.parts[0] if inner.parts else None


def delete_upload(runs_root: str | Path, name: str, keep: Collection[str | Path] = ()) -> int:
    """Remove the upload folder ``name`` (as `list_uploads` names it) and return the bytes it freed.

    Raises `UploadsError` when ``name`` is no upload folder of ``runs_root`` (a path, ``..``, a file, a
    symlink, gone), when a run uses it (`Upload.used_by`: remove the runs first), or when a path in
    ``keep`` lies in it (the data the sidebar's form uses now: Start would train on it)."""
    root = uploads_root(runs_root)
    if not isinstance(name, str) or not name or name in (".", "..") or "/" in name or "\\" in name:
        raise UploadsError(f"{quoted(name)} is not an upload: give a folder name under {root}")
    path = root / name
    try:
        info = path.lstat()
    except FileNotFoundError:
        raise UploadsError(f"upload {quoted(name)} does not exist (removed already?)") from None
    except OSError as exc:
        raise UploadsError(f"upload {quoted(name)} cannot be read ({os_reason(exc)})") from None
    if not stat.S_ISDIR(info.st_mode):
        raise UploadsError(f"{quoted(name)} in {root} is not an upload folder; only those are removed here")
    upload = _upload(path, info.st_mtime, _users(Path(runs_root)))
    if upload.used_by:
        more = len(upload.used_by) - 5
        shown = ", ".join(upload.used_by[:5]) + (f" and {more} more" if more > 0 else "")
        raise UploadsError(
            f"upload {quoted(name)} is used by run{'s' if len(upload.used_by) > 1 else ''} {shown}: they "
            "load it again to resume or branch; delete those runs first"
        )
    for kept in keep:
        if upload_of(runs_root, kept) == name:
            raise UploadsError(
                f"upload {quoted(name)} is the data the sidebar's form uses now (data_path); upload other "
                "data or change data_path first"
            )
    try:
        shutil.rmtree(path)
    except FileNotFoundError:  # removed meanwhile (another tab, a click delivered twice)
        raise UploadsError(f"upload {quoted(name)} does not exist (removed already?)") from None
    except OSError as exc:  # no permission, a file in use: what is left stays listed
        raise UploadsError(f"upload {quoted(name)} could not be removed ({os_reason(exc)})") from None
    return upload.size_bytes
