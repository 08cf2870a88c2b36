"""Image folders at scale: decoding many files in worker processes, the cache file a large folder is
decoded into once, and the source that streams training batches from it.

A ``folder`` whose pixels would take more than `gan_core.data.memory_budget` on the device is not held:
`streamed_folder` decodes it once into a cache file under `gan_core.data.cache_root` (a raw uint8 array
(N, 3, S, S), C order, which `numpy.memmap` reads) beside a small JSON record of what it holds, and
`StreamedSource` reads batches from it through a `torch.utils.data.DataLoader` whose worker processes
prefetch the next batches while the current one trains.

A held folder of `gan_core.data.CACHE_HELD_FROM` files or more goes through the same cache (`held_folder`
reads the file whole), so that its next load does not decode every image again either.

The cache file is named by a key over what the images are made of: the folder's resolved path, every
image file's path below it, size and modification time, the image side and this module's format
version. Another run of the same folder at the same side reuses it; a changed, added or removed file
makes a new key (the old file stays until the cache folder is cleared: deleting it is always safe).
The record is written last, and it holds the data file's byte count and CRC-32, checked at every load:
a cache file cut short (a build killed midway) or damaged is found, said in the source's ``notes``
and through ``progress``, and rebuilt. Builders of one key take turns (an OS lock on ``<key>.lock``),
so the ranks of a multi-process job decode a folder once between them.

Sampling is deterministic per seed: batch k of a stream of batches of n draws its n indices uniformly
with replacement from numpy's PCG64 seeded with [seed, k], where seed is the initial seed of the
generator that `StreamedSource.sample` is first given (the run's generator: `gan_core.trainer.rank_seed`,
so every rank of a job draws its own batches). Batch k is the same whichever worker reads it, and a
checkpoint keeps (seed, k) (`DataSource.stream_state`) so that a resumed run goes on where it stopped.
"""

from __future__ import annotations

import collections
import contextlib
import hashlib
import itertools
import json
import os
import signal
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
import torch.utils.data

from gan_core.data import (
    EXAMPLES_FOR_TOYS,
    DataError,
    DataSource,
    ImagePrep,
    LeftOut,
    Progress,
    cache_root,
    decode_image,
    folder_labels,
    image_source,
    left_out_names,
    no_images_error,
    reference_index,
    relative_parts,
)
from gan_core.environment import machine_cores

if TYPE_CHECKING:
    from gan_core.config import GANConfig

FORMAT_VERSION = 1
# Worker processes: decoding a folder of at least DECODE_IN_WORKERS_FROM files (fewer decode in this
# process: starting workers costs more than they save), and reading a stream's batches.
DECODE_WORKERS = min(8, machine_cores())
DECODE_IN_WORKERS_FROM = 2048
DECODE_CHUNK = 256  # files one worker decodes per task
STREAM_WORKERS = 2
STREAM_BLOCK = 8  # batches a stream worker reads per task
STREAM_PREFETCH = 2  # tasks each stream worker reads ahead
_CRC_BLOCK = 64 * 2**20

# Counts the files this process decoded (tests check that a reused cache decodes nothing).
decoded_files = 0


# ---------------------------------------------------------------------------------------------- decoding
class _DecodeChunks(torch.utils.data.Dataset):
    """Task i decodes files [i * chunk, (i + 1) * chunk): (i, pixels (m, 3, S, S) uint8 with gray images in
    all three channels, colour (m,) bool, read (m,) bool, too large (m,) bool: not read for having more
    pixels than `gan_core.data.image_pixel_limit`)."""

    def __init__(self, files: Sequence[str | Path], size: int, chunk: int):
        self.files, self.size, self.chunk = [str(f) for f in files], size, chunk

    def __len__(self) -> int:
        return -(-len(self.files) // self.chunk)

    def __getitem__(self, i: int) -> tuple[int, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        from PIL import Image

        names = self.files[i * self.chunk : (i + 1) * self.chunk]
        pixels = np.zeros((len(names), 3, self.size, self.size), dtype=np.uint8)
        colour = np.zeros(len(names), dtype=bool)
        read = np.zeros(len(names), dtype=bool)
        large = np.zeros(len(names), dtype=bool)
        for j, name in enumerate(names):
            try:
                array = decode_image(name, self.size)
            except Image.DecompressionBombError:
                large[j] = True  # counted in skipped_files, and said apart: a limit, not a damaged file
                continue
            except (OSError, SyntaxError, ValueError):
                continue  # not an image PIL can read, despite its name: counted in skipped_files
            read[j] = True
            if array.ndim == 3:
                pixels[j] = array.transpose(2, 0, 1)
                colour[j] = True
            else:
                pixels[j] = array  # broadcast into R, G and B
        return i, *(torch.from_numpy(a) for a in (pixels, colour, read, large))


def _decoded_chunks(
    files: Sequence[str | Path], size: int, progress: Progress | None, what: str
) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
    """(pixels, colour, read, too large) per chunk of ``files`` in order, decoded by `DECODE_WORKERS`
    processes for a large folder; ``progress(done, total, what)`` after each chunk."""
    global decoded_files
    tasks = _DecodeChunks(files, size, DECODE_CHUNK)
    workers = DECODE_WORKERS if len(files) >= DECODE_IN_WORKERS_FROM and DECODE_WORKERS > 1 else 0
    loader = torch.utils.data.DataLoader(tasks, batch_size=None, num_workers=workers)
    done = 0
    if progress is not None:
        progress(0, len(files), what)
    for _, pixels, colour, read, large in loader:
        done += len(read)
        decoded_files += len(read)
        if progress is not None:
            progress(done, len(files), what)
        yield pixels.numpy(), colour.numpy(), read.numpy(), large.numpy()


def decode_files(
    files: Sequence[str | Path], size: int, progress: Progress | None = None
) -> tuple[np.ndarray, bool, list[str | Path], int]:
    """Every file of ``files`` decoded as the ``folder`` set reads it (`gan_core.data.decode_image`):
    (pixels (K, 3, size, size) uint8 of the K files that could be read, in order, gray ones in all
    three channels; whether any was in colour; those K files; how many of the others were too large)."""
    pixels = np.empty((len(files), 3, size, size), dtype=np.uint8)
    kept: list[str | Path] = []
    colour, too_large = False, 0
    start = 0
    for chunk, chunk_colour, read, large in _decoded_chunks(files, size, progress, "decoding images"):
        good = np.flatnonzero(read)
        pixels[len(kept) : len(kept) + len(good)] = chunk[good]
        kept.extend(files[start + i] for i in good)
        colour |= bool(chunk_colour[good].any())
        too_large += int(large.sum())
        start += len(read)
    return pixels[: len(kept)], colour, kept, too_large


# ---------------------------------------------------------------------------------------------- cache
def cache_key(root: Path, files: Sequence[str | Path], size: int) -> str:
    """The name of ``root``'s cache at ``size``: a hash of the format version, the resolved folder, the side
    and every file's path below the folder, byte size and modification time (ns)."""
    digest = hashlib.sha256(f"{FORMAT_VERSION}\0{root.resolve()}\0{size}\0".encode())
    for path, parts in zip(files, relative_parts(root, files)):
        stat = os.stat(path)
        digest.update(f"{'/'.join(parts)}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:32]


def _crc32(path: Path) -> int:
    crc = 0
    with open(path, "rb") as file:
        while block := file.read(_CRC_BLOCK):
            crc = zlib.crc32(block, crc)
    return crc


def _check_cache(data_file: Path, record_file: Path, key: str, size: int) -> dict[str, Any]:
    """The cache's record when ``data_file`` holds what it says, else ValueError saying what is wrong."""
    try:
        record = json.loads(record_file.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"its record {record_file.name} cannot be read ({type(exc).__name__})") from None
    fields = dict(version=int, key=str, size=int, count=int, colour=bool, skipped=list, crc32=int)
    if not isinstance(record, dict) or any(not isinstance(record.get(k), t) for k, t in fields.items()):
        raise ValueError(f"its record {record_file.name} lacks a field or has one of the wrong type")
    if record["version"] != FORMAT_VERSION or record["key"] != key or record["size"] != size:
        raise ValueError(f"its record {record_file.name} is for another format, folder or size")
    expected = record["count"] * 3 * size * size
    try:
        actual = data_file.stat().st_size
    except OSError:
        raise ValueError(f"its data file {data_file.name} is missing") from None
    if actual != expected:
        raise ValueError(f"its data file {data_file.name} has {actual} bytes, not {expected}")
    if _crc32(data_file) != record["crc32"]:
        raise ValueError(f"its data file {data_file.name} does not match its checksum")
    return record


@contextlib.contextmanager
def _build_lock(path: Path) -> Iterator[None]:
    """Held while a cache is checked and built: one builder per key across processes (POSIX flock)."""
    try:
        import fcntl
    except ImportError:  # Windows: no lock; two builders each write their own temporary file
        yield
        return
    with open(path, "a+b") as file:
        fcntl.flock(file.fileno(), fcntl.LOCK_EX)  # waits for another builder to finish
        try:
            yield
        finally:
            fcntl.flock(file.fileno(), fcntl.LOCK_UN)


def _build_cache(
    files: Sequence[str | Path],
    size: int,
    key: str,
    data_file: Path,
    record_file: Path,
    progress: Progress | None,
) -> dict[str, Any]:
    """Decode ``files`` into ``data_file`` (written under a temporary name, renamed when complete), then
    write its record; returns the record."""
    partial = data_file.with_name(f"{data_file.name}.{os.getpid()}.partial")
    row = 3 * size * size
    written, crc, colour, skipped, too_large = 0, 0, False, [], 0
    try:
        with open(partial, "wb") as out:
            start = 0
            chunks = _decoded_chunks(files, size, progress, "decoding into the cache")
            for pixels, chunk_colour, read, large in chunks:
                good = np.flatnonzero(read)
                block = np.ascontiguousarray(pixels[good]).tobytes()
                out.write(block)
                crc = zlib.crc32(block, crc)
                written += len(good)
                colour |= bool(chunk_colour[good].any())
                skipped.extend(int(start + i) for i in np.flatnonzero(~read))
                too_large += int(large.sum())
                start += len(read)
        assert partial.stat().st_size == written * row
        os.replace(partial, data_file)
    finally:
        with contextlib.suppress(OSError):
            partial.unlink()
    record = {
        "version": FORMAT_VERSION,
        "key": key,
        "size": size,
        "count": written,
        "colour": colour,
        "skipped": skipped,
        "too_large": too_large,  # of the skipped (absent from a record written before it was counted)
        "crc32": crc,
    }
    temporary = record_file.with_name(f"{record_file.name}.{os.getpid()}.partial")
    temporary.write_text(json.dumps(record))
    os.replace(temporary, record_file)  # the record last: a cache without one is never taken as whole
    return record


@dataclass
class CachedFolder:
    """A folder's whole cache: its data file, its record, the files it holds (in order) and what was done
    (built, reused, rebuilt) in words."""

    data_file: Path
    record: dict[str, Any]
    kept: list[str | Path]
    notes: list[str]


def cached_folder(
    root: Path,
    files: Sequence[str | Path],
    size: int,
    progress: Progress | None = None,
    why: str = "streamed",
) -> CachedFolder:
    """``root``'s cache at ``size`` (its image ``files``, sorted), decoded into its cache file first unless
    a whole one is there; a damaged or partial one is rebuilt, and said so in the notes. DataError when
    the cache folder cannot be made (``why`` the folder needs one) or no image could be read."""
    if not files:
        raise no_images_error(root, files)
    folder = cache_root()
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DataError(
            f"image folder {root} is {why} through a cache file, and the cache folder {folder} cannot be "
            f"made ({exc}); set $GAN_DASHBOARD_DATA_CACHE to a writable folder"
        ) from None
    key = cache_key(root, files, size)
    data_file, record_file = folder / f"{key}.u8", folder / f"{key}.json"
    notes: list[str] = []
    with _build_lock(folder / f"{key}.lock"):
        record = None
        if data_file.exists() or record_file.exists():
            if progress is not None:
                progress(0, len(files), "checking the cache")
            try:
                record = _check_cache(data_file, record_file, key, size)
            except ValueError as exc:
                notes.append(f"the data cache {data_file} was damaged or incomplete ({exc}): rebuilt")
                if progress is not None:
                    progress(0, len(files), notes[-1])
        if record is None:
            for stale in folder.glob(f"{key}.*.partial"):  # a build killed midway (under the lock: not live)
                with contextlib.suppress(OSError):
                    stale.unlink()
            record = _build_cache(files, size, key, data_file, record_file, progress)
            notes.append(f"decoded {len(files):,} files into the data cache {data_file}")
        else:
            notes.append(f"reused the data cache {data_file}")
            if progress is not None:
                progress(len(files), len(files), "reused the cache")
    if record["count"] == 0:
        raise no_images_error(root, files, _too_large(record))
    skipped = set(record["skipped"])
    kept = [path for i, path in enumerate(files) if i not in skipped]
    return CachedFolder(data_file, record, kept, notes)


def streamed_folder(
    cfg: GANConfig,
    root: Path,
    files: Sequence[str | Path],
    device: torch.device,
    progress: Progress | None = None,
) -> StreamedSource:
    """The ``folder`` ``root`` (its image ``files``, sorted) as a `StreamedSource` over its cache
    (`cached_folder`)."""
    size = cfg.resolved_image_size
    cache = cached_folder(root, files, size, progress)
    record = cache.record
    labels, class_names = folder_labels(root, cache.kept)
    own_channels = 3 if record["colour"] else 1
    source = StreamedSource(
        cache.data_file,
        record["count"],
        size,
        colour=record["colour"],
        prepare=ImagePrep(255.0, own_channels, cfg.channels or own_channels, size),
        labels=labels,
        class_names=class_names,
        skipped_files=len(files) - len(cache.kept),
        device=device,
    )
    source.too_large_files = _too_large(record)
    source.left_out = LeftOut(names=left_out_names(root, files, cache.kept))
    source.notes.extend(cache.notes)
    return source


def held_folder(
    cfg: GANConfig,
    root: Path,
    files: Sequence[str | Path],
    device: torch.device,
    progress: Progress | None = None,
) -> DataSource:
    """The ``folder`` ``root`` held on ``device`` (as `gan_core.data.image_source` holds it), its pixels read
    from its cache (`cached_folder`): a large folder that fits the budget is decoded once too."""
    size = cfg.resolved_image_size
    cache = cached_folder(root, files, size, progress, why="read")
    count, colour = cache.record["count"], cache.record["colour"]
    pixels = np.fromfile(cache.data_file, dtype=np.uint8).reshape(count, 3, size, size)
    raw = torch.from_numpy(pixels if colour else np.ascontiguousarray(pixels[:, :1]))
    labels, class_names = folder_labels(root, cache.kept)
    skipped = len(files) - len(cache.kept)
    source = image_source("folder", raw, 255.0, labels, cfg, device, skipped, class_names)
    source.too_large_files = _too_large(cache.record)
    source.left_out = LeftOut(names=left_out_names(root, files, cache.kept))
    source.notes.extend(cache.notes)
    return source


def _too_large(record: dict[str, Any]) -> int:
    """How many of a cache's skipped files were too large (0 in a record from before they were counted)."""
    count = record.get("too_large", 0)
    return count if isinstance(count, int) and not isinstance(count, bool) else 0


# ---------------------------------------------------------------------------------------------- streaming
def batch_indices(seed: int, k: int, n: int, count: int) -> np.ndarray:
    """Batch ``k``'s ``n`` indices below ``count`` in a stream seeded ``seed``: uniform with replacement
    from PCG64 seeded [seed, k], sorted (the file is read in order)."""
    return np.sort(np.random.default_rng([seed, k]).integers(count, size=n))


class _StreamBatches(torch.utils.data.Dataset):
    """Item j: batches j * `STREAM_BLOCK` to (j + 1) * `STREAM_BLOCK` - 1 of the stream, (pixels (B, n, C, S,
    S) uint8, labels (B, n) int64, or (B, 0) without labels), read from the cache file by whichever worker
    is given j (each opens its own memory map). Batches travel in blocks because handing a tensor from a
    worker to the trainer costs about a millisecond of the trainer's time, whatever its size."""

    def __init__(self, file: Path, shape: tuple[int, ...], colour: bool, rows, labels, seed: int, n: int):
        self.file, self.shape, self.colour = file, shape, colour
        self.rows, self.labels, self.seed, self.n = rows, labels, seed, n
        self._pixels: np.ndarray | None = None

    def __len__(self) -> int:  # endless: the sampler says which k
        return 2**62

    def __getitem__(self, j: int) -> tuple[torch.Tensor, torch.Tensor]:
        if self._pixels is None:
            self._pixels = np.memmap(self.file, dtype=np.uint8, mode="r", shape=self.shape)
        count = len(self.rows) if self.rows is not None else self.shape[0]
        ks = range(j * STREAM_BLOCK, (j + 1) * STREAM_BLOCK)
        index = np.stack([batch_indices(self.seed, k, self.n, count) for k in ks])
        rows = index if self.rows is None else self.rows[index]
        pixels = read_rows(self._pixels, rows.reshape(-1), self.colour)
        if self.labels is None:
            labels = torch.empty((STREAM_BLOCK, 0), dtype=torch.int64)
        else:
            labels = torch.from_numpy(self.labels[index])
        return pixels.reshape(STREAM_BLOCK, self.n, *pixels.shape[1:]), labels


def read_rows(pixels: np.ndarray, rows: np.ndarray, colour: bool) -> torch.Tensor:
    """Rows ``rows`` of the cache's (N, 3, S, S) pixels as a new uint8 tensor, (n, 3, S, S) for a colour
    set, else its first channel (n, 1, S, S) (gray images are stored in all three)."""
    return torch.from_numpy(np.ascontiguousarray(pixels[rows] if colour else pixels[rows, :1]))


def _ignore_interrupts(worker_id: int) -> None:
    """A stream worker leaves Ctrl-C to the trainer's process: the terminal sends SIGINT to every process
    of the job, and the command line stops a run cleanly on it (a last checkpoint), which needs the
    workers' batches until the step under way is done. A worker ends with its DataLoader, or when its
    parent is gone (DataLoader's own watchdog)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


class _From:
    """The sampler of an endless stream: k, k + 1, ... from ``start``."""

    def __init__(self, start: int):
        self.start = start

    def __iter__(self) -> Iterator[int]:
        return itertools.count(self.start)


class StreamedSource(DataSource):
    """An image set read batch by batch from its cache file (see the module's docstring), with the
    `DataSource` interface: `sample` and `sample_labelled` return the next batch of the stream, prefetched
    by `STREAM_WORKERS` worker processes (pinned and copied without a wait to a CUDA device), made float
    on the device by ``prepare``; `take`, `examples` and `subset` read the file directly. Only the labels
    (8 bytes an image) are held."""

    def __init__(
        self,
        file: Path,
        count: int,
        size: int,
        *,
        colour: bool,
        prepare: ImagePrep,
        labels: torch.Tensor | None = None,
        class_names: Sequence[str] | None = None,
        n_classes: int | None = None,
        skipped_files: int = 0,
        device: torch.device | str = "cpu",
        rows: np.ndarray | None = None,
        workers: int | None = None,
    ):
        self.file, self.colour = Path(file), colour
        self.file_shape = (count, 3, size, size)
        self.rows = rows  # the file's rows this source holds (a subset), or None for all of them
        self.workers = STREAM_WORKERS if workers is None else workers
        self.seed: int | None = None  # the stream's seed, from the first generator `sample` is given
        self.position = 0  # batches drawn
        self._batches: Iterator | None = None
        self._batch_size = 0
        self._ready: collections.deque[tuple[torch.Tensor, torch.Tensor]] = collections.deque()
        self._pixels = np.memmap(self.file, dtype=np.uint8, mode="r", shape=self.file_shape)
        held = count if rows is None else len(rows)
        # DataSource counts a finite set's examples from its held tensor: a zero-width placeholder of the
        # right length, since nothing of the pixels is held.
        super().__init__(
            "folder",
            "image",
            (prepare.channels, size, size),
            data=torch.empty((held, 0), dtype=torch.uint8),
            labels=labels,
            class_names=class_names,
            n_classes=n_classes,
            skipped_files=skipped_files,
            device=device,
            prepare=prepare,
        )

    def __repr__(self) -> str:
        return f"StreamedSource({self.file.name}, shape={self.sample_shape}, {self.num_examples} examples)"

    @property
    def streamed(self) -> bool:
        return True

    def to(self, device: torch.device | str) -> StreamedSource:
        device = torch.device(device)
        if getattr(self, "device", None) != device:
            self.close()  # pinning depends on the device
        self.device = device
        if self.labels is not None:
            self.labels = self.labels.to(device)
        return self

    def close(self) -> None:
        """End the worker processes (a later `sample` starts them again where the stream was)."""
        self._batches = None  # the DataLoader's iterator shuts its workers down when collected
        self._ready = collections.deque()

    def _next(self, n: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        if self.seed is None:
            self.seed = int(generator.initial_seed())  # host-side: no device sync
        if self._batches is None or self._batch_size != n:
            labels = None if self.labels is None else self.labels.cpu().numpy()
            tasks = _StreamBatches(self.file, self.file_shape, self.colour, self.rows, labels, self.seed, n)
            loader = torch.utils.data.DataLoader(
                tasks,
                batch_size=None,
                sampler=_From(self.position // STREAM_BLOCK),
                num_workers=self.workers,
                prefetch_factor=STREAM_PREFETCH if self.workers else None,
                pin_memory=self.device.type == "cuda",
                worker_init_fn=_ignore_interrupts if self.workers else None,
            )
            self._batches, self._batch_size = iter(loader), n
            self._ready = collections.deque()
            skip = self.position % STREAM_BLOCK  # a stream resumed inside a block
        else:
            skip = 0
        if not self._ready:
            block_pixels, block_labels = next(self._batches)
            self._ready.extend(list(zip(block_pixels.unbind(0), block_labels.unbind(0)))[skip:])
        pixels, labels = self._ready.popleft()
        self.position += 1
        # pinned on CUDA: the copies queue behind the work already queued, without a host wait
        overlap = self.device.type == "cuda"
        return pixels.to(self.device, non_blocking=overlap), labels.to(self.device, non_blocking=overlap)

    def sample(self, n: int, generator: torch.Generator) -> torch.Tensor:
        """The stream's next batch of ``n`` (float32 on the device); the stream is seeded by ``generator``'s
        initial seed the first time (nothing is drawn from it)."""
        return self._prepare(self._next(n, generator)[0])

    def sample_labelled(self, n: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        if self.labels is None:
            return super().sample_labelled(n, generator)  # the DataError
        pixels, labels = self._next(n, generator)
        return self._prepare(pixels), labels

    def take(self, index: torch.Tensor | np.ndarray) -> torch.Tensor:
        index = torch.as_tensor(index, dtype=torch.int64).cpu().numpy()
        rows = index if self.rows is None else self.rows[index]
        return self._prepare(read_rows(self._pixels, rows, self.colour).to(self.device))

    def examples(self) -> torch.Tensor:
        """A fixed sample of up to 10,000 examples (`gan_core.data.reference_index`), float32, on the
        device."""
        if self.num_examples <= EXAMPLES_FOR_TOYS:
            return self.take(np.arange(self.num_examples))
        return self.take(reference_index(self.num_examples))

    def example_labels(self) -> torch.Tensor | None:
        """The labels of `examples`, row for row ((n,) int64 on the device), or None without labels."""
        if self.labels is None:
            return None
        if self.num_examples <= EXAMPLES_FOR_TOYS:
            return self.labels
        return self.labels[reference_index(self.num_examples).to(self.labels.device)]

    def subset(self, index: torch.Tensor | np.ndarray) -> StreamedSource:
        index = torch.as_tensor(index, dtype=torch.int64).cpu().numpy()
        subset = StreamedSource(
            self.file,
            self.file_shape[0],
            self.file_shape[2],
            colour=self.colour,
            prepare=self._prepare,
            labels=None
            if self.labels is None
            else self.labels[torch.as_tensor(index).to(self.labels.device)],
            class_names=self.class_names,
            n_classes=self.n_classes,
            skipped_files=self.skipped_files,
            device=self.device,
            rows=index if self.rows is None else self.rows[index],
            workers=self.workers,
        )
        subset.too_large_files = self.too_large_files
        subset.left_out = self.left_out
        return subset

    def stream_state(self) -> dict[str, int] | None:
        return None if self.seed is None else {"seed": self.seed, "position": self.position}

    def load_stream_state(self, state: dict[str, int] | None) -> None:
        if state:
            self.close()
            self.seed, self.position = int(state["seed"]), int(state["position"])
