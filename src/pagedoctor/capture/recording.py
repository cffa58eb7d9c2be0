"""Recording: the events of one request or block of code."""

from __future__ import annotations

import asyncio
from collections import Counter
from contextvars import ContextVar, Token
from itertools import chain
from time import perf_counter
from types import TracebackType
from typing import TYPE_CHECKING, Any

from pagedoctor.capture import callsite
from pagedoctor.capture.events import CacheEvent, QueryEvent, TemplateEvent
from pagedoctor.conf import conf

if TYPE_CHECKING:
    from pagedoctor.capture.orm import OrmTracker

# Every recording active in this context, outermost first. Nested recordings all receive an
# event; an empty tuple means nothing is recording and the hooks return at once.
_active: ContextVar[tuple[Recording, ...]] = ContextVar("pagedoctor_active", default=())


def active() -> tuple[Recording, ...]:
    """Return the recordings that events in the current context go to."""
    return _active.get()


# The hooks' first question, asked on every query, attribute load and render: bound once, so
# that with nothing recording it costs one C call.
active_now = _active.get


class Recording:
    """The SQL queries, cache calls and template renders of one request or block.

    Use it as a context manager (``with pagedoctor.record() as rec:``); events from the current
    thread or task, and from ``sync_to_async`` calls it awaits, are added to it. A recording
    holds at most ``max_events`` events and counts what it had to drop in ``dropped``.
    """

    def __init__(self, *, label: str = "", max_events: int | None = None) -> None:
        self.label = label
        self.max_events = conf.MAX_EVENTS if max_events is None else max_events
        self.queries: list[QueryEvent] = []
        self.cache_calls: list[CacheEvent] = []
        self.templates: list[TemplateEvent] = []
        self.dropped = 0
        self.started = 0.0
        self.duration_ms = 0.0
        self._events = 0
        self.orm: OrmTracker | None = None
        # pagedoctor's own caches, per cache alias: hits, misses, stale, invalidations, ...
        self.treatments: dict[str, Counter[str]] = {}
        self._token: Token[tuple[Recording, ...]] | None = None
        self._task_token: Token[asyncio.Task[Any] | None] | None = None

    def __repr__(self) -> str:
        return (
            f"<Recording {self.label!r}: {len(self.queries)} queries, "
            f"{len(self.cache_calls)} cache calls, {len(self.templates)} templates>"
        )

    # -- collecting ---------------------------------------------------------------------------

    def now_ms(self) -> float:
        """Return the milliseconds since the recording started."""
        return (perf_counter() - self.started) * 1000

    def add(self, event: QueryEvent | CacheEvent | TemplateEvent) -> None:
        """Keep ``event``, unless the recording is full."""
        if self._events >= self.max_events:
            self.dropped += 1
            return
        self._events += 1
        if isinstance(event, QueryEvent):
            self.queries.append(event)
        elif isinstance(event, CacheEvent):
            self.cache_calls.append(event)
        else:
            self.templates.append(event)

    # -- context manager ----------------------------------------------------------------------

    def __enter__(self) -> Recording:
        if self._token is not None:
            raise RuntimeError("This Recording is already active; create a new one to nest.")
        from pagedoctor.capture.install import install

        install()
        from pagedoctor.capture.orm import OrmTracker

        outer = _active.get()
        self.orm = outer[0].orm if outer else OrmTracker()
        self.started = perf_counter()
        self._token = _active.set((*_active.get(), self))
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.duration_ms = self.now_ms()
        if self._token is not None:
            _active.reset(self._token)
            self._token = None

    async def __aenter__(self) -> Recording:
        self.__enter__()
        self._task_token = callsite.awaiting_task.set(asyncio.current_task())
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._task_token is not None:
            callsite.awaiting_task.reset(self._task_token)
            self._task_token = None
        self.__exit__(exc_type, exc, tb)

    # -- summaries ----------------------------------------------------------------------------

    @property
    def query_ms(self) -> float:
        return sum(q.duration_ms for q in self.queries)

    @property
    def duplicate_queries(self) -> int:
        """Return how many queries repeated an earlier one exactly (same SQL and parameters)."""
        counts = Counter(q.identity for q in self.queries)
        return sum(n - 1 for n in counts.values())

    @property
    def cache_hits(self) -> int:
        return sum(c.hits for c in self.cache_calls)

    @property
    def cache_misses(self) -> int:
        return sum(c.misses for c in self.cache_calls)

    @property
    def cache_ms(self) -> float:
        return sum(c.duration_ms for c in self.cache_calls)

    @property
    def template_ms(self) -> float:
        """Return the time spent rendering templates, less the queries and cache calls they made.

        Only outermost renders count (an include is part of its parent), and what a template
        waited on the database or cache for is counted there, so the parts add up to the whole.
        """
        total = 0.0
        for render in self.templates:
            if render.depth:
                continue
            end = render.started + render.duration_ms / 1000
            waited = sum(
                e.duration_ms
                for e in chain[QueryEvent | CacheEvent](self.queries, self.cache_calls)
                if render.started <= e.started < end
            )
            total += max(0.0, render.duration_ms - waited)
        return total


def record(*, label: str = "", max_events: int | None = None) -> Recording:
    """Record the SQL queries, cache calls and template renders of a block.

    ::

        with pagedoctor.record() as rec:
            client.get("/pizzas/")
        print(len(rec.queries))
    """
    return Recording(label=label, max_events=max_events)


def arecord(*, label: str = "", max_events: int | None = None) -> Recording:
    """Record a block of async code: ``async with pagedoctor.arecord() as rec: ...``."""
    return Recording(label=label, max_events=max_events)


class suspended:
    """Record nothing inside the block: for pagedoctor's own queries (EXPLAIN, set-up)."""

    def __enter__(self) -> None:
        self._token = _active.set(())

    def __exit__(self, *exc_info: object) -> None:
        _active.reset(self._token)
