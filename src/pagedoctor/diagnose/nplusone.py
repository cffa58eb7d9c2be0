"""N+1 queries: one query per object of a collection, where one query (or two) would do.

Evidence is scaling, not a bare repeat: the loads of one relation hang off the instances of
*one* queryset evaluation, one query per instance. A detail page that loads one pizza's chef
is quiet; a list that loads each pizza's chef is not, and grows with the number of pizzas.
Queries the ORM cannot explain (a hand-written ``.filter()`` or ``.get()`` per row) count when
the same statement shape runs from the same line with different parameters.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import django

from pagedoctor.capture.events import CallSite, QueryEvent
from pagedoctor.capture.orm import AppliedFix, Fetch
from pagedoctor.capture.recording import Recording
from pagedoctor.diagnose.findings import Finding, Fix, Where

THRESHOLD = 2  # repeats that make an N+1: the least that shows scaling


@dataclass
class _Group:
    """The queries of one suspected N+1, and what the ORM said about them."""

    queries: list[QueryEvent] = field(default_factory=list)
    instances: set[int] = field(default_factory=set)
    params: set[str] = field(default_factory=set)
    root: Fetch | None = None
    path: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()
    refined: bool = False


def operation(query: QueryEvent) -> str:
    """Return what a SELECT did: "count", "exists", "aggregate" or "fetch"."""
    shape = query.fingerprint.upper()
    head = shape.split(" FROM ", 1)[0]
    if "COUNT(" in head.replace(" ", "") and "__COUNT" in head:
        return "count"
    if head.startswith(("SELECT ? AS A", "SELECT 1 AS A", "SELECT (1) AS A")):
        return "exists"
    if any(f"{fn}(" in head.replace(" ", "") for fn in ("SUM", "AVG", "MAX", "MIN")):
        return "aggregate"
    return "fetch"


def _relation_chain(lazy_fetch: Fetch) -> tuple[Fetch, tuple[str, ...], tuple[str, ...]]:
    """Walk from a fetch made by lazy loads up to the queryset the user built."""
    path: list[str] = []
    kinds: list[str] = []
    fetch = lazy_fetch
    while fetch.lazy is not None and fetch.parent is not None:
        path.insert(0, fetch.lazy.relation)
        kinds.insert(0, fetch.lazy.kind)
        fetch = fetch.parent
    return fetch, tuple(path), tuple(kinds)


def _group(recording: Recording) -> dict[tuple[object, ...], _Group]:
    groups: dict[tuple[object, ...], _Group] = defaultdict(_Group)
    for query in recording.queries:
        if query.many or not query.is_select:
            continue
        orm = query.orm
        if orm is not None and orm.lazy is not None and orm.parent is not None:
            root, path, kinds = _relation_chain(orm.parent)
            path, kinds = (*path, orm.lazy.relation), (*kinds, orm.lazy.kind)
            key: tuple[object, ...] = ("relation", root.id, path, operation(query))
            group = groups[key]
            group.root, group.path, group.kinds = root, path, kinds
            group.instances.add(orm.lazy.instance)
            group.refined |= orm.lazy.refined
        elif query.callsite is not None:
            key = ("shape", query.fingerprint, query.callsite.file, query.callsite.line)
            group = groups[key]
        else:
            continue
        group.queries.append(query)
        group.params.add(repr(query.params))
    return groups


def n_plus_one(
    recording: Recording, *, threshold: int = THRESHOLD
) -> tuple[list[Finding], set[int]]:
    """Return the N+1 findings, and the ids of the queries that make them up."""
    findings: list[Finding] = []
    ids: set[int] = set()
    for key, group in _group(recording).items():
        if key[0] == "relation" and len(group.instances) >= threshold:
            findings.append(_relation_finding(group, str(key[3])))
        elif key[0] == "shape" and len(group.params) >= threshold:
            findings.append(_shape_finding(group))
        else:
            continue
        ids.update(id(q) for q in group.queries)
    return findings, ids


def find_n_plus_one(recording: Recording, *, threshold: int = THRESHOLD) -> list[Finding]:
    """Return a finding for each relation or query shape loaded once per row."""
    return n_plus_one(recording, threshold=threshold)[0]


def _where(query: QueryEvent) -> Where | None:
    if query.template is not None:
        return Where(file=query.template.file, line=query.template.line)
    if query.callsite is not None:
        return Where(
            file=query.callsite.file, line=query.callsite.line, function=query.callsite.function
        )
    return None


def _site(site: CallSite | None) -> str | None:
    return f"{site.file}:{site.line}" if site else None


def _relation_finding(group: _Group, op: str) -> Finding:
    root = group.root
    assert root is not None
    first = group.queries[0]
    model = root.model.split(".")[-1]
    path = "__".join(group.path)
    dotted = ".".join(group.path)
    count = len(group.queries)
    item = model.lower()
    fix = _relation_fix(group, op, model, path)
    iterated = root.iterated_template
    touched = _where(first)
    message = {
        "count": f"{model}.{dotted}.count() runs once per {item} ({count} queries)",
        "exists": f"{model}.{dotted}.exists() runs once per {item} ({count} queries)",
        "aggregate": f"{model}.{dotted} is aggregated once per {item} ({count} queries)",
    }.get(op, f"{model}.{dotted} is loaded once per {item} ({count} queries)")
    if group.kinds[-1] == "deferred":
        message = f"{model}.{dotted} is a deferred field loaded once per {item} ({count} queries)"
    evidence = {
        "model": root.model,
        "relation": path,
        "count": count,
        "rows": root.size,
        "operation": op,
        "sql": first.sql,
        "built": _site(root.built),
        "iterated": f"{iterated.file}:{iterated.line}" if iterated else _site(root.iterated),
        "touched": f"{touched.file}:{touched.line}" if touched else None,
    }
    if (fetch_peers := _fetch_peers(group, op)) is not None:
        evidence["fetch_peers"] = fetch_peers
    return Finding(
        kind="n_plus_one",
        severity="high" if count >= 10 else "medium",
        message=message,
        where=touched,
        evidence=evidence,
        fix=fix,
        remedy=_remedy(group, fix),
    )


def _remedy(group: _Group, fix: Fix) -> AppliedFix | None:
    """Return how to apply ``fix`` at run time, where it is a select or prefetch."""
    root = group.root
    if root is None or root.built is None or fix.code is None:
        return None
    path = "__".join(group.path)
    if fix.code.endswith(f'.select_related("{path}")'):
        return AppliedFix(root.model, root.built.file, root.built.line, select_related=(path,))
    if fix.code.endswith(f'.prefetch_related("{path}")'):
        return AppliedFix(root.model, root.built.file, root.built.line, prefetch_related=(path,))
    return None


def _relation_fix(group: _Group, op: str, model: str, path: str) -> Fix:
    root = group.root
    assert root is not None
    file, line = (root.built.file, root.built.line) if root.built else (None, None)
    relation = group.path[-1]
    kind = group.kinds[-1]
    if kind == "deferred":
        return Fix(
            summary=f"load {relation!r} with the rest: drop it from .only()/.defer() here",
            code=f"{model}.objects.only(..., {relation!r})  # or remove {relation!r} from .defer()",
            file=file,
            line=line,
        )
    if op == "count":
        name = f"{relation}_count"
        return Fix(
            summary=f"count in the same query, then read {name} instead of calling .count()",
            code=f'{model}.objects.annotate({name}=Count("{path}"))',
            file=file,
            line=line,
        )
    if op == "exists":
        name = f"has_{relation}"
        return Fix(
            summary=f"check in the same query, then read {name} instead of calling .exists()",
            code=f"{model}.objects.annotate("
            f'{name}=Exists(<{relation} filtered by OuterRef("pk")>))',
            file=file,
            line=line,
        )
    if group.refined:
        return Fix(
            summary="prefetch the relation with the same filter and order the loop applies",
            code=f'{model}.objects.prefetch_related(Prefetch("{path}", queryset=<the filtered '
            f'queryset>, to_attr="{relation}_list"))',
            file=file,
            line=line,
        )
    if all(k == "forward" for k in group.kinds):
        return Fix(
            summary="join the related row in the same query",
            code=f'{model}.objects.select_related("{path}")',
            file=file,
            line=line,
        )
    return Fix(
        summary="load the relation for all rows in one more query",
        code=f'{model}.objects.prefetch_related("{path}")',
        file=file,
        line=line,
    )


def _fetch_peers(group: _Group, op: str) -> str | None:
    """Say whether Django 6.1's FETCH_PEERS fetch mode would also fix this."""
    if django.VERSION < (6, 1):
        return None
    if op == "fetch" and all(k in ("forward", "reverse_one", "deferred") for k in group.kinds):
        return "QuerySet.fetch_mode(models.FETCH_PEERS) would also load these in one query"
    return "FETCH_PEERS cannot fix this: it covers forward and one-to-one relations only"


def _shape_finding(group: _Group) -> Finding:
    first = group.queries[0]
    site = first.callsite
    assert site is not None
    count = len(group.queries)
    op = operation(first)
    model = first.orm.model if first.orm and first.orm.model else None
    name = model.split(".")[-1] if model else "a table"
    summary = {
        "count": "count for every row at once: annotate(Count(...)) or a Subquery on the "
        "outer queryset",
        "exists": "check every row at once: annotate(Exists(...)) on the outer queryset",
    }.get(
        op, "fetch the rows for the whole loop in one query (filter(...__in=...)) and look them up"
    )
    return Finding(
        kind="n_plus_one",
        severity="high" if count >= 10 else "medium",
        message=f"The same query on {name} runs once per row in {site.function} ({count} queries)",
        where=Where(file=site.file, line=site.line, function=site.function),
        evidence={
            "model": model,
            "relation": None,
            "count": count,
            "operation": op,
            "sql": first.sql,
            "touched": f"{site.file}:{site.line}",
        },
        fix=Fix(summary=summary, code=None, file=site.file, line=site.line),
    )
