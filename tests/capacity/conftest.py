"""Real gunicorn and real wrk on loopback, against the demo shop on a SQLite file of its own.

A missing wrk or gunicorn skips these tests with the reason; under ``CI=true`` it fails them
(tests/services.py's rule).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from pagedoctor.capacity.server import Server, ServerOptions, serve
from tests.services import under_ci

DEMO_SETTINGS = "pagedoctor.demo.settings"
# The demo runs on its own SQLite file whatever the matrix's database: once per matrix is enough.
only_once_per_matrix = pytest.mark.skipif(
    os.environ.get("PAGEDOCTOR_TEST_DB", "sqlite") != "sqlite",
    reason="the capacity tests serve the demo from its own SQLite file; the sqlite run has them",
)


def _missing(reason: str) -> None:
    if under_ci():
        pytest.fail(f"{reason} (CI=true, so this is an error, not a skip)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def wrk() -> str:
    path = shutil.which("wrk")
    if path is None:
        _missing("wrk is not installed; install it with: apt-get install wrk")
    assert path is not None
    return path


@pytest.fixture(scope="session")
def gunicorn() -> None:
    try:
        import importlib.util

        found = importlib.util.find_spec("gunicorn") is not None
    except ValueError:
        found = False
    if not found:
        _missing("gunicorn is not installed; install it with: pip install 'pagedoctor[capacity]'")


def prepare_demo_database(path: Path, *, products: int = 300) -> None:
    """Create and seed a demo shop database at ``path``, in a process of its own."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": DEMO_SETTINGS,
        "PAGEDOCTOR_DEMO_SQLITE": str(path),
    }
    script = (
        "import django; django.setup(); from django.core.management import call_command; "
        "call_command('migrate', verbosity=0); "
        f"call_command('seed_demo', verbosity=0, products={products})"
    )
    subprocess.run([sys.executable, "-c", script], env=env, check=True, timeout=120)


@pytest.fixture(scope="session")
def demo_database(tmp_path_factory: pytest.TempPathFactory, gunicorn: None) -> Iterator[Path]:
    """Point the demo's settings, in the servers these tests start, at a small seeded shop."""
    path = tmp_path_factory.mktemp("capacity") / "demo.sqlite3"
    prepare_demo_database(path)
    with pytest.MonkeyPatch.context() as patch:
        # Read by the demo settings in each gunicorn process, which inherits this environment.
        patch.setenv("PAGEDOCTOR_DEMO_SQLITE", str(path))
        yield path


@pytest.fixture(scope="module")
def demo_server(demo_database: Path) -> Iterator[Server]:
    with serve(ServerOptions(settings_module=DEMO_SETTINGS, workers=2)) as server:
        yield server


def wait_for_processes(marker: str, count: int, *, timeout: float = 30) -> list[int]:
    """Wait until at least ``count`` processes carry ``marker``; return them."""
    deadline = time.monotonic() + timeout
    while len(found := processes_marked(marker)) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    return found


def processes_marked(marker: str) -> list[int]:
    """Return the ids of the running processes whose environment holds ``marker``."""
    found = []
    needle = marker.encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            environment = (entry / "environ").read_bytes().split(b"\0")
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue  # gone already, or not ours to read
        if needle in environment and state != "Z":
            found.append(int(entry.name))
    return found
