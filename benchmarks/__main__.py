"""python -m benchmarks: our logging against its peers, side by side (issue 15).

In the same interleaved rounds, one user-style GAN loop: bare; logging the same scalars to TensorBoard's
SummaryWriter as users write it; tracked by `gan_core.track`; and the built-in runner. Ratios to bare, on
the CPU or with ``--device cuda``. See benchmarks/tracking.py for the options and BENCHMARKS.md for the
figures; ``python -m benchmarks.overhead`` is the runner against a bare loop on three scenarios.
"""

from benchmarks.tracking import main

main(prog="python -m benchmarks")
