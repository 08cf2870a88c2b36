"""Watch your own GAN: the tracking API for a PyTorch training loop of your own (see
`gan_core.tracking.track` for the whole story and the README's "Watch your own GAN").

    import gan_core.track as track
    run = track.init("my-run", loss="nonsaturating", config=vars(args), real=real_batch)

`init` returns a `TrackedRun` (`help(track.TrackedRun)` lists its calls and attributes), or on a rank other
than 0 of a multi-process job a `RankRun`, which takes the same calls and writes nothing.
"""

from gan_core.tracking.commands import send_command
from gan_core.tracking.track import RankRun, TrackedRun, TrackingError, TrackingWarning, init

__all__ = ["RankRun", "TrackedRun", "TrackingError", "TrackingWarning", "init", "send_command"]
