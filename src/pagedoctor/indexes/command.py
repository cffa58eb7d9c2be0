"""``pagedoctor indexes``: request the pages, list the verified index advice, write migrations."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any, TextIO

from django.db import connections
from rich.console import Console

from pagedoctor.audit.command import request_pages
from pagedoctor.indexes.advisor import DEFAULT_MIN_ROWS, Advice, advise
from pagedoctor.indexes.migrations import index_migration, meta_entry, write_migration
from pagedoctor.report.paths import relative_path


def run_indexes(options: dict[str, Any], *, stdout: TextIO) -> int:
    """List the indexes the pages ``options`` name need; write migrations if asked. Return 0."""
    console = Console(file=stdout, highlight=False)
    result = request_pages(options, console, command="indexes", repeat=1)
    urls = [page.url for page in result.pages]
    advisor = advise(
        ((page.url, page.recording) for page in result.pages),
        min_rows=options.get("min_rows") or DEFAULT_MIN_ROWS,
    )
    if not advisor.advice:
        console.print(f"No missing index found on {len(urls)} pages.", markup=False)
    for advice in advisor.advice:
        _print_advice(console, advice)
    for verdict in advisor.rejected:
        console.print(
            f"Tried {meta_entry(verdict.index)} on {verdict.candidate.label}: not proposed "
            f"({verdict.plan_after.describe()}; {verdict.before.ms:.2f} → {verdict.after.ms:.2f} "
            "ms)",
            markup=False,
        )
    for problem in advisor.problems:
        console.print(f"note: {problem}", markup=False)
    if options.get("write_migrations") and advisor.advice:
        for path in write_index_migrations(advisor.advice):
            console.print(f"Wrote {relative_path(str(path))}", markup=False)
    return 0


def _print_advice(console: Console, advice: Advice) -> None:
    verdict = advice.verdict
    candidate = verdict.candidate
    lines = [
        f"{candidate.label}: add {meta_entry(verdict.index)}",
        f"  pages:  {', '.join(advice.pages)}",
        f"  before: {verdict.plan_before.describe()} ({verdict.before.ms:.2f} ms)",
        f"  after:  {verdict.plan_after.describe()} ({verdict.after.ms:.2f} ms)",
    ]
    console.print("\n".join(lines), markup=False)


def write_index_migrations(advice: list[Advice]) -> list[Path]:
    """Write one migration per app adding its advised indexes; return the files written."""
    by_app: dict[tuple[str, str], list[Any]] = defaultdict(list)
    for item in advice:
        model = item.verdict.candidate.model
        entry = (model._meta.model_name, item.verdict.index)
        if entry not in by_app[(model._meta.app_label, item.shapes[0].alias)]:
            by_app[(model._meta.app_label, item.shapes[0].alias)].append(entry)
    written = []
    for (app_label, alias), indexes in by_app.items():
        concurrently = connections[alias].vendor == "postgresql"
        migration = index_migration(app_label, indexes, concurrently=concurrently)
        written.append(write_migration(migration))
    return written
