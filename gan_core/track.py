"""Watch your own GAN: the tracking API for a PyTorch training loop of your own (see
`gan_core.tracking.track` for the whole story and the README's "Watch your own GAN").

    import gan_core.track as track
    run = track.init("my-run", loss="nonsaturating", config=vars(args), real=real_batch)

`init` writes under ``root``, by default `default_runs_root` (``$GAN_DASHBOARD_RUNS`` where set: the
dashboard's runs folder; else ``./runs``). It returns a `TrackedRun` (`help(track.TrackedRun)` lists its
calls and attributes), or on a rank other than 0 of a multi-process job a `RankRun`, which takes the same
calls and writes nothing. Under torchrun, end the job with `destroy_process_group` (torch's, after
freeing what still holds the group) in a ``finally``.
"""

from gan_core.distributed import shutdown as destroy_process_group
from gan_core.rundir import default_runs_root
from gan_core.tracking.commands import send_command, send_notes
from gan_core.tracking.track import RankRun, TrackedRun, TrackingError, TrackingWarning, init

__all__ = [
    "RankRun",
    "TrackedRun",
    "TrackingError",
    "TrackingWarning",
    "default_runs_root",
    "destroy_process_group",
    "init",
    "send_command",
    "send_notes",
]
