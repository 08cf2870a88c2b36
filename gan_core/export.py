"""Exports of a run, and user uploads turned into data the engine can read — both with limits.

- `metrics_csv_bytes`: the run's metrics.csv as it stands: every step, every column, one row per step,
  with the hyperparameters in force at that step (they are columns of every row). A live run's file
  holds every step trained so far (each row is written as its step ends); a line being written as it
  is read is cut off.
- `run_zip_bytes`: the whole run folder as a ZIP.
- `save_points_upload` / `extract_images_zip`: a CSV of 2D points or a ZIP of images from the browser,
  written under an uploads folder. The ZIP is checked entry by entry: no absolute paths or ``..``, no
  symlinks, only image files, and caps on entry count and uncompressed size (decompression bombs).
  Hidden files and folders and ``__MACOSX`` are left out, as the ``folder`` loader leaves them out.
"""

from __future__ import annotations

import io
import re
import secrets
import shutil
import stat
import zipfile
import zlib
from pathlib import Path, PurePosixPath

from gan_core.data import IMAGE_EXTENSIONS, decode_image, is_hidden_name
from gan_core.quoting import quoted
from gan_core.rundir import LOCK_NAME, RunDir

MAX_UPLOAD_BYTES = 200 * 1024 * 1024
MAX_ZIP_ENTRIES = 50_000
MAX_ZIP_UNCOMPRESSED = 1024 * 1024 * 1024
MAX_COMPRESSION_RATIO = 200  # per entry: larger is a decompression bomb, not an image


class UploadError(ValueError):
    """An upload cannot be used; the message says what is wrong and what is allowed."""


def metrics_csv_bytes(run_dir: RunDir) -> bytes:
    return run_dir.metrics_bytes()  # its complete lines; never waits on a named pipe (`open_regular`)


def run_zip_bytes(run_dir: RunDir) -> bytes:
    """The run folder as a ZIP (under ``<run_id>/``), as it is now: metrics.csv up to its last whole row;
    temp files, symlinks and the writer's claim file (`LOCK_NAME`: who trains it, not the run) left out."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(run_dir.path.rglob("*")):
            if (
                path.is_file()
                and not path.is_symlink()
                and not path.name.endswith(".tmp")
                and path.name != LOCK_NAME
            ):
                arcname = f"{run_dir.run_id}/{path.relative_to(run_dir.path).as_posix()}"
                if path.name == "metrics.csv":
                    zf.writestr(arcname, metrics_csv_bytes(run_dir))
                else:
                    zf.write(path, arcname)
    return buffer.getvalue()


def _too_large(name: str, data: bytes) -> str:
    return f"{name}: {len(data) / 2**20:.0f} MiB is too large; allowed up to {MAX_UPLOAD_BYTES // 2**20} MiB"


def _upload_folder(uploads_root: Path, stem: str) -> Path:
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", stem)[:40].strip("._") or "upload"
    folder = Path(uploads_root) / f"{safe}-{secrets.token_hex(4)}"
    folder.mkdir(parents=True)
    return folder


def save_points_upload(data: bytes, name: str, uploads_root: Path) -> Path:
    """Write an uploaded CSV of points; its content is checked when the data loads (gan_core.data)."""
    if len(data) > MAX_UPLOAD_BYTES:
        raise UploadError(
            f"{name}: {len(data) / 1e6:.0f} MB is too large; allowed up to {MAX_UPLOAD_BYTES // 2**20} MiB"
        )
    if not name.lower().endswith(".csv"):
        raise UploadError(f"{name}: points must come as a .csv file of two numeric columns x,y")
    path = _upload_folder(uploads_root, Path(name).stem) / "points.csv"
    path.write_bytes(data)
    return path


def _first_readable(folder: Path, entries: list[tuple[zipfile.ZipInfo, tuple[str, ...]]]) -> str | None:
    """None once one of the extracted ``entries`` decodes as the ``folder`` dataset will decode it
    (`gan_core.data.decode_image`, through Pillow; at a tiny size, so a large photo costs little): the
    images are tried in order until one does, so a sound archive costs one decode. Otherwise the problem,
    naming the first few entries that failed and why the first did."""
    from PIL import UnidentifiedImageError

    failed: list[str] = []
    reason = ""
    for m, parts in entries:
        try:
            decode_image(folder.joinpath(*parts), 4)
            return None
        except UnidentifiedImageError:  # (its words name a file object, not the entry)
            failed.append(m.filename)
            reason = reason or "not an image file of a format Pillow reads"
        except Exception as exc:  # whatever else Pillow raises for a damaged image (truncated, bad CRC)
            failed.append(m.filename)
            reason = reason or " ".join(str(exc).split()) or type(exc).__name__
    named = ", ".join(quoted(f) for f in failed[:3]) + (
        f" and {len(failed) - 3} more" if len(failed) > 3 else ""
    )
    return (
        f"none of its {len(failed)} image files can be read as an image ({named}; the first: {reason}); "
        f"allowed: a ZIP holding at least one readable image ({', '.join(IMAGE_EXTENSIONS)})"
    )


# Info-ZIP's Unicode Path extra field: version 1, the CRC-32 of the header's name bytes, the name in UTF-8
UNICODE_PATH_EXTRA = 0x7075
UTF8_NAME_FLAG = 0x800  # general purpose bit 11: the header's name is UTF-8


def entry_name(info: zipfile.ZipInfo) -> str:
    """The name of a ZIP entry as its writer meant it. An entry without the UTF-8 flag (bit 11) is read
    by `zipfile` as cp437, but Info-ZIP's ``zip`` on Linux (and other tools) write UTF-8 names without
    the flag ('猫' read as 'τî½'): the name comes from the Unicode Path extra field
    (0x7075) when it is there and its CRC matches the header's name, else the header's bytes decoded as
    UTF-8 when they decode, else cp437 as zipfile read it."""
    if info.flag_bits & UTF8_NAME_FLAG:
        return info.filename
    try:
        raw = info.orig_filename.encode("cp437")
    except UnicodeEncodeError:  # (read with another metadata_encoding: taken as given)
        return info.filename
    extra = info.extra
    while len(extra) >= 4:
        kind, size = int.from_bytes(extra[:2], "little"), int.from_bytes(extra[2:4], "little")
        field, extra = extra[4 : 4 + size], extra[4 + size :]
        crc = int.from_bytes(field[1:5], "little") if len(field) >= 5 and field[0] == 1 else None
        if kind == UNICODE_PATH_EXTRA and crc == zlib.crc32(raw):
            try:
                # (cut at a NUL as zipfile cuts the header's name: none reaches a path)
                return field[5:].decode("utf-8").split("\0", 1)[0] or info.filename
            except UnicodeDecodeError:
                break
    try:
        return raw.decode("utf-8").split("\0", 1)[0]  # (zipfile cuts a name at a NUL too)
    except UnicodeDecodeError:
        return info.filename


def extract_images_zip(data: bytes, name: str, uploads_root: Path) -> Path:
    """Extract the image files of an uploaded ZIP into a fresh folder; returns the folder.

    `UploadError`, saying what is wrong and what is allowed, for an archive that is too large, unsafe
    (paths outside it, links, encryption, a decompression bomb), damaged, without image files, or whose
    image files none decodes (`_first_readable`): nothing is left behind then."""
    if len(data) > MAX_UPLOAD_BYTES:
        raise UploadError(
            f"{name}: {len(data) / 1e6:.0f} MB is too large; allowed up to {MAX_UPLOAD_BYTES // 2**20} MiB"
        )
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise UploadError(f"{name}: not a readable ZIP archive") from None
    with archive:
        members = [m for m in archive.infolist() if not m.is_dir()]
        for m in members:  # the names as their writer meant them (`entry_name`); opening reads by the
            m.filename = entry_name(m)  # header's own bytes (orig_filename), which this leaves as they are
        if len(members) > MAX_ZIP_ENTRIES:
            raise UploadError(f"{name}: {len(members)} files; allowed up to {MAX_ZIP_ENTRIES}")
        total = 0
        images = []
        for m in members:
            parts = PurePosixPath(m.filename.replace("\\", "/")).parts
            if m.filename.startswith(("/", "\\")) or ".." in parts or (parts and ":" in parts[0]):
                raise UploadError(f"{name}: entry {quoted(m.filename)} points outside the archive; refused")
            if stat.S_ISLNK(m.external_attr >> 16):
                raise UploadError(f"{name}: entry {quoted(m.filename)} is a symbolic link; refused")
            if m.flag_bits & 0x1:
                raise UploadError(
                    f"{name}: entry {quoted(m.filename)} is encrypted; allowed: a ZIP without a password"
                )
            if m.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
                raise UploadError(
                    f"{name}: entry {quoted(m.filename)} uses compression method {m.compress_type}; allowed: "
                    "stored or deflated (what every zip tool writes by default)"
                )
            total += m.file_size
            if total > MAX_ZIP_UNCOMPRESSED:
                raise UploadError(
                    f"{name}: expands beyond {MAX_ZIP_UNCOMPRESSED // 2**20} MiB; allowed up to "
                    f"{MAX_ZIP_UNCOMPRESSED // 2**20} MiB unpacked, all entries together"
                )
            if m.compress_size and m.file_size / m.compress_size > MAX_COMPRESSION_RATIO:
                raise UploadError(
                    f"{name}: entry {quoted(m.filename)} is compressed {m.file_size // m.compress_size}x; "
                    f"allowed up to {MAX_COMPRESSION_RATIO}x an entry (no image compresses more: a "
                    "decompression bomb is refused)"
                )
            # Hidden files and folders (and macOS's __MACOSX) are not data, as for a folder given by path
            if Path(parts[-1]).suffix.lower() in IMAGE_EXTENSIONS and not any(map(is_hidden_name, parts)):
                images.append((m, parts))
        if not images:
            raise UploadError(f"{name}: no images ({', '.join(IMAGE_EXTENSIONS)}) inside")
        folder = _upload_folder(uploads_root, Path(name).stem)
        try:
            for m, parts in images:
                target = folder.joinpath(*parts)
                target.parent.mkdir(parents=True, exist_ok=True)
                with archive.open(m) as src, open(target, "wb") as dst:
                    # read at most the declared size + 1: a lying header cannot write more than it declared
                    chunk = src.read(m.file_size + 1)
                    if len(chunk) > m.file_size:
                        raise UploadError(
                            f"{name}: entry {quoted(m.filename)} is larger than it declares; refused"
                        )
                    dst.write(chunk)
            unreadable = _first_readable(folder, images)
            if unreadable is not None:  # found now, not when a run starts and names a server's folder
                raise UploadError(f"{name}: {unreadable}")
        except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
            # found only while reading: a damaged entry, or a header that lies about the size (zipfile
            # stops at the declared size, and the CRC then fails)
            shutil.rmtree(folder, ignore_errors=True)
            raise UploadError(
                f"{name}: entry {quoted(m.filename)} is damaged or not what its header says ({exc}); refused"
            ) from None
        except OSError as exc:  # e.g. both "a.png" and "a.png/b.png": one path cannot be file and folder
            shutil.rmtree(folder, ignore_errors=True)
            raise UploadError(
                f"{name}: entry {quoted(m.filename)} cannot be written ({exc.strerror or exc}); refused"
            ) from None
        except BaseException:  # a refused archive leaves nothing half-extracted behind
            shutil.rmtree(folder, ignore_errors=True)
            raise
    return folder
