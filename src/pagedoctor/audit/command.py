"""``pagedoctor audit``: choose the pages, audit them, print and write the reports."""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any, TextIO

from django.conf import settings
from django.core.mail.backends.locmem import EmailBackend as LocmemEmailBackend
from django.test import Client, override_settings
from django.utils.module_loading import import_string
from rich.console import Console

from pagedoctor.audit import pages
from pagedoctor.audit.analysis import analyze
from pagedoctor.audit.crawl import LinkClient, follow_links
from pagedoctor.audit.login import logged_in
from pagedoctor.audit.runner import AuditResult, PageResult, audit_pages, site_info
from pagedoctor.cli import DEMO_SETTINGS
from pagedoctor.exceptions import AuditError
from pagedoctor.report.json import build_report, write_json


def request_pages(
    options: dict[str, Any], console: Console, *, command: str, repeat: int
) -> AuditResult:
    """Request the pages ``options`` choose, as ``pagedoctor audit`` and ``indexes`` do.

    The demo is prepared when it is the site; the requests change no data and send no mail.
    Analyses that re-run pages (verification) need ``audit_overrides()`` in force again.
    """
    if getattr(settings, "SETTINGS_MODULE", None) == DEMO_SETTINGS:
        prepare_demo(console, products=options.get("products"))
    with override_settings(**audit_overrides()):
        client = LinkClient() if options.get("crawl") else Client()
        user = options.get("user")
        with logged_in(client, user):
            plan = _urls(options, client)
            if not plan.urls:
                raise AuditError(
                    f"found no pages to request; pass URLs (pagedoctor {command} /pizzas/ "
                    "/menu/), --urls-file, or list them in PAGEDOCTOR['AUDIT_URLS']"
                )
            for line in plan.report_lines():
                console.print(line, markup=False)
            as_user = f" as {user}" if user else ""
            console.print(
                f"Requesting {pages.plural(len(plan.urls), 'page')} of "
                f"{site_info()['settings']}{as_user} ({plan.summary()}) …",
                markup=False,
            )
            result = audit_pages(
                plan.urls,
                repeat=repeat,
                client=client,
                progress=_dot(console, total=len(plan.urls)),
            )
            if isinstance(client, LinkClient):
                more = partial(audit_pages, repeat=repeat, client=client, progress=_dot(console))
                line = follow_links(
                    client,
                    plan,
                    limit=options["crawl"],
                    request=lambda urls: result.pages.extend(more(urls).pages),
                )
                console.print(line, markup=False)
            return result


def run_audit(options: dict[str, Any], *, stdout: TextIO) -> int:
    """Audit the pages ``options`` ask for, print and write the reports; return the exit status.

    0: every page was audited and is within the budget; 1: a page failed (5xx or raised);
    3: over the budget (limits, ``fail_on`` findings, regressions). See docs/ci.md.
    """
    from pagedoctor.audit.budget import judge, read_gate
    from pagedoctor.audit.progress import AuditProgress
    from pagedoctor.report.terminal import render_problems, render_terminal, render_verdict

    # Read the budget and the baseline first: a mistake in them should not wait for the audit.
    gate = read_gate(
        budget=options.get("budget"),
        baseline=options.get("baseline"),
        baseline_map=options.get("baseline_map") or (),
    )
    console = Console(file=stdout, highlight=False)
    # What only tells how the audit goes; --quiet leaves problems and the verdict alone.
    chatter = Console(file=stdout, highlight=False, quiet=bool(options.get("quiet")))
    with AuditProgress(chatter) as progress:
        result = request_pages(options, chatter, command="audit", repeat=options.get("repeat") or 2)
        progress.step("verifying fixes")
        with override_settings(**audit_overrides()):
            analyze(result)
    report = build_report(result)
    status = judge(report, gate)
    if options.get("quiet"):
        render_problems(report, console=console)
    else:
        render_terminal(report, console=console)
    _write(options.get("json"), chatter, lambda path: write_json(report, path))
    if options.get("html"):
        from pagedoctor.report.html import render_html

        _write(
            options["html"],
            chatter,
            lambda path: Path(path).write_text(render_html(report), encoding="utf-8"),
        )
    render_verdict(report, status=status, console=console)
    return status


def _urls(options: dict[str, Any], client: Client) -> pages.Plan:
    per_route = options.get("per_route") or 1
    if options.get("urls") or options.get("urls_file"):
        urls = options.get("urls") or []
        return pages.given(urls, url_file=options.get("urls_file"), per_route=per_route)
    return pages.discover(client, per_route=per_route)


def _dot(console: Console, total: int | None = None) -> Any:
    from rich.markup import escape

    from pagedoctor.audit.progress import current as current_progress

    def progress(page: PageResult) -> None:
        if not page.ok:
            console.print(
                f"[red]✗[/red] {escape(page.url)} answered {page.status}",
                markup=True,
                highlight=False,
            )
        shown = current_progress()
        if shown is not None:
            shown.page_done(page.url, total=total)

    return progress


def _write(path: str | None, console: Console, write: Any) -> None:
    if not path:
        return
    try:
        write(path)
    except OSError as exc:
        raise AuditError(f"cannot write the report to {path!r} ({exc.strerror or exc})") from exc
    console.print(f"Wrote {path}", markup=False)


def audit_overrides() -> dict[str, Any]:
    """Return the settings the audit changes so that requesting pages has no effect outside.

    The test client's host must be allowed, and no real email may leave: an email backend
    other than Django's in-memory one (or a subclass of it) is swapped for the in-memory one,
    in ``MAILERS`` (Django 6.1) as in ``EMAIL_BACKEND``.
    """
    overrides: dict[str, Any] = {}
    hosts = list(settings.ALLOWED_HOSTS)
    if "*" not in hosts and "testserver" not in hosts:
        overrides["ALLOWED_HOSTS"] = [*hosts, "testserver"]
    mailers = getattr(settings, "MAILERS", None)
    if mailers is not None:
        safe = {
            alias: config
            for alias, config in mailers.items()
            if _sends_nothing(config.get("BACKEND", _SMTP))
        }
        if len(safe) != len(mailers):
            overrides["MAILERS"] = {
                alias: safe.get(alias, {"BACKEND": _LOCMEM}) for alias in mailers
            }
    elif not _sends_nothing(settings.EMAIL_BACKEND):
        overrides["EMAIL_BACKEND"] = _LOCMEM
    return overrides


_LOCMEM = "django.core.mail.backends.locmem.EmailBackend"
_SMTP = "django.core.mail.backends.smtp.EmailBackend"


def _sends_nothing(backend_path: str) -> bool:
    try:
        backend = import_string(backend_path)
    except ImportError:
        return False
    return isinstance(backend, type) and issubclass(backend, LocmemEmailBackend)


def prepare_demo(console: Console, *, products: int | None) -> None:
    """Create and seed the demo shop's database, once."""
    from django.core.management import call_command

    console.print("Preparing the demo shop (migrate, seed) …", markup=False)
    call_command("migrate", verbosity=0, interactive=False)
    seed_options = {"products": products} if products else {}
    call_command("seed_demo", verbosity=0, **seed_options)
