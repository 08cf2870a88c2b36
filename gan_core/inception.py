"""Inception-v3's feature space, for the FID and KID researchers report, from weights on disk.

The network is torchmetrics' `NoTrainInceptionV3` (torch-fidelity's port of the TensorFlow Inception-v3
that Heusel et al. 2017 computed the FID with: the same weights, and the same resizing of images to
299 x 299, TensorFlow 1.x's bilinear without antialiasing, torch-fidelity's
`interpolate_bilinear_2d_like_tensorflow1x`), its 2048 pool features. torchmetrics' own FID defaults to an
antialiased resize since its 1.x releases, which moves the score (by up to 160/255 a pixel on a 28 px digit
upsampled): here the original's, so that a figure compares with torch-fidelity's, pytorch-fid's and the
papers' that used them. Those weights are a 91 MB file that torch-fidelity downloads on first use; here
nothing downloads unless asked:

- `inception_weights` finds the file: a path given (a CLI flag), else the environment variable
  ``GAN_DASHBOARD_INCEPTION_WEIGHTS``, else torch-fidelity's own download in torch hub's cache (where a
  previous torchmetrics or torch-fidelity FID left it);
- `download_inception_weights` fetches it (``python -m gan_core evaluate --inception --download``), with
  one clear error without a network.

A run measures Inception's space every ``eval_every`` steps only when the environment variable names the
file (a deliberate choice: on a CPU an evaluation of 1,000 images costs minutes, see BENCHMARKS.md).
The file is read with ``torch.load(..., weights_only=True)`` and checked against the network before
torch-fidelity sees it (torch-fidelity itself reads weights with ``weights_only=False``: it gets a
copy written here from the checked tensors, never the user's file).
"""

from __future__ import annotations

import inspect
import os
import tempfile
from pathlib import Path

import torch
from torch import nn

INCEPTION_ENV = "GAN_DASHBOARD_INCEPTION_WEIGHTS"
# torch-fidelity's release of the FID Inception weights, and the file name its download gives them
INCEPTION_URL = "https://github.com/toshas/torch-fidelity/releases/download/v0.2.0/weights-inception-2015-12-05-6726825d.pth"
INCEPTION_FILE = "weights-inception-2015-12-05-6726825d.pth"
INCEPTION_HASH_PREFIX = "6726825d"  # torch.hub checks the download's SHA-256 against it
NUM_FEATURES = 2048


class InceptionError(ValueError):
    """The Inception weights cannot be found, read or downloaded; the message says what to do."""


def cached_weights_path() -> Path:
    """Where torch-fidelity's download (and `download_inception_weights`) puts the file: torch hub's
    checkpoints folder (``$TORCH_HOME/hub/checkpoints``)."""
    return Path(torch.hub.get_dir()) / "checkpoints" / INCEPTION_FILE


def inception_weights(path: str | Path | None = None, *, search_cache: bool = True) -> Path | None:
    """The Inception weights file: ``path`` if given, else ``$GAN_DASHBOARD_INCEPTION_WEIGHTS``, else (with
    ``search_cache``) torch hub's cached download; None when none is set or cached. A path given or set
    that is not a file raises `InceptionError` (a typo should not silently measure nothing)."""
    given = path if path not in (None, "") else os.environ.get(INCEPTION_ENV) or None
    if given is not None:
        found = Path(given).expanduser()
        if not found.is_file():
            source = "the path given" if path not in (None, "") else f"${INCEPTION_ENV}"
            raise InceptionError(
                f"Inception weights: {source} names {str(found)!r}, which is not a file; allowed the FID "
                f"Inception weights file ({INCEPTION_FILE}, from {INCEPTION_URL})"
            )
        return found
    cached = cached_weights_path()
    return cached if search_cache and cached.is_file() else None


def download_inception_weights(dest: str | Path | None = None) -> Path:
    """Fetch the weights to ``dest`` (default `cached_weights_path`) unless already there, checking their
    SHA-256 prefix (torch.hub's ``download_url_to_file``). `InceptionError` without a network."""
    target = Path(dest) if dest is not None else cached_weights_path()
    if target.is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        torch.hub.download_url_to_file(
            INCEPTION_URL, str(target), hash_prefix=INCEPTION_HASH_PREFIX, progress=False
        )
    except (OSError, RuntimeError) as exc:  # URLError is an OSError; a hash mismatch a RuntimeError
        raise InceptionError(
            f"Inception weights: cannot download {INCEPTION_URL} ({' '.join(str(exc).split())[:200]}); "
            f"without a network, copy the file from a machine that has one to {target} or set "
            f"{INCEPTION_ENV} to its path"
        ) from None
    return target


def _checked_state(path: Path) -> dict[str, torch.Tensor]:
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # a truncated file, a pickle with code in it, not a torch file at all
        raise InceptionError(
            f"Inception weights: {path} cannot be read as tensors ({type(exc).__name__}); allowed the FID "
            f"Inception weights file ({INCEPTION_FILE})"
        ) from None
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise InceptionError(
            f"Inception weights: {path} holds no state dict of tensors; allowed {INCEPTION_FILE}"
        )
    return state


def _original_resize() -> dict:
    """The keyword that keeps torchmetrics' Inception on the original FID's resize (TensorFlow 1.x's
    bilinear, no antialiasing): ``antialias=False`` where `NoTrainInceptionV3` has the choice; a release
    without it resizes so already."""
    from torchmetrics.image.fid import NoTrainInceptionV3

    takes = "antialias" in inspect.signature(NoTrainInceptionV3.__init__).parameters
    return {"antialias": False} if takes else {}


class InceptionFeatures(nn.Module):
    """Inception-v3's 2048 pool features of (N, C, H, W) images with values in [-1, 1] (C of 1 or 3; any
    side: resized to 299 x 299 inside, TensorFlow 1.x's bilinear as in the original FID, see the module)
    -> (N, 2048)
    float32. ``weights``: the FID Inception weights file (`inception_weights`). `InceptionError` for a
    file that is not those weights."""

    num_features = NUM_FEATURES

    def __init__(self, weights: str | Path):
        super().__init__()
        from torchmetrics.image.fid import NoTrainInceptionV3

        path = Path(weights)
        state = _checked_state(path)
        with tempfile.TemporaryDirectory() as folder:
            checked = Path(folder) / INCEPTION_FILE
            torch.save(state, checked)  # what torch-fidelity reads: tensors we checked, written by us
            try:
                self.net = NoTrainInceptionV3(
                    name="inception-v3-compat",
                    features_list=[str(NUM_FEATURES)],
                    feature_extractor_weights_path=str(checked),
                    **_original_resize(),
                )
            except RuntimeError as exc:  # load_state_dict: missing or unexpected keys, wrong shapes
                why = " ".join(str(exc).split())[:200]
                raise InceptionError(
                    f"Inception weights: {path} does not fit Inception-v3 ({why}); allowed the FID "
                    f"Inception weights file ({INCEPTION_FILE})"
                ) from None

    @torch.no_grad()
    def forward(self, images: torch.Tensor) -> torch.Tensor:
        device = next(self.net.parameters()).device
        x = torch.as_tensor(images).to(device, torch.float32)
        if x.ndim != 4 or x.shape[1] not in (1, 3):
            raise ValueError(f"images of shape {tuple(x.shape)}; allowed (N, 1 or 3, H, W)")
        if x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1)
        # to the 8-bit RGB images the network was made for (FID's convention)
        as_bytes = ((x.clamp(-1.0, 1.0) + 1.0) * 127.5).round().to(torch.uint8)
        return self.net(as_bytes).reshape(len(x), NUM_FEATURES).float()
