"""A progress bar for long audits, drawn only where a person watches: an interactive terminal.

CI logs and files get nothing from it (a bar redrawn ten times a second would fill them with
escape codes), and ``--quiet`` turns it off too.
"""

from __future__ import annotations

import os
from contextvars import ContextVar, Token
from types import TracebackType

from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn

_current: ContextVar[AuditProgress | None] = ContextVar("pagedoctor_audit_progress", default=None)


def on_terminal(console: Console) -> bool:
    """Return whether ``console`` writes to an interactive terminal, not to a log or a file."""
    if console.quiet or os.environ.get("TERM") == "dumb":
        return False
    # Not console.is_terminal: FORCE_COLOR, which CI services set for colour, forces that on.
    isatty = getattr(console.file, "isatty", None)
    try:
        return bool(isatty is not None and isatty())
    except ValueError:  # a closed file
        return False


def current() -> AuditProgress | None:
    """Return the progress display of the audit running in this context, if any."""
    return _current.get()


class AuditProgress:
    """Show the pages requested, then each later step, as a bar that vanishes when done.

    The bar starts with the first page, so lines printed before it (preparing the demo) keep
    their place, and lines printed on the same console meanwhile appear above it.
    """

    def __init__(self, console: Console) -> None:
        self.enabled = on_terminal(console)
        self._console = console
        self._bar: Progress | None = None
        self._task: TaskID | None = None
        self._pages = 0
        self._token: Token[AuditProgress | None] | None = None

    def __enter__(self) -> AuditProgress:
        self._token = _current.set(self)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._token is not None:
            _current.reset(self._token)
        if self._bar is not None:
            self._bar.stop()
            self._bar = None

    def page_done(self, url: str, *, total: int | None = None) -> None:
        """Count one more page requested; ``total`` gives the bar an end when it is known."""
        bar = self._started()
        if bar is None:
            return
        self._pages += 1
        count = f"{self._pages}/{total or '?'}"
        if self._task is None:
            self._task = bar.add_task("requesting pages", total=total, count=count, url=url)
        bar.update(self._task, advance=1, total=total, count=count, url=url, refresh=True)

    def step(self, description: str) -> None:
        """Show a step of unknown length, such as verifying fixes, with the time it takes."""
        bar = self._started()
        if bar is None:
            return
        if self._task is not None:
            done = bar.tasks[-1].completed
            bar.update(self._task, total=done, completed=done, url="")
        self._task = bar.add_task(description, total=None, count="", url="")
        bar.refresh()

    def _started(self) -> Progress | None:
        if not self.enabled:
            return None
        if self._bar is None:
            self._bar = Progress(
                SpinnerColumn(),
                TextColumn("{task.description}"),
                BarColumn(bar_width=24),
                TextColumn("{task.fields[count]}"),
                TimeElapsedColumn(),
                # A URL is the site's text: never read as markup.
                TextColumn("{task.fields[url]}", markup=False),
                console=self._console,
                transient=True,
            )
            self._bar.start()
        return self._bar
