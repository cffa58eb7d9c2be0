from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import path

from tests.testapp.models import Author, Book


def run_cli(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pagedoctor", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        cwd=cwd,
        timeout=300,
    )


@pytest.mark.skipif(
    os.environ.get("PAGEDOCTOR_TEST_DB", "sqlite") != "sqlite",
    reason="the demo audit runs on its own SQLite file; once per matrix is enough",
)
def test_the_main_job_audits_the_demo_shop(tmp_path: Path) -> None:
    # No settings given: the bundled demo shop, on a SQLite file of its own.
    env = {"PAGEDOCTOR_DEMO_SQLITE": str(tmp_path / "demo.sqlite3"), "DJANGO_SETTINGS_MODULE": ""}
    args = ("audit", "--products", "3000", "--json", "r.json", "--html", "r.html")
    result = run_cli(*args, env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "/fixed/pizzas/" in result.stdout
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["schema"] == "pagedoctor.report/1"
    assert report["site"] == {
        "settings": "pagedoctor.demo.settings",
        "database": "sqlite",
        "cache": "locmem",
    }
    assert len(report["pages"]) == 16
    assert all(page["status"] == 200 for page in report["pages"])
    html = (tmp_path / "r.html").read_text()
    assert html.startswith("<!DOCTYPE html>")
    assert "/fixed/pizzas/" in html


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["audit", "--urls-file", "missing.txt"], "cannot read the URL file 'missing.txt'"),
        (["audit", "pizzas/"], "'pizzas/' is not a URL path"),
        (["--settings", "no_such_project.settings", "audit"], "cannot import the settings module"),
        (["audit", "--repeat", "0"], "expected a whole number of at least 1"),
    ],
)
def test_bad_input_gets_a_clear_error_not_a_traceback(
    tmp_path: Path, args: list[str], message: str
) -> None:
    env = {"PAGEDOCTOR_DEMO_SQLITE": str(tmp_path / "demo.sqlite3"), "DJANGO_SETTINGS_MODULE": ""}
    result = run_cli(*args, env=env, cwd=tmp_path)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.django_db(transaction=True)
def test_manage_py_runs_the_same_audit(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    Book.objects.create(title="b", author=Author.objects.create(name="a"))
    out = tmp_path / "r.json"
    call_command("pagedoctor", "audit", "/test/books/", "--json", str(out), "--repeat", "1")
    report = json.loads(out.read_text())
    assert [(p["url"], p["status"], p["queries"]) for p in report["pages"]] == [
        ("/test/books/", 200, 2)
    ]
    assert "/test/books/" in capsys.readouterr().out


@pytest.mark.django_db(transaction=True)
def test_manage_py_fails_when_a_page_fails(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="could not be audited"):
        call_command("pagedoctor", "audit", "/test/boom/", "--repeat", "1")


@pytest.mark.django_db
@pytest.mark.parametrize("command", ["audit", "indexes"])
def test_no_pages_to_request_is_a_clear_error(settings: Any, command: str) -> None:
    settings.ROOT_URLCONF = __name__  # urlpatterns below: routes that all take parameters
    settings.PAGEDOCTOR = {}
    expected = f"found no pages to request; pass URLs \\(pagedoctor {command} "
    with pytest.raises(CommandError, match=expected):
        call_command("pagedoctor", command)


def _never_called(request: object, pk: int) -> None:  # pragma: no cover - only routed
    raise AssertionError


urlpatterns = [path("items/<int:pk>/", _never_called)]
