"""Record template renders and how long they take.

Django offers no public hook around rendering (``template_rendered`` fires only under the test
runner, which also replaces ``Template._render``), so ``Template.render`` is wrapped once.
"""

from __future__ import annotations

from contextvars import ContextVar
from time import perf_counter
from typing import Any

from django.template.base import Template

from pagedoctor.capture.events import TemplateEvent
from pagedoctor.capture.recording import active_now

_depth: ContextVar[int] = ContextVar("pagedoctor_template_depth", default=0)
_original_render = Template.render


def _render(self: Template, context: Any) -> Any:
    recordings = active_now()
    if not recordings:
        return _original_render(self, context)
    depth = _depth.get()
    token = _depth.set(depth + 1)
    started = perf_counter()
    try:
        return _original_render(self, context)
    finally:
        duration_ms = (perf_counter() - started) * 1000
        _depth.reset(token)
        origin = getattr(self, "origin", None)
        event = TemplateEvent(
            name=str(self.name or getattr(origin, "template_name", None) or "<string>"),
            duration_ms=duration_ms,
            started=started,
            depth=depth,
            origin=str(origin.name) if origin is not None else None,
        )
        for recording in recordings:
            recording.add(event)


def install() -> None:
    """Wrap ``Template.render``, once."""
    if Template.render is not _render:
        Template.render = _render  # type: ignore[method-assign]
