"""Compare a run with an earlier JSON report: per page, queries and time before and after.

Pages are paired by URL. ``--baseline-map NEW=OLD`` pairs pages whose URL starts with ``NEW``
with the baseline's page at the URL that starts with ``OLD`` instead (``/fixed/=/`` compares
``/fixed/pizzas/`` with ``/pizzas/``): the same page under a new path, or a fixed twin.

Queries are counted exactly, so any change counts. Time is noisy, so a change counts only when
it is at least 20% of the old time and at least 5 ms (``Noise``; a budget can change both).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypeGuard

from pagedoctor.exceptions import AuditError
from pagedoctor.report.json import SCHEMA

Change = Literal["improved", "regressed", "same"]


@dataclass(frozen=True)
class Noise:
    """How much time must change to count: at least ``percent`` of the old time and ``ms``."""

    percent: float = 20.0
    ms: float = 5.0


def load_baseline(path: str) -> dict[str, Any]:
    """Read the JSON report at ``path``; raise ``AuditError`` saying why it cannot be used."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise AuditError(
            f"cannot read the baseline {path!r} ({exc.strerror or exc}); pass a report "
            "written by an earlier `pagedoctor audit --json FILE`"
        ) from exc
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise AuditError(
            f"the baseline {path!r} is not JSON (line {exc.lineno}, column {exc.colno}: "
            f"{exc.msg}); pass a report written by `pagedoctor audit --json FILE`"
        ) from exc
    report: dict[str, Any] = data if isinstance(data, dict) else {}
    if report.get("schema") != SCHEMA:
        raise AuditError(
            f"the baseline {path!r} is not a {SCHEMA} report (its schema is "
            f"{report.get('schema')!r}); pass a report written by `pagedoctor audit --json FILE`"
        )
    if not isinstance(report.get("pages"), list):
        raise AuditError(f"the baseline {path!r} has no pages list; write it again with --json")
    return report


def parse_map(items: Sequence[str]) -> list[tuple[str, str]]:
    """Return ``NEW=OLD`` URL prefix pairs; raise ``AuditError`` for one that is malformed."""
    pairs = []
    for item in items:
        new, equals, old = item.partition("=")
        if not equals or not new.startswith("/") or not old.startswith("/"):
            raise AuditError(
                f"--baseline-map {item!r} is not NEW=OLD with two URL prefixes; "
                "e.g. --baseline-map /fixed/=/ compares /fixed/pizzas/ with /pizzas/"
            )
        pairs.append((new, old))
    return pairs


def baseline_url(url: str, url_map: Sequence[tuple[str, str]]) -> str:
    """Return the baseline URL to compare ``url`` with: the first matching prefix rewritten."""
    for new, old in url_map:
        if url.startswith(new):
            return old + url[len(new) :]
    return url


def compare(
    baseline: Mapping[str, Any],
    report: Mapping[str, Any],
    *,
    file: str,
    url_map: Sequence[tuple[str, str]] = (),
    noise: Noise = Noise(),
) -> dict[str, Any]:
    """Return the comparison of ``report`` with ``baseline``, for ``report["baseline"]``."""
    old_pages = {page.get("url"): page for page in baseline.get("pages") or []}
    old_kinds = _kinds_by_page(baseline)
    new_kinds = _kinds_by_page(report)
    pages, unmatched, paired = [], [], set()
    for page in report.get("pages") or []:
        url = page.get("url")
        old_url = baseline_url(str(url), url_map)
        old = old_pages.get(old_url)
        if old is None:
            unmatched.append(url)
            continue
        paired.add(old_url)
        pages.append(
            compare_page(
                old, page, old_kinds.get(old_url, set()), new_kinds.get(url, set()), noise=noise
            )
        )
    return {
        "file": file,
        "generated": baseline.get("generated"),
        "map": [{"new": new, "old": old} for new, old in url_map],
        "noise": {"ms_percent": noise.percent, "ms": noise.ms},
        "pages": pages,
        "only_in_run": unmatched,
        "only_in_baseline": [url for url in old_pages if url not in paired],
        "new_kinds": sorted({kind for page in pages for kind in page["new_kinds"]}),
        "fixed_kinds": sorted({kind for page in pages for kind in page["fixed_kinds"]}),
        "regressed": sum(page["verdict"] == "regressed" for page in pages),
        "improved": sum(page["verdict"] == "improved" for page in pages),
        "same": sum(page["verdict"] == "same" for page in pages),
    }


def compare_page(
    old: Mapping[str, Any],
    new: Mapping[str, Any],
    old_kinds: set[str],
    new_kinds: set[str],
    *,
    noise: Noise = Noise(),
) -> dict[str, Any]:
    """Return how one page changed: status, queries and time, each judged, and a verdict.

    Finding kinds that appeared or went are listed beside, not judged: a new pagedoctor finds
    new kinds on an unchanged page, and ``fail_on`` in a budget already fails on kinds.
    """
    changes = {
        "status": _status_change(old.get("status"), new.get("status")),
        "queries": _count_change(old.get("queries"), new.get("queries")),
        "ms": ms_change(old.get("ms"), new.get("ms"), noise=noise),
    }
    regressions = [
        f"{name} {_number(old.get(name))} → {_number(new.get(name))}"
        for name, change in changes.items()
        if change == "regressed"
    ]
    verdict: Change = (
        "regressed" if regressions else "improved" if "improved" in changes.values() else "same"
    )
    return {
        "url": new.get("url"),
        "baseline_url": old.get("url"),
        **{
            name: {"before": old.get(name), "after": new.get(name), "change": change}
            for name, change in changes.items()
        },
        "new_kinds": sorted(new_kinds - old_kinds),
        "fixed_kinds": sorted(old_kinds - new_kinds),
        "regressions": regressions,
        "verdict": verdict,
    }


def ms_change(before: Any, after: Any, *, noise: Noise = Noise()) -> Change:
    """Return whether time changed beyond the noise: by ``noise.percent`` and ``noise.ms``."""
    if not _is_number(before) or not _is_number(after):
        return "same"
    delta = after - before
    if abs(delta) < noise.ms or abs(delta) < before * noise.percent / 100:
        return "same"
    return "regressed" if delta > 0 else "improved"


def _count_change(before: Any, after: Any) -> Change:
    if not _is_number(before) or not _is_number(after) or before == after:
        return "same"
    return "regressed" if after > before else "improved"


def _status_change(before: Any, after: Any) -> Change:
    was_ok, is_ok = _ok(before), _ok(after)
    if was_ok == is_ok:
        return "same"
    return "improved" if is_ok else "regressed"


def _ok(status: Any) -> bool:
    return isinstance(status, int) and status < 400


def _kinds_by_page(report: Mapping[str, Any]) -> dict[Any, set[str]]:
    kinds = {f.get("id"): f.get("kind") for f in report.get("findings") or []}
    return {
        page.get("url"): {
            str(kinds.get(finding_id) or str(finding_id).rsplit(":", 1)[0])
            for finding_id in page.get("findings") or []
        }
        for page in report.get("pages") or []
    }


def _number(value: Any) -> str:
    return f"{value:g}" if _is_number(value) else str(value)


def _is_number(value: Any) -> TypeGuard[float]:
    return isinstance(value, int | float) and not isinstance(value, bool)
