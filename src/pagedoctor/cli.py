"""The ``pagedoctor`` command; ``python manage.py pagedoctor`` runs the same subcommands."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import Any, TextIO

import pagedoctor
from pagedoctor.exceptions import PagedoctorError

DEMO_SETTINGS = "pagedoctor.demo.settings"


def add_subcommands(parser: argparse.ArgumentParser) -> None:
    """Add pagedoctor's subcommands to ``parser`` (the console script's or manage.py's)."""
    commands = parser.add_subparsers(dest="subcommand", metavar="COMMAND")
    commands.required = True
    audit = commands.add_parser(
        "audit",
        help="request the site's pages and report what each one costs",
        description="Request each page with Django's test client under a recording, in a "
        "transaction that is rolled back, and report queries, cache calls, templates and time.",
    )
    _add_page_arguments(audit)
    audit.add_argument("--json", metavar="PATH", help="write the JSON report here")
    audit.add_argument("--html", metavar="PATH", help="write the HTML report here")
    audit.add_argument(
        "--repeat",
        type=_positive_int,
        default=2,
        metavar="N",
        help="request each page N times and report the last (default 2: one warm-up)",
    )
    audit.add_argument(
        "--budget",
        metavar="FILE",
        help="a TOML budget (max queries and ms per URL pattern, finding kinds that fail); "
        "exit 3 when the run exceeds it (docs/ci.md)",
    )
    audit.add_argument(
        "--baseline",
        metavar="OLD.json",
        help="compare each page with this earlier --json report: queries, ms, finding kinds",
    )
    audit.add_argument(
        "--baseline-map",
        action="append",
        metavar="NEW=OLD",
        help="compare pages under the URL prefix NEW with the baseline's under OLD "
        "(e.g. /fixed/=/); repeatable",
    )
    audit.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        help="print only problems and the verdict (for CI logs)",
    )
    indexes = commands.add_parser(
        "indexes",
        help="find the queries that scan, and the indexes that make them faster",
        description="Request the pages under a recording, EXPLAIN each SELECT they run, try each "
        "candidate index on the database (rolled back, or created and dropped on MariaDB), and "
        "list the indexes that turn a scan into index use and make the query faster.",
    )
    _add_page_arguments(indexes)
    indexes.add_argument(
        "--write-migrations",
        action="store_true",
        help="write a migration adding the advised indexes into each app",
    )
    indexes.add_argument(
        "--min-rows",
        type=_positive_int,
        default=None,
        metavar="N",
        help="propose no index on tables with fewer rows (default 1000)",
    )
    _add_capacity_command(commands)


def _add_capacity_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``pagedoctor capacity``; its own options live in ``capacity/arguments.py``."""
    from pagedoctor.capacity.arguments import add_capacity_arguments

    capacity = commands.add_parser(
        "capacity",
        help="measure how many views a day each page can serve, under gunicorn and wrk",
        description="Serve the site with gunicorn on the loopback interface, ramp wrk's "
        "concurrent connections on each page, and report the highest rate whose p95 latency "
        "stays under the target, as views per day (naive and under a peak model).",
    )
    add_capacity_arguments(capacity)


def _add_page_arguments(command: argparse.ArgumentParser) -> None:
    """Add the arguments that choose the pages, shared by the commands that request them."""
    command.add_argument("urls", nargs="*", metavar="URL", help="pages to request, e.g. /pizzas/")
    command.add_argument("--urls-file", metavar="FILE", help="a file with one page per line")
    command.add_argument(
        "--products",
        type=_positive_int,
        default=None,
        metavar="N",
        help="demo only: how many products to seed (default: the seed command's)",
    )
    command.add_argument(
        "--per-route",
        type=_positive_int,
        default=1,
        metavar="N",
        help="pages found on their own: at most N of each route, e.g. N products (default 1)",
    )
    command.add_argument(
        "--crawl",
        type=_positive_int,
        default=None,
        metavar="N",
        help="follow same-site links of the requested pages to up to N more pages (default: off)",
    )
    command.add_argument(
        "--user",
        metavar="NAME",
        help="log in as this existing user (by username) before requesting the pages",
    )


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pagedoctor",
        description="Find out why your Django site is slow. With no settings, audits the "
        "bundled demo shop.",
    )
    parser.add_argument(
        "--version", action="version", version=f"pagedoctor {pagedoctor.__version__}"
    )
    parser.add_argument(
        "--settings",
        metavar="MODULE",
        help="the site's settings module (default: $DJANGO_SETTINGS_MODULE, else the demo shop)",
    )
    add_subcommands(parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the console script and return its exit status."""
    options = build_parser().parse_args(argv)
    try:
        _setup_django(options.settings)
        return run(vars(options), stdout=sys.stdout)
    except PagedoctorError as exc:
        print(f"pagedoctor: error: {exc}", file=sys.stderr)
        return 2


def _setup_django(settings_module: str | None) -> None:
    chosen = settings_module or os.environ.get("DJANGO_SETTINGS_MODULE") or DEMO_SETTINGS
    os.environ["DJANGO_SETTINGS_MODULE"] = chosen
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())  # as manage.py does, so the project's modules import
    import django
    from django.core.exceptions import ImproperlyConfigured

    try:
        django.setup()
    except ModuleNotFoundError as exc:
        raise PagedoctorError(
            f"cannot import the settings module {os.environ['DJANGO_SETTINGS_MODULE']!r} "
            f"({exc}); run pagedoctor from your project's folder or pass --settings"
        ) from exc
    except ImproperlyConfigured as exc:
        raise PagedoctorError(f"the site's settings are not usable: {exc}") from exc


def run(options: dict[str, Any], *, stdout: TextIO) -> int:
    """Run a subcommand once Django is set up."""
    if options["subcommand"] == "audit":
        from pagedoctor.audit.command import run_audit

        return run_audit(options, stdout=stdout)
    if options["subcommand"] == "capacity":
        from pagedoctor.capacity.command import run_capacity

        return run_capacity(options, stdout=stdout)
    if options["subcommand"] == "indexes":
        from pagedoctor.indexes.command import run_indexes

        return run_indexes(options, stdout=stdout)
    raise PagedoctorError(f"unknown command {options['subcommand']!r}")
