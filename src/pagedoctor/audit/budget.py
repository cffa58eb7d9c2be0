"""CI budgets: the most queries and milliseconds a page may take, and findings that fail a run.

A budget is a TOML file (see docs/ci.md)::

    fail_on = ["n_plus_one", "missing_index"]
    fail_on_regression = true
    noise_percent = 20      # a change in time counts from 20% of the old time
    noise_ms = 5            # ... and from 5 ms

    [pages."/products/<slug>/"]
    max_queries = 12
    max_ms = 150

    [pages."**"]
    max_queries = 50

Patterns are matched against a page's path (its query string left out), in file order; the
first that matches is the page's budget, as the first matching route answers in a URLconf.
``<name>`` (or ``<converter:name>``) and ``*`` match within one path segment, ``<path:name>``
and ``**`` match across segments, and everything else is literal.
"""

from __future__ import annotations

import difflib
import functools
import re
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeGuard

from pagedoctor.audit.baseline import Noise, compare, load_baseline, parse_map
from pagedoctor.exceptions import AuditError

EXIT_OK = 0
EXIT_PAGE_ERRORS = 1
EXIT_USAGE = 2
EXIT_OVER_BUDGET = 3

KINDS = frozenset(
    {
        "n_plus_one",
        "duplicate_query",
        "missing_index",
        "slow_query",
        "unbounded_query",
        "large_count",
        "leading_wildcard",
        "uncached_page",
        "http_caching",
        "static_caching",
        "blocking_call",
        "large_response",
    }
)
_TOP_KEYS = ("fail_on", "fail_on_regression", "noise_ms", "noise_percent", "pages")
_PAGE_KEYS = ("max_queries", "max_ms")


@dataclass(frozen=True)
class PageBudget:
    """The limits for the pages a pattern matches; ``None`` is no limit."""

    pattern: str
    max_queries: int | None = None
    max_ms: float | None = None

    def matches(self, url: str) -> bool:
        return compile_pattern(self.pattern).fullmatch(url.split("?", 1)[0]) is not None


@dataclass(frozen=True)
class Budget:
    """What a run must stay within to pass."""

    source: str
    pages: tuple[PageBudget, ...] = ()
    fail_on: tuple[str, ...] = ()
    fail_on_regression: bool = False
    noise: Noise = field(default_factory=Noise)

    def for_url(self, url: str) -> PageBudget | None:
        """Return the first page budget whose pattern matches ``url``, or ``None``."""
        return next((page for page in self.pages if page.matches(url)), None)


def load_budget(path: str) -> Budget:
    """Read the budget file at ``path``; a file that cannot be used raises ``AuditError``."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise AuditError(
            f"cannot read the budget file {path!r} ({exc.strerror or exc}); "
            "pass a TOML file as described in docs/ci.md"
        ) from exc
    return parse_budget(text, source=path)


def parse_budget(text: str, *, source: str) -> Budget:
    """Return the budget ``text`` describes; name the line, the key and the fix if it is wrong."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise AuditError(
            f"{source} is not valid TOML: {exc}; fix the file there "
            '(URL patterns are quoted: [pages."/pizzas/"])'
        ) from exc
    errors = _Errors(source, text)
    errors.known_keys(data, _TOP_KEYS, table=None)
    pages = data.get("pages", {})
    if not isinstance(pages, dict):
        raise errors.at("pages", 'must be tables, one per URL pattern: [pages."/pizzas/"]')
    return Budget(
        source=source,
        pages=tuple(_page(pattern, limits, errors) for pattern, limits in pages.items()),
        fail_on=_fail_on(data.get("fail_on", []), errors),
        fail_on_regression=_flag(data.get("fail_on_regression", False), errors),
        noise=Noise(
            percent=_at_least_zero(data, "noise_percent", Noise.percent, errors),
            ms=_at_least_zero(data, "noise_ms", Noise.ms, errors),
        ),
    )


def _at_least_zero(data: Mapping[str, Any], key: str, default: float, errors: _Errors) -> float:
    value = data.get(key, default)
    if not _is_number(value) or value < 0:
        raise errors.at(key, f"must be a number of at least 0, got {value!r}: {key} = {default:g}")
    return float(value)


def _page(pattern: str, limits: Any, errors: _Errors) -> PageBudget:
    if not isinstance(limits, dict):
        raise errors.at("", "must be a table with max_queries or max_ms", table=pattern)
    if not pattern.startswith(("/", "*")):
        raise errors.at(
            "",
            f'is not a path pattern; start it with \'/\' ("/{pattern}") or use "**" for all',
            table=pattern,
        )
    errors.known_keys(limits, _PAGE_KEYS, table=pattern)
    if not limits:
        raise errors.at("", "sets no limit; add max_queries or max_ms", table=pattern)
    max_queries = limits.get("max_queries")
    if max_queries is not None and (not _is_int(max_queries) or max_queries < 0):
        raise errors.at(
            "max_queries",
            f"must be a whole number of at least 0, got {max_queries!r}: max_queries = 10",
            table=pattern,
        )
    max_ms = limits.get("max_ms")
    if max_ms is not None and (not _is_number(max_ms) or max_ms <= 0):
        raise errors.at(
            "max_ms",
            f"must be a number of milliseconds above 0, got {max_ms!r}: max_ms = 250",
            table=pattern,
        )
    return PageBudget(
        pattern=pattern,
        max_queries=max_queries,
        max_ms=None if max_ms is None else float(max_ms),
    )


def _fail_on(value: Any, errors: _Errors) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(kind, str) for kind in value):
        raise errors.at("fail_on", 'must be a list of finding kinds: fail_on = ["n_plus_one"]')
    for kind in value:
        if kind not in KINDS:
            raise errors.at(
                "fail_on",
                f"names an unknown finding kind {kind!r}; "
                f"{_suggest(kind, KINDS) or 'known kinds: ' + ', '.join(sorted(KINDS))}",
            )
    return tuple(value)


def _flag(value: Any, errors: _Errors) -> bool:
    if not isinstance(value, bool):
        raise errors.at(
            "fail_on_regression",
            f"must be true or false, got {value!r}: fail_on_regression = true",
        )
    return value


@dataclass(frozen=True)
class _Errors:
    """Build the errors of one budget file, each naming its line when it can be found."""

    source: str
    text: str

    def at(self, key: str, problem: str, *, table: str | None = None) -> AuditError:
        parts = ("pages", f'"{table}"', key) if table is not None else (key,)
        name = ".".join(part for part in parts if part)
        line = self.line_of(key, table)
        return AuditError(f"{self.source}{f', line {line}' if line else ''}: {name} {problem}")

    def known_keys(
        self, data: Mapping[str, Any], known: tuple[str, ...], *, table: str | None
    ) -> None:
        for key in data:
            if key not in known:
                hint = _suggest(key, known) or f"the keys are {', '.join(known)}"
                raise self.at(key, f"is not a budget key; {hint}", table=table)

    def line_of(self, key: str, table: str | None) -> int | None:
        """Return the number of the line that sets ``key`` (in ``[pages."table"]`` if given)."""
        lines = self.text.splitlines()
        start = 0
        if table is not None:
            quoted = (f'"{table}"', f"'{table}'")
            header = next(
                (n for n, line in enumerate(lines) if any(q in line for q in quoted)), None
            )
            if header is None or not key:
                return None if header is None else header + 1
            start = header + 1
        assignment = re.compile(rf"^\s*{re.escape(key)}\s*=")
        for number in range(start, len(lines)):
            if table is not None and lines[number].lstrip().startswith("["):
                break
            if assignment.match(lines[number]):
                return number + 1
        return None


def _suggest(word: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1)
    return f"did you mean {close[0]!r}?" if close else ""


@functools.lru_cache(maxsize=256)
def compile_pattern(pattern: str) -> re.Pattern[str]:
    """Return the regular expression for a URL pattern (``/products/<slug>/``, ``/blog/**``)."""
    parts = []
    for token in re.split(r"(\*\*|\*|<[^<>]*>)", pattern):
        if token == "**" or token.startswith("<path:"):
            parts.append(".*" if token == "**" else ".+")
        elif token == "*":
            parts.append("[^/]*")
        elif token.startswith("<") and token.endswith(">"):
            parts.append("[^/]+")
        else:
            parts.append(re.escape(token))
    return re.compile("".join(parts))


def check_budget(
    budget: Budget, report: Mapping[str, Any], *, baseline_given: bool
) -> dict[str, Any]:
    """Return the report's violations of ``budget``, for ``report["budget"]``."""
    violations = [*_page_violations(budget, report), *_finding_violations(budget, report)]
    notes = []
    if budget.fail_on_regression:
        if baseline_given:
            violations += _regression_violations(report.get("baseline") or {})
        else:
            notes.append(
                "fail_on_regression is set but no --baseline was given: regressions not checked"
            )
    return {
        "file": budget.source,
        "passed": not violations,
        "violations": violations,
        "notes": notes,
    }


def _page_violations(budget: Budget, report: Mapping[str, Any]) -> list[dict[str, Any]]:
    violations = []
    for page in report.get("pages") or []:
        url = str(page.get("url", ""))
        limits = budget.for_url(url)
        if limits is None:
            continue
        for rule, limit, actual, unit in (
            ("max_queries", limits.max_queries, page.get("queries"), " queries"),
            ("max_ms", limits.max_ms, page.get("ms"), " ms"),
        ):
            if limit is None or actual is None or actual <= limit:
                continue
            violations.append(
                _violation(
                    rule,
                    f"{url}: {actual:g}{unit}, over the budget of {limit:g}{unit} "
                    f"for {limits.pattern}",
                    url=url,
                    pattern=limits.pattern,
                    limit=limit,
                    actual=actual,
                )
            )
    return violations


def _finding_violations(budget: Budget, report: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [
        _violation(
            "fail_on",
            f"{finding.get('kind')} ({finding.get('id')}) on "
            f"{', '.join(finding.get('pages') or []) or 'the site'}: {finding.get('message')}",
            url=None,
            findings=[finding.get("id")],
        )
        for finding in report.get("findings") or []
        if finding.get("kind") in budget.fail_on
    ]


def _regression_violations(baseline: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [
        _violation(
            "fail_on_regression",
            f"{page['url']} regressed against the baseline: {', '.join(page['regressions'])}",
            url=page["url"],
        )
        for page in baseline.get("pages") or []
        if page.get("verdict") == "regressed"
    ]


def _violation(rule: str, message: str, *, url: str | None, **fields: Any) -> dict[str, Any]:
    return {
        "rule": rule,
        "url": url,
        "pattern": fields.get("pattern"),
        "limit": fields.get("limit"),
        "actual": fields.get("actual"),
        "findings": fields.get("findings", []),
        "message": message,
    }


@dataclass(frozen=True)
class Gate:
    """What a run is judged against: a budget, an earlier report, and how their URLs pair."""

    budget: Budget | None = None
    baseline: dict[str, Any] | None = None
    baseline_file: str | None = None
    url_map: tuple[tuple[str, str], ...] = ()


def read_gate(*, budget: str | None, baseline: str | None, baseline_map: Sequence[str]) -> Gate:
    """Read the ``--budget`` and ``--baseline`` files; raise ``AuditError`` if one is unusable."""
    url_map = tuple(parse_map(baseline_map))
    if url_map and not baseline:
        raise AuditError("--baseline-map pairs pages with a baseline; pass --baseline OLD.json too")
    return Gate(
        budget=load_budget(budget) if budget else None,
        baseline=load_baseline(baseline) if baseline else None,
        baseline_file=baseline,
        url_map=url_map,
    )


def judge(report: dict[str, Any], gate: Gate) -> int:
    """Add the comparison with the baseline and the budget's verdict to ``report``.

    Return the run's exit status (``exit_status``).
    """
    if gate.baseline is not None and gate.baseline_file is not None:
        report["baseline"] = compare(
            gate.baseline,
            report,
            file=gate.baseline_file,
            url_map=gate.url_map,
            noise=gate.budget.noise if gate.budget is not None else Noise(),
        )
    if gate.budget is not None:
        report["budget"] = check_budget(
            gate.budget, report, baseline_given=gate.baseline is not None
        )
    return exit_status(report)


def exit_status(report: Mapping[str, Any]) -> int:
    """Return the run's exit status: 1 if a page failed, else 3 if over budget, else 0."""
    if any(page_failed(page) for page in report.get("pages") or []):
        return EXIT_PAGE_ERRORS
    budget = report.get("budget")
    if budget is not None and not budget.get("passed", True):
        return EXIT_OVER_BUDGET
    return EXIT_OK


def page_failed(page: Mapping[str, Any]) -> bool:
    """Return whether a page could not be audited: it raised or answered 5xx."""
    return bool(page.get("error")) or (page.get("status") or 0) >= 500


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> TypeGuard[float]:
    return isinstance(value, int | float) and not isinstance(value, bool)
