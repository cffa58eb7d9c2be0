"""Fail fast on wasted queries: ``pagedoctor.strict()`` and ``pagedoctor.assert_no_scaling()``."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from pagedoctor.capture.recording import Recording, record
from pagedoctor.conf import conf
from pagedoctor.diagnose.api import diagnose
from pagedoctor.diagnose.findings import Finding
from pagedoctor.exceptions import DuplicateQueryError, NPlusOneError, ScalingError
from pagedoctor.report.paths import relative_path


def allowed(finding: Finding, allow: tuple[str, ...]) -> bool:
    """Return whether an ``ALLOW`` entry covers ``finding``.

    An entry is a relation (``"shop.Pizza.toppings"``), a model method (``"shop.Product.count"``),
    a file (``"shop/views.py"``) or a line (``"shop/views.py:14"``).
    """
    evidence = finding.evidence
    names = {
        f"{evidence.get('model')}.{evidence.get('relation')}",
        str(evidence.get("method")),
    }
    places: set[str] = set()
    for place in (finding.where, finding.fix):
        file, line = getattr(place, "file", None), getattr(place, "line", None)
        if file:
            places |= {relative_path(file), f"{relative_path(file)}:{line}"}
    return any(entry in names or entry in places for entry in allow)


def describe(finding: Finding) -> str:
    """Return the finding as one line a test failure can show: what, where, the fix."""
    text = finding.message
    if finding.where is not None:
        text += f" at {relative_path(finding.where.file)}:{finding.where.line}"
    if finding.fix is not None:
        where = (
            f" at {relative_path(finding.fix.file)}:{finding.fix.line}" if finding.fix.file else ""
        )
        text += f"; fix: {finding.fix.code or finding.fix.summary}{where}"
    return text


def check(recording: Recording, *, allow: tuple[str, ...] = ()) -> None:
    """Raise for the first kind of waste ``recording`` shows that ``allow`` does not cover."""
    entries = (*conf.ALLOW, *allow)
    findings = [f for f in diagnose(recording) if not allowed(f, entries)]
    for kind, error in (("n_plus_one", NPlusOneError), ("duplicate_query", DuplicateQueryError)):
        found = [describe(f) for f in findings if f.kind == kind]
        if found:
            raise error("\n".join(found))


@contextmanager
def strict(*, allow: tuple[str, ...] = ()) -> Iterator[Recording]:
    """Record the block, then raise NPlusOneError or DuplicateQueryError if it wasted queries.

    ``allow`` adds to ``PAGEDOCTOR["ALLOW"]``: relations, files or lines to let through.
    """
    with record(label="strict") as recording:
        yield recording
    check(recording, allow=allow)


def assert_no_scaling(run: Callable[[], Any], *, setup: Callable[[int], Any], n: int = 5) -> None:
    """Run ``run()`` with ``n`` rows, then ``2 * n``; raise ScalingError if queries grew.

    ``setup(count)`` makes the data hold ``count`` rows (it is not recorded); ``run()`` is the
    code under test, such as requesting the book list.
    """
    setup(n)
    with record(label=f"n={n}") as small:
        run()
    setup(2 * n)
    with record(label=f"n={2 * n}") as large:
        run()
    grown = len(large.queries) - len(small.queries)
    if grown <= 0:
        return
    causes = [f for f in diagnose(large) if f.kind == "n_plus_one"]
    lines = [
        f"{len(small.queries)} queries for {n} rows, {len(large.queries)} for {2 * n}: "
        f"{grown / n:g} more per row"
    ]
    for finding in causes:
        model = str(finding.evidence.get("model") or "").split(".")[-1]
        relation = finding.evidence.get("relation")
        name = f"{model}.{relation}" if relation else f"a query on {model or 'a table'}"
        where = finding.where
        place = f" at {relative_path(where.file)}:{where.line}" if where else ""
        lines.append(f"{name} grows by 1 query per row{place}; {describe(finding)}")
    raise ScalingError("\n".join(lines))
