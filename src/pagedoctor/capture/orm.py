"""What the ORM knew when a query ran: the model, the relation loaded lazily, and where from.

A bare SQL statement says "SELECT ... FROM shop_topping WHERE pizza_id = 7". To prescribe
``Pizza.objects.prefetch_related("toppings")`` at the right line, pagedoctor also needs to know
that the statement loaded ``Pizza.toppings`` for one pizza, that the pizza came from a queryset
evaluated at ``pizza_list.html:6``, and that the queryset was built at ``views.py:14``. These
hooks collect exactly that, only while a recording is active, and keep it in the recording's
``OrmTracker`` (nothing is stored on the site's own objects).

Hooks (installed once, each a thin wrapper that returns at once when nothing records):

- ``QuerySet.__init__``/``_clone``: where a queryset was built (first frame in user code).
- ``QuerySet._fetch_all``: which instances a queryset produced, and where it was iterated.
- forward and reverse one-to-one/foreign-key descriptors, deferred fields, related managers
  (reverse foreign key, many-to-many) and generic relations: the lazy load in progress.
- ``SQLCompiler.execute_sql``: the ORM query behind the statement the SQL hook sees.
"""

from __future__ import annotations

import functools
import itertools
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Model, QuerySet
from django.db.models.fields import related_descriptors
from django.db.models.query_utils import DeferredAttribute
from django.db.models.sql.compiler import SQLCompiler

from pagedoctor.capture import callsite
from pagedoctor.capture.events import CallSite, TemplateSite
from pagedoctor.capture.recording import active_now

# How many instances' origins one recording remembers; past it, loads go unattributed.
INSTANCE_LIMIT = 20_000


@dataclass(frozen=True)
class LazyLoad:
    """An attribute read that had to query: ``pizza.chef``, ``pizza.toppings.all()`` ..."""

    model: str  # the model the attribute belongs to, as "app_label.ModelName"
    relation: str  # the attribute: "chef", "toppings", or a deferred field's name
    kind: str  # "forward" (FK, one-to-one), "reverse_one", "many", "deferred", "generic"
    instance: int  # id() of the instance whose attribute was read
    refined: bool = False  # the related queryset was filtered or ordered further


@dataclass(eq=False)
class Fetch:
    """One evaluation of a queryset that produced model instances."""

    id: int
    model: str
    built: CallSite | None  # where the queryset was built: where a fix goes
    iterated: CallSite | None  # where it was evaluated
    iterated_template: TemplateSite | None
    lazy: LazyLoad | None  # set when a lazy load ran this queryset
    parent: Fetch | None  # the fetch of the instance that lazy load hung off
    size: int


@dataclass(frozen=True)
class OrmContext:
    """What the ORM knew about one SQL statement."""

    model: str | None
    built: CallSite | None
    lazy: LazyLoad | None
    parent: Fetch | None  # the fetch of the instance the lazy load hung off


@dataclass
class OrmTracker:
    """The ORM facts of one recording (shared with the recordings nested inside it)."""

    # id(Query) -> (query, build site, lazy load it was made for); the query is kept so the
    # id cannot be reused while the recording lives.
    queries: dict[int, tuple[Any, CallSite | None, LazyLoad | None]] = field(default_factory=dict)
    instances: dict[int, tuple[Model, Fetch]] = field(default_factory=dict)
    fetch_ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    # Fetches noted early, when their results were about to be prefetched for: id(QuerySet).
    prefetched: dict[int, Fetch] = field(default_factory=dict)

    def fetch_of(self, instance_id: int) -> Fetch | None:
        entry = self.instances.get(instance_id)
        return entry[1] if entry else None


_lazy: ContextVar[LazyLoad | None] = ContextVar("pagedoctor_lazy", default=None)
_query: ContextVar[Any] = ContextVar("pagedoctor_orm_query", default=None)
_outer_query: ContextVar[Any] = ContextVar("pagedoctor_outer_query", default=None)
# The queryset whose _fetch_all is running, with the caller's frame.
_fetching: ContextVar[tuple[Any, Any] | None] = ContextVar("pagedoctor_fetching", default=None)
# While Django prefetches: the parent fetch, its model, and the lookups.
_prefetching: ContextVar[tuple[Fetch, Any, tuple[Any, ...]] | None] = ContextVar(
    "pagedoctor_prefetching", default=None
)
# Fixes applied while a page is re-run for verification: (model label, build site) -> change.
_fixes: ContextVar[tuple[AppliedFix, ...]] = ContextVar("pagedoctor_fixes", default=())


@dataclass(frozen=True)
class AppliedFix:
    """A change to make to querysets of ``model`` built at ``file:line`` before they run."""

    model: str
    file: str
    line: int
    select_related: tuple[str, ...] = ()
    prefetch_related: tuple[str, ...] = ()


def _tracker() -> OrmTracker | None:
    recordings = active_now()
    return recordings[0].orm if recordings else None


def _label(model: type[Model]) -> str:
    return str(model._meta.label)


def context() -> OrmContext | None:
    """Return the ORM facts for the statement about to be recorded, if the ORM ran it."""
    tracker = _tracker()
    query = _query.get()
    lazy = _lazy.get()
    if tracker is None or (query is None and lazy is None):
        return None
    built: CallSite | None = None
    if query is not None:
        entry = tracker.queries.get(id(query))
        if entry is None and _outer_query.get() is not None:
            # count(), exists() and aggregate() run a copy of the queryset's query.
            entry = tracker.queries.get(id(_outer_query.get()))
        if entry is not None:
            built = entry[1]
            lazy = entry[2] or lazy
    model = _label(query.model) if query is not None and query.model is not None else None
    parent = tracker.fetch_of(lazy.instance) if lazy is not None else None
    return OrmContext(model=model, built=built, lazy=lazy, parent=parent)


# -- hooks ----------------------------------------------------------------------------------


def _user_site() -> CallSite | None:
    frame = sys._getframe(2)
    while frame is not None:
        if callsite.is_user_code(frame.f_code):
            return CallSite(frame.f_code.co_filename, frame.f_lineno, frame.f_code.co_name)
        if frame.f_code is callsite._THREAD_HANDLER:
            return None
        frame = frame.f_back  # type: ignore[assignment]
    return None


_original_init = QuerySet.__init__
_original_clone = getattr(QuerySet, "_clone")  # noqa: B009 - private, not in the stubs
_original_fetch_all = QuerySet._fetch_all
_original_prefetch = getattr(QuerySet, "_prefetch_related_objects")  # noqa: B009
_original_iterator = getattr(QuerySet, "_iterator")  # noqa: B009 - private, not in the stubs
_original_execute_sql = SQLCompiler.execute_sql


def _init(self: Any, *args: Any, **kwargs: Any) -> None:
    _original_init(self, *args, **kwargs)
    tracker = _tracker()
    # A queryset made with a query is a clone: _clone notes it, with one stack walk, not two.
    if tracker is not None and self._query is not None and kwargs.get("query") is None:
        tracker.queries[id(self._query)] = (self._query, _user_site(), _lazy.get())


def _clone(self: Any) -> Any:
    clone = _original_clone(self)
    tracker = _tracker()
    if tracker is not None:
        parent = tracker.queries.get(id(self.query))
        lazy = parent[2] if parent else None
        if lazy is not None and lazy.kind == "many":
            # Cloned from a related manager's queryset: .filter(), .order_by() ...
            lazy = LazyLoad(lazy.model, lazy.relation, lazy.kind, lazy.instance, refined=True)
        site = _user_site() or (parent[1] if parent else None)
        tracker.queries[id(clone.query)] = (clone.query, site, lazy)
    return clone


def _new_fetch(queryset: Any, tracker: OrmTracker, size: int, frame: Any) -> Fetch:
    entry = tracker.queries.get(id(queryset.query))
    lazy = (entry[2] if entry else None) or _lazy.get()
    parent: Fetch | None = None
    if lazy is None and (lazy := _prefetched_lazy(queryset)) is not None:
        parent = _prefetching.get()[0]  # type: ignore[index]
    elif lazy is not None:
        parent = tracker.fetch_of(lazy.instance)
    site, template = callsite.find(frame)
    return Fetch(
        id=next(tracker.fetch_ids),
        model=_label(queryset.model),
        built=entry[1] if entry else None,
        iterated=site,
        iterated_template=template,
        lazy=lazy,
        parent=parent,
        size=size,
    )


def _remember(tracker: OrmTracker, obj: Any, fetch: Fetch) -> bool:
    """Note which fetch produced ``obj``; False for a non-instance, or when memory is full."""
    if not isinstance(obj, Model) or len(tracker.instances) >= INSTANCE_LIMIT:
        return False
    tracker.instances[id(obj)] = (obj, fetch)
    return True


def _note_results(queryset: Any, tracker: OrmTracker, frame: Any) -> Fetch:
    fetch = _new_fetch(queryset, tracker, len(queryset._result_cache or ()), frame)
    for obj in queryset._result_cache or ():
        if not _remember(tracker, obj, fetch):
            break
    return fetch


def _fetch_all(self: Any) -> None:
    tracker = _tracker()
    if tracker is None or self._result_cache is not None:
        return _original_fetch_all(self)
    _apply_fixes(self, tracker)
    token = _fetching.set((self, sys._getframe(1)))
    try:
        _original_fetch_all(self)
    finally:
        _fetching.reset(token)
    fetch = tracker.prefetched.pop(id(self), None)
    if fetch is None:
        _note_results(self, tracker, sys._getframe(1))
    return None


def _prefetch_related_objects(self: Any) -> None:
    """Note the results before Django prefetches for them, so prefetched rows know their parent."""
    tracker = _tracker()
    fetching = _fetching.get()
    if tracker is None or fetching is None or fetching[0] is not self:
        _original_prefetch(self)
        return
    fetch = _note_results(self, tracker, fetching[1])
    tracker.prefetched[id(self)] = fetch
    token = _prefetching.set((fetch, self.model, tuple(self._prefetch_related_lookups)))
    try:
        _original_prefetch(self)
    finally:
        _prefetching.reset(token)


def _prefetched_lazy(queryset: Any) -> LazyLoad | None:
    """Return the relation a prefetch is loading ``queryset``'s rows for, as if lazily."""
    prefetching = _prefetching.get()
    if prefetching is None:
        return None
    parent, model, lookups = prefetching
    for lookup in lookups:
        name = getattr(lookup, "prefetch_through", lookup).split("__")[0]
        try:
            related = model._meta.get_field(name).related_model
        except Exception:  # a to_attr or a GenericForeignKey: not followed
            continue
        if related is queryset.model:
            # The instance id is unused for prefetches: the parent fetch is known directly.
            return LazyLoad(parent.model, name, "many", -parent.id)
    return None


def _iterator(self: Any, *args: Any, **kwargs: Any) -> Iterator[Any]:
    """``QuerySet.iterator()`` streams rows without ``_fetch_all``: note them as they come."""
    tracker = _tracker()
    if tracker is None:
        yield from _original_iterator(self, *args, **kwargs)
        return
    _apply_fixes(self, tracker)
    fetch = _new_fetch(self, tracker, 0, sys._getframe(1))
    remembering = True
    for obj in _original_iterator(self, *args, **kwargs):
        fetch.size += 1
        remembering = remembering and _remember(tracker, obj, fetch)
        yield obj


def _execute_sql(self: SQLCompiler, *args: Any, **kwargs: Any) -> Any:
    if not active_now():
        return _original_execute_sql(self, *args, **kwargs)
    token = _query.set(self.query)
    try:
        return _original_execute_sql(self, *args, **kwargs)
    finally:
        _query.reset(token)


def _on_copy_of_query(method: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap a QuerySet method that runs a copy of its query, so the copy is attributed."""

    @functools.wraps(method)
    def wrapper(self: QuerySet[Any], *args: Any, **kwargs: Any) -> Any:
        if not active_now():
            return method(self, *args, **kwargs)
        token = _outer_query.set(self.query)
        try:
            return method(self, *args, **kwargs)
        finally:
            _outer_query.reset(token)

    return wrapper


def _while_loading(
    get: Callable[..., Any], kind: str, relation_of: Callable[[Any], str]
) -> Callable[..., Any]:
    """Wrap a descriptor's ``__get__`` so the lazy load it may run is known."""

    @functools.wraps(get)
    def wrapper(self: Any, instance: Any, cls: Any = None) -> Any:
        if instance is None or not active_now():
            return get(self, instance, cls)
        load = LazyLoad(_label(type(instance)), relation_of(self), kind, id(instance))
        token = _lazy.set(load)
        try:
            return get(self, instance, cls)
        finally:
            _lazy.reset(token)

    wrapper._pagedoctor = True  # type: ignore[attr-defined]
    return wrapper


def _manager_factory(create: Callable[..., Any], relation_of: Callable[..., str]) -> Any:
    """Wrap a related-manager factory so its querysets are marked as lazy loads."""

    @functools.wraps(create)
    def factory(*args: Any, **kwargs: Any) -> Any:
        manager_class = create(*args, **kwargs)
        relation = relation_of(*args, **kwargs)

        class RecordedRelatedManager(manager_class):  # type: ignore[misc, valid-type]
            def _apply_rel_filters(self, queryset: QuerySet[Any]) -> QuerySet[Any]:
                queryset = super()._apply_rel_filters(queryset)
                tracker = _tracker()
                if tracker is not None:
                    load = LazyLoad(
                        _label(type(self.instance)), relation, "many", id(self.instance)
                    )
                    tracker.queries[id(queryset.query)] = (queryset.query, _user_site(), load)
                return queryset

            def _as_lazy_load(self, method: str, *args: Any, **kwargs: Any) -> Any:
                if not active_now():
                    return getattr(super(), method)(*args, **kwargs)
                load = LazyLoad(_label(type(self.instance)), relation, "many", id(self.instance))
                token = _lazy.set(load)
                try:
                    return getattr(super(), method)(*args, **kwargs)
                finally:
                    _lazy.reset(token)

            # Many-to-many count() and exists() may query the through table directly.
            def count(self) -> int:
                return int(self._as_lazy_load("count"))

            def exists(self) -> bool:
                return bool(self._as_lazy_load("exists"))

        RecordedRelatedManager.__name__ = manager_class.__name__
        RecordedRelatedManager.__qualname__ = manager_class.__qualname__
        return RecordedRelatedManager

    factory._pagedoctor = True  # type: ignore[attr-defined]
    return factory


def _reverse_fk_relation(superclass: Any, rel: Any) -> str:
    return str(rel.get_accessor_name())


def _m2m_relation(superclass: Any, rel: Any, reverse: bool) -> str:
    return str(rel.get_accessor_name() if reverse else rel.field.name)


def _apply_fixes(queryset: Any, tracker: OrmTracker) -> None:
    fixes = _fixes.get()
    if not fixes:
        return
    entry = tracker.queries.get(id(queryset.query))
    built = entry[1] if entry else None
    if built is None:
        return
    for fix in fixes:
        if fix.model == _label(queryset.model) and (built.file, built.line) == (fix.file, fix.line):
            if fix.select_related:
                queryset.query.add_select_related(list(fix.select_related))
            missing = [
                p for p in fix.prefetch_related if p not in queryset._prefetch_related_lookups
            ]
            queryset._prefetch_related_lookups = (*queryset._prefetch_related_lookups, *missing)


@contextmanager
def fixes_applied(*fixes: AppliedFix) -> Iterator[None]:
    """Apply ``fixes`` to matching querysets evaluated inside the block (for verification)."""
    token = _fixes.set((*_fixes.get(), *fixes))
    try:
        yield
    finally:
        _fixes.reset(token)


def install() -> None:
    """Install the ORM hooks, once."""
    if QuerySet._fetch_all is _fetch_all:
        return
    QuerySet.__init__ = _init  # type: ignore[method-assign]
    setattr(QuerySet, "_clone", _clone)  # noqa: B010 - private, not in the stubs
    QuerySet._fetch_all = _fetch_all  # type: ignore[method-assign]
    setattr(QuerySet, "_iterator", _iterator)  # noqa: B010
    setattr(QuerySet, "_prefetch_related_objects", _prefetch_related_objects)  # noqa: B010
    SQLCompiler.execute_sql = _execute_sql  # type: ignore[method-assign]
    for name in ("count", "exists", "aggregate", "contains"):
        setattr(QuerySet, name, _on_copy_of_query(getattr(QuerySet, name)))
    rd = related_descriptors
    rd.ForwardManyToOneDescriptor.__get__ = _while_loading(  # type: ignore[method-assign]
        rd.ForwardManyToOneDescriptor.__get__, "forward", lambda d: d.field.name
    )
    rd.ReverseOneToOneDescriptor.__get__ = _while_loading(  # type: ignore[method-assign]
        rd.ReverseOneToOneDescriptor.__get__, "reverse_one", lambda d: d.related.get_accessor_name()
    )
    DeferredAttribute.__get__ = _while_loading(  # type: ignore[method-assign]
        DeferredAttribute.__get__, "deferred", lambda d: d.field.attname
    )
    rd.create_reverse_many_to_one_manager = _manager_factory(
        rd.create_reverse_many_to_one_manager, _reverse_fk_relation
    )
    rd.create_forward_many_to_many_manager = _manager_factory(
        rd.create_forward_many_to_many_manager, _m2m_relation
    )
    _install_generic()


def _install_generic() -> None:
    """Hook generic relations too, where django.contrib.contenttypes is importable."""
    from django.apps import apps

    if not apps.is_installed("django.contrib.contenttypes"):
        return
    from django.contrib.contenttypes import fields as generic

    # Django 6.1 moved GenericForeignKey's __get__ to a descriptor class of its own.
    descriptor: Any = getattr(generic, "GenericForeignKeyDescriptor", generic.GenericForeignKey)
    descriptor.__get__ = _while_loading(
        descriptor.__get__, "generic", lambda d: getattr(d, "field", d).name
    )
    generic.create_generic_related_manager = _manager_factory(
        generic.create_generic_related_manager, lambda superclass, rel: str(rel.field.name)
    )
