"""Find where in the user's code an event came from.

The call site is the innermost frame that is neither Django, nor an installed library, nor the
standard library, nor pagedoctor's own machinery (the bundled demo counts as user code). While a
template renders, the template line being rendered is found too.

Queries that an async view awaits (``await Model.objects.aget()``) run in a worker thread whose
stack holds no user code; for those the awaiting coroutine is found on the event loop.
"""

from __future__ import annotations

import asyncio
import gc
import inspect
import os
import sys
import sysconfig
from collections.abc import Iterator
from contextvars import ContextVar
from types import CodeType, FrameType
from typing import Any

import django
from asgiref.sync import SyncToAsync
from django.template.base import Node

import pagedoctor
from pagedoctor.capture.events import CallSite, TemplateSite

_PACKAGE_DIR = os.path.dirname(os.path.abspath(pagedoctor.__file__)) + os.sep
_DEMO_DIR = _PACKAGE_DIR + "demo" + os.sep


def _library_dirs() -> tuple[str, ...]:
    dirs = {os.path.dirname(os.path.abspath(django.__file__)) + os.sep, _PACKAGE_DIR}
    # "scripts" holds console-script launchers, such as the one running `pagedoctor audit`.
    for name in ("stdlib", "platstdlib", "purelib", "platlib", "scripts"):
        path = sysconfig.get_path(name)
        if path:
            dirs.add(os.path.abspath(path) + os.sep)
    dirs.update(
        os.path.abspath(p) + os.sep
        for p in sys.path
        if p.endswith(("site-packages", "dist-packages"))
    )
    return tuple(sorted(dirs))


_LIBRARY_DIRS = _library_dirs()
_user_code: dict[str, bool] = {}

# The asyncio task whose recording is active: the fallback for attributing awaited queries.
awaiting_task: ContextVar[asyncio.Task[Any] | None] = ContextVar(
    "pagedoctor_awaiting_task", default=None
)

_RENDER_ANNOTATED = Node.render_annotated.__code__
_THREAD_HANDLER = SyncToAsync.thread_handler.__code__
_SYNC_TO_ASYNC_CALL = SyncToAsync.__call__.__code__


def is_user_code(code: CodeType) -> bool:
    """Return whether ``code`` belongs to the site rather than to a library."""
    filename = code.co_filename
    try:
        return _user_code[filename]
    except KeyError:
        pass
    path = os.path.abspath(filename)
    if path.startswith(_DEMO_DIR):
        verdict = True
    elif filename.startswith("<"):
        verdict = False  # <frozen importlib._bootstrap>, <string>, ...
    else:
        verdict = not path.startswith(_LIBRARY_DIRS)
    _user_code[filename] = verdict
    return verdict


def find(frame: FrameType | None) -> tuple[CallSite | None, TemplateSite | None]:
    """Return the user call site and the template line, walking out from ``frame``."""
    callsite: CallSite | None = None
    template: TemplateSite | None = None
    while frame is not None:
        code = frame.f_code
        if template is None and code is _RENDER_ANNOTATED:
            template = _template_site(frame.f_locals.get("self"))
        if callsite is None and is_user_code(code):
            callsite = CallSite(code.co_filename, frame.f_lineno, code.co_name)
            if template is not None:
                break
        if code is _THREAD_HANDLER:
            # Beyond this frame is whoever lent the thread (a test client waiting on the
            # event loop, a worker pool), not the code that asked for this query.
            if callsite is None:
                callsite = _awaiting_callsite(frame)
            break
        frame = frame.f_back
    return callsite, template


def _template_site(node: Any) -> TemplateSite | None:
    token = getattr(node, "token", None)
    origin = getattr(node, "origin", None)
    if token is None or origin is None:
        return None
    name = getattr(origin, "template_name", None) or str(origin.name)
    return TemplateSite(name=str(name), file=str(origin.name), line=int(token.lineno))


def _awaiting_callsite(handler_frame: FrameType) -> CallSite | None:
    """Find the user coroutine awaiting the ``sync_to_async`` call running in this thread."""
    instance = handler_frame.f_locals.get("self")
    loop = handler_frame.f_locals.get("loop")
    if isinstance(loop, asyncio.AbstractEventLoop):
        for task in _tasks(loop):
            frames = list(_await_chain(task))
            if any(
                f.f_code is _SYNC_TO_ASYNC_CALL and f.f_locals.get("self") is instance
                for f in frames
            ):
                return _innermost_user(frames)
    opener = awaiting_task.get()
    return _innermost_user(list(_await_chain(opener))) if opener is not None else None


def _tasks(loop: asyncio.AbstractEventLoop) -> list[asyncio.Task[Any]]:
    for _ in range(3):  # the loop's thread may add a task while we copy the set
        try:
            return list(asyncio.all_tasks(loop))
        except RuntimeError:
            continue
    return []


def _await_chain(task: asyncio.Task[Any]) -> Iterator[FrameType]:
    """Yield the frames of the coroutines ``task`` is suspended in, outermost first."""
    awaitable: Any = task.get_coro()
    for _ in range(200):
        frame = getattr(awaitable, "cr_frame", None) or getattr(awaitable, "ag_frame", None)
        if frame is None:
            return
        yield frame
        awaitable = getattr(awaitable, "cr_await", None) or getattr(awaitable, "ag_await", None)
        if awaitable is not None and not hasattr(awaitable, "cr_frame"):
            awaitable = _async_generator_behind(awaitable)


def _async_generator_behind(awaitable: Any) -> Any:
    """Return the async generator an ``asend``/``athrow`` object drives (``async for``).

    Those objects expose no attribute for it, but the garbage collector knows what they hold.
    """
    if inspect.isawaitable(awaitable) and type(awaitable).__name__.startswith("async_generator_"):
        for referent in gc.get_referents(awaitable):
            if inspect.isasyncgen(referent):
                return referent
    return awaitable


def _innermost_user(frames: list[FrameType]) -> CallSite | None:
    for frame in reversed(frames):
        if is_user_code(frame.f_code):
            return CallSite(frame.f_code.co_filename, frame.f_lineno, frame.f_code.co_name)
    return None
