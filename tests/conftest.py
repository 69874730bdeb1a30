import os
import subprocess
import sys

import pytest

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def run_cli(*args, timeout=300, **kwargs):
    """Run the real `ginn-gl` entry point in a subprocess."""
    return subprocess.run([sys.executable, "-m", "ginn_gl", *map(str, args)], capture_output=True,
                          text=True, timeout=timeout, **kwargs)


@pytest.fixture
def cli():
    return run_cli
