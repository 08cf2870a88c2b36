"""Fixtures shared by the test modules."""

from types import SimpleNamespace

import pytest

from gan_core.__main__ import main


@pytest.fixture
def cli(capsys):
    """The command line in-process: cli(*argv) -> result with returncode, stdout, stderr."""

    def run(*args):
        try:
            code = main(list(args))
        except SystemExit as exc:  # argparse's own errors and --help
            code = exc.code
        out = capsys.readouterr()
        return SimpleNamespace(returncode=code, stdout=out.out, stderr=out.err)

    return run
