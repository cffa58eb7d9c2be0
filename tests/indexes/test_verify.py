from __future__ import annotations

import pytest
from django.db import connection, transaction

from pagedoctor.indexes.candidates import Candidate
from pagedoctor.indexes.migrations import make_index
from pagedoctor.indexes.plans import UnsafeStatement
from pagedoctor.indexes.verify import VerificationError, time_query, verify
from tests.indexes.conftest import GADGETS, PER_KIND
from tests.testapp.models import Gadget


def kind_candidate() -> Candidate:
    return Candidate(
        model=Gadget,
        table="testapp_gadget",
        columns=("kind",),
        fields=("kind",),
        reason="filter",
        equality=1,
    )


def index_names() -> set[str]:
    with connection.cursor() as cursor:
        return set(connection.introspection.get_constraints(cursor, "testapp_gadget"))


@pytest.mark.usefixtures("gadgets")
def test_an_index_that_turns_a_scan_into_a_lookup_is_verified() -> None:
    sql, params = Gadget.objects.filter(kind="kind-3").query.sql_with_params()
    index = make_index(["kind"], "testapp_gadget", ["kind"])
    before = index_names()
    verdict = verify(connection, kind_candidate(), index, sql, params, repeat=5)
    assert verdict.plan_before.scans("testapp_gadget")
    assert verdict.plan_after.uses_index("testapp_gadget")
    assert verdict.plan_improves
    assert verdict.same_output
    assert verdict.before.rows == verdict.after.rows == PER_KIND
    assert verdict.before.ms > 0
    assert verdict.after.ms > 0
    assert verdict.helps
    # Rolled back (PostgreSQL, SQLite) or dropped again (MariaDB): the database is as it was.
    assert index_names() == before
    assert Gadget.objects.count() == GADGETS


@pytest.mark.usefixtures("gadgets")
def test_an_index_the_planner_ignores_is_not_proposed() -> None:
    # Every row matches: reading them all through an index is no better than a scan.
    sql, params = Gadget.objects.filter(kind__gte="kind").query.sql_with_params()
    index = make_index(["kind"], "testapp_gadget", ["kind"])
    verdict = verify(connection, kind_candidate(), index, sql, params, repeat=1)
    if verdict.plan_after.uses_index("testapp_gadget"):
        # SQLite, without statistics, takes any index; the timings then decide.
        assert verdict.helps == verdict.same_output
    else:
        assert not verdict.helps


@pytest.mark.django_db
def test_timing_never_runs_a_write() -> None:
    with pytest.raises(UnsafeStatement):
        time_query(connection, "DELETE FROM testapp_gadget", None)


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    "connection.vendor != 'mysql'", reason="only MariaDB and MySQL commit DDL implicitly"
)
def test_mariadb_refuses_to_verify_inside_a_transaction() -> None:
    sql, params = Gadget.objects.filter(kind="x").query.sql_with_params()
    index = make_index(["kind"], "testapp_gadget", ["kind"])
    with transaction.atomic(), pytest.raises(VerificationError, match="commit"):
        verify(connection, kind_candidate(), index, sql, params)


@pytest.mark.parametrize(
    ("before_ms", "after_ms", "helps"),
    [(10.0, 2.0, True), (10.0, 9.0, True), (10.0, 9.5, False), (10.0, 12.0, False)],
)
def test_an_index_must_be_at_least_ten_percent_faster(
    monkeypatch: pytest.MonkeyPatch, before_ms: float, after_ms: float, helps: bool
) -> None:
    from collections import Counter
    from types import SimpleNamespace

    from pagedoctor.indexes import verify as verify_module

    monkeypatch.setattr(verify_module, "MIN_SPEEDUP", 1.1)  # the real rule, not the fixture's
    output: Counter[str] = Counter({"row": 1})
    verdict = verify_module.Verdict(
        candidate=SimpleNamespace(table="t", reason="filter"),  # type: ignore[arg-type]
        index=None,  # type: ignore[arg-type]
        plan_before=SimpleNamespace(scans=lambda table: True),  # type: ignore[arg-type]
        plan_after=SimpleNamespace(uses_index=lambda table: True),  # type: ignore[arg-type]
        before=verify_module.Timing(ms=before_ms, rows=1, output=output),
        after=verify_module.Timing(ms=after_ms, rows=1, output=Counter(output)),
    )
    assert verdict.helps is helps
