"""``@cached``: cache what a function returns, invalidated by any commit to what it read."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterable
from typing import Any, TypeVar, overload

from pagedoctor.cache import keys, tracking, values

F = TypeVar("F", bound=Callable[..., Any])


@overload
def cached(func: F, /) -> F: ...
@overload
def cached(
    *,
    timeout: float | None = ...,
    key: Callable[..., Any] | None = ...,
    cache: str | None = ...,
    tags: Iterable[str] = ...,
    lock: bool = ...,
    stale: float = ...,
    early: float = ...,
) -> Callable[[F], F]: ...
def cached(
    func: F | None = None,
    /,
    *,
    timeout: float | None = 300,
    key: Callable[..., Any] | None = None,
    cache: str | None = None,
    tags: Iterable[str] = (),
    lock: bool = False,
    stale: float = 0.0,
    early: float = 0.0,
) -> F | Callable[[F], F]:
    """Cache what ``func`` returns for each set of arguments, sync or async.

    What it depends on is learned from the SQL it runs: any committed write to those tables (or
    rows, when it read rows by primary key) makes the value outdated, and the next call computes
    it again. Model instances among the arguments stand for their rows.

    - ``timeout``: seconds to keep a value at most (None: until invalidated).
    - ``key``: a function of the same arguments returning what identifies the value, for
      arguments pagedoctor cannot key (request objects, say).
    - ``cache``: the Django cache alias (default ``PAGEDOCTOR['CACHE']``).
    - ``tags``: names to invalidate the value by, with :func:`pagedoctor.invalidate`.
    - ``lock``, ``stale``, ``early``: stampede control, as in :func:`pagedoctor.get_or_compute`.
    """
    chosen_tags = tuple(tags)
    tracking.use()

    def decorate(function: F) -> F:
        options: dict[str, Any] = {
            "timeout": timeout,
            "cache": cache,
            "tags_": chosen_tags,
            "lock": lock,
            "stale": stale,
            "early": early,
        }
        if inspect.iscoroutinefunction(function):

            @functools.wraps(function)
            async def awrapper(*args: Any, **kwargs: Any) -> Any:
                made, rows = keys.for_call(function, args, kwargs, key)
                return await values.aget_or_compute(
                    made, lambda: function(*args, **kwargs), extra_deps=rows, **options
                )

            return awrapper  # type: ignore[return-value]

        @functools.wraps(function)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            made, rows = keys.for_call(function, args, kwargs, key)
            return values.get_or_compute(
                made, lambda: function(*args, **kwargs), extra_deps=rows, **options
            )

        return wrapper  # type: ignore[return-value]

    return decorate(func) if func is not None else decorate
