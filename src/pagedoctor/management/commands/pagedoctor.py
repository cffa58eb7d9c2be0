from __future__ import annotations

import sys
from typing import Any, TextIO

from django.core.management.base import BaseCommand, CommandError, CommandParser

from pagedoctor import cli
from pagedoctor.exceptions import PagedoctorError


class Command(BaseCommand):
    help = "Find out why your site is slow: `manage.py pagedoctor audit` audits its pages."

    def add_arguments(self, parser: CommandParser) -> None:
        cli.add_subcommands(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            # rich writes partial lines; Django's OutputWrapper would end each with a newline.
            stdout: TextIO = getattr(self.stdout, "_out", sys.stdout)
            status = cli.run(options, stdout=stdout)
        except PagedoctorError as exc:
            raise CommandError(str(exc)) from exc
        if status:
            reason = (
                "the audit is over its budget" if status == 3 else "some pages could not be audited"
            )
            raise CommandError(reason, returncode=status)
