"""``pagedoctor capacity`` end to end: the demo under gunicorn and wrk, as a user runs it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from pagedoctor.capacity.model import PeakModel
from tests.capacity.conftest import only_once_per_matrix, processes_marked, wait_for_processes

pytestmark = [only_once_per_matrix, pytest.mark.usefixtures("wrk")]


def command(*args: str) -> list[str]:
    return [sys.executable, "-m", "pagedoctor", "capacity", *args]


def environment(database: Path, **extra: str) -> dict[str, str]:
    # No settings: the bundled demo shop, which the command prepares (migrate, seed) itself;
    # each run passes the --products the database was seeded with, so seeding adds nothing.
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "",
        "PAGEDOCTOR_DEMO_SQLITE": str(database),
        **extra,
    }


def test_the_demo_slow_and_fixed_pages_side_by_side(demo_database: Path, tmp_path: Path) -> None:
    args = ("/pizzas/", "/fixed/pizzas/", "--products", "300", "--duration", "1", "--warmup", "0")
    args += ("--max-concurrency", "2", "--p95-ms", "5000", "--workers", "2", "--json", "r.json")
    result = subprocess.run(
        command(*args),
        capture_output=True,
        text=True,
        env=environment(demo_database),
        cwd=tmp_path,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "Slow pages beside their fixed twins" in result.stdout
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["schema"] == "pagedoctor.report/1"
    assert report["site"]["settings"] == "pagedoctor.demo.settings"
    capacity = report["capacity"]
    assert [page["url"] for page in capacity["pages"]] == ["/pizzas/", "/fixed/pizzas/"]
    model = PeakModel()
    for page in capacity["pages"]:
        assert [step["concurrency"] for step in page["steps"]] == [1, 2]
        assert page["complete"]
        best = page["best"]
        assert best["rps"] == max(step["rps"] for step in page["steps"])
        assert best["p95_ms"] <= 5000
        assert page["views_per_day"]["naive"] == pytest.approx(best["rps"] * 86_400, rel=0.01)
        assert page["views_per_day"]["peak"] == pytest.approx(
            model.views_per_day(best["rps"]), rel=0.01
        )
    assert capacity["pairs"][0]["slow"] == "/pizzas/"
    assert capacity["pairs"][0]["fixed"] == "/fixed/pizzas/"
    assert capacity["run"]["workers"] == 2
    assert capacity["run"]["load_generator"].startswith("wrk ")


def _wait_for_load(marker: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for pid in processes_marked(marker):
            if Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0].endswith(b"wrk"):
                return
        time.sleep(0.1)
    pytest.fail("wrk never started")


@pytest.mark.parametrize(("signum", "status"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_an_interrupted_run_leaves_no_server_or_wrk_behind(
    demo_database: Path, tmp_path: Path, signum: int, status: int
) -> None:
    token = uuid.uuid4().hex
    marker = f"PAGEDOCTOR_TEST_RUN={token}"
    process = subprocess.Popen(
        command(
            "/fixed/", "--products", "300", "--duration", "30", "--warmup", "0", "--workers", "2"
        ),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=environment(demo_database, PAGEDOCTOR_TEST_RUN=token),
        cwd=tmp_path,
    )
    try:
        _wait_for_load(marker)
        # pagedoctor, gunicorn's master and two workers, wrk.
        assert len(wait_for_processes(marker, 5)) >= 5
        process.send_signal(signum)
        process.wait(timeout=20)
    finally:
        process.kill()
        process.communicate()
    assert process.returncode == status
    assert processes_marked(marker) == []
