"""Watch your own GAN: the tracking API for a PyTorch training loop of your own (see
`gan_core.tracking.track` for the whole story and the README's "Watch your own GAN").

    import gan_core.track as track
    run = track.init("my-run", loss="nonsaturating", config=vars(args), real=real_batch)
"""

from gan_core.tracking.commands import send_command
from gan_core.tracking.track import TrackedRun, TrackingError, TrackingWarning, init

__all__ = ["TrackedRun", "TrackingError", "TrackingWarning", "init", "send_command"]
