from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.core.management import call_command
from django.test import override_settings

from tests.test_cli import run_cli


@pytest.mark.skipif(
    os.environ.get("PAGEDOCTOR_TEST_DB", "sqlite") != "sqlite",
    reason="the demo runs on its own SQLite file; once per matrix is enough",
)
def test_pagedoctor_indexes_lists_the_demo_s_missing_index(tmp_path: Path) -> None:
    env = {"PAGEDOCTOR_DEMO_SQLITE": str(tmp_path / "demo.sqlite3"), "DJANGO_SETTINGS_MODULE": ""}
    # Enough rows that the index wins by far more than the 10% the advisor asks for, however
    # noisy the machine: at 3,000 the list query took 0.23 ms with or without it.
    result = run_cli("indexes", "--products", "20000", "/products/", env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert 'shop.Product: add models.Index(fields=["type"], name="shop_product_type_idx")' in (
        result.stdout
    )
    assert "before: reads" in result.stdout
    assert "after:  uses the index shop_product_type_idx" in result.stdout


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("gadgets")
def test_write_migrations_writes_one_into_the_app(
    migrations_package: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    with override_settings(ROOT_URLCONF="tests.indexes.urls"):
        call_command(
            "pagedoctor", "indexes", "/test/gadgets/", "--write-migrations", "--min-rows", "100"
        )
    out = capsys.readouterr().out
    assert 'testapp.Gadget: add models.Index(fields=["kind"]' in out
    written = [line for line in out.splitlines() if line.startswith("Wrote ")]
    assert len(written) == 1
    assert written[0].endswith("0003_testapp_gadget_kind.py")
