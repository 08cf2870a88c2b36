"""The ``gan-dashboard`` command: start the dashboard that lies beside this file.

``pip install .`` installs dashboard.py, pages/, ui/ and .streamlit/config.toml, with this module, as the
folder ``gan_dashboard_app`` (see pyproject.toml), so the app keeps the layout it has in the repository and
Streamlit finds its pages, its helpers (``import ui``) and its settings (a config.toml beside the main
script) as it does here. Streamlit does the work: this module only picks the runs folder and replaces
itself with ``python -m streamlit run dashboard.py ARGS``, every argument passed through as given::

    gan-dashboard --server.port 8600 --server.headless true

It imports neither streamlit nor gan_core (torch takes seconds to import), and it replaces its process
rather than starting a child, so a signal sent to it (Ctrl-C, SIGTERM) reaches the server itself (POSIX,
as the run folders' lock already requires). From a checkout, ``python launch.py`` does the same.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import NoReturn

DASHBOARD = Path(__file__).resolve().with_name("dashboard.py")
# gan_core.rundir.RUNS_ENV, written out here so that starting does not import torch; tests/test_packaging.py
# checks that the two agree.
RUNS_ENV = "GAN_DASHBOARD_RUNS"


def streamlit_command(
    args: Sequence[str], environ: Mapping[str, str], cwd: Path
) -> tuple[list[str], dict[str, str]]:
    """The command line and environment that serve the dashboard, ``args`` going to ``streamlit run``.

    Without GAN_DASHBOARD_RUNS the runs folder is ``runs/`` in the working folder ``cwd``, where
    ``python -m gan_core`` puts its runs too: the app's own default, a folder beside dashboard.py, would be
    inside site-packages once installed."""
    env = dict(environ)
    if not env.get(RUNS_ENV):  # unset or empty, as the app reads it (ui.common.runs_root)
        env[RUNS_ENV] = str(Path(cwd).resolve() / "runs")
    return [sys.executable, "-m", "streamlit", "run", str(DASHBOARD), *args], env


def usage(env: Mapping[str, str]) -> str:
    """What ``gan-dashboard --help`` says before Streamlit's own help (which follows it): what the command
    starts, the runs folder it will use (``env`` as `streamlit_command` makes it) and where the
    arguments go."""
    return (
        "gan-dashboard: serve the GAN training dashboard (Streamlit, http://localhost:8501 by default).\n"
        f"Runs folder: {env[RUNS_ENV]} ({RUNS_ENV}, else runs/ in the working folder).\n"
        "Every argument goes to `streamlit run dashboard.py` as given: gan-dashboard --server.port 8600.\n"
        "Streamlit's options follow; the dashboard is its TARGET, so give none.\n"
    )


def main(argv: Sequence[str] | None = None) -> NoReturn:
    args = list(sys.argv[1:] if argv is None else argv)
    if "-h" in args or "--help" in args:  # ours first, then Streamlit's (`streamlit run` knows --help only)
        args = ["--help" if a == "-h" else a for a in args]
    command, env = streamlit_command(args, os.environ, Path.cwd())
    if "--help" in args:
        sys.stdout.write(usage(env) + "\n")
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(command[0], command, env)


if __name__ == "__main__":
    main()
