"""``pagedoctor audit``: choose the pages, audit them, print and write the reports."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TextIO

from django.conf import settings
from django.core.mail.backends.locmem import EmailBackend as LocmemEmailBackend
from django.test import Client, override_settings
from django.utils.module_loading import import_string
from rich.console import Console

from pagedoctor.audit import pages
from pagedoctor.audit.analysis import analyze
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
        client = Client()
        urls = _urls(options, client)
        if not urls:
            raise AuditError(
                f"found no pages to request; pass URLs (pagedoctor {command} /pizzas/ /menu/), "
                "--urls-file, or list them in PAGEDOCTOR['AUDIT_URLS']"
            )
        console.print(f"Requesting {len(urls)} pages of {site_info()['settings']} …", markup=False)
        return audit_pages(urls, repeat=repeat, client=client, progress=_dot(console))


def run_audit(options: dict[str, Any], *, stdout: TextIO) -> int:
    """Audit the pages ``options`` ask for; return 0 if every page could be audited, else 1."""
    console = Console(file=stdout, highlight=False)
    result = request_pages(options, console, command="audit", repeat=options.get("repeat") or 2)
    with override_settings(**audit_overrides()):
        analyze(result)
    report = build_report(result)
    from pagedoctor.report.terminal import render_terminal

    render_terminal(report, console=console)
    _write(options.get("json"), console, lambda path: write_json(report, path))
    if options.get("html"):
        from pagedoctor.report.html import render_html

        _write(
            options["html"],
            console,
            lambda path: Path(path).write_text(render_html(report), encoding="utf-8"),
        )
    return 0 if result.ok else 1


def _urls(options: dict[str, Any], client: Client) -> list[str]:
    urls = [pages.normalize(u) for u in options.get("urls") or []]
    if options.get("urls_file"):
        urls += pages.read_url_file(options["urls_file"])
    return pages.dedupe(urls) if urls else pages.discover(client)


def _dot(console: Console) -> Any:
    def progress(page: PageResult) -> None:
        if not page.ok:
            console.print(
                f"[red]✗[/red] {page.url} answered {page.status}", markup=True, highlight=False
            )

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
