"""Fill a route's parameters from the database: ``pizzas/<int:pk>/`` becomes ``/pizzas/1/``.

The model comes from the view when it says (a ``DetailView``'s ``model`` or ``queryset``, with
its ``pk_url_kwarg``, ``slug_url_kwarg`` and ``slug_field``); otherwise from the parameters'
names, matched to fields of the installed models (``pk``, ``id``, ``slug``, ``username``,
``pizza_id``, ``category_slug``), preferring a model the route or view names and then the view's
own app, then one that reaches every parameter from one row (``authors/<int:author_id>/books/``
reads a book's ``author_id``, so the author has books). Values are read lowest primary key first,
so an audit requests the same pages each time.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.db import DatabaseError, models, transaction

from pagedoctor.audit.routes import Route
from pagedoctor.capture.recording import suspended

# Names too common to pick a model by (many models have a slug); they need the model named in
# the route or view, or to be the only such field in the view's app.
GENERIC = frozenset(
    {"pk", "id", "slug", "uuid", "name", "title", "code", "key", "model", "type", "object_id"}
)
ROWS_READ = 20  # rows read per route at the most; values the route does not accept are passed over


@dataclass(frozen=True)
class Filled:
    """The paths built for a route, or why there are none."""

    urls: list[str]
    reason: str | None = None


@dataclass(frozen=True)
class Source:
    """Where a route's values come from: a model (or its view's queryset), a lookup per value."""

    model: type[models.Model]
    lookups: dict[str, str]  # parameter name -> lookup, e.g. {"slug": "slug"}
    queryset: models.QuerySet[Any] | None = None
    # How many lookups cross a relation. Between equally likely models, more is better: one row
    # then gives consistent values (a book's pk with its author's name), and a related row exists.
    hops: int = 0

    @property
    def label(self) -> str:
        return str(self.model._meta.label)


@dataclass(frozen=True)
class _Candidate:
    source: Source
    score: int  # 2 if the route or view names the model, +1 if it is in the view's app

    @property
    def rank(self) -> tuple[int, int]:
        return (-self.score, -self.source.hops)


def fill(route: Route, *, count: int) -> Filled:
    """Return up to ``count`` paths of ``route`` built from existing rows, or why there are none."""
    parameters = route.parameters
    if parameters is None:
        return Filled([], "its pattern passes unnamed (positional) values")
    if not parameters:
        return Filled([], "its pattern matches many paths, not one")
    source = choose_source(route, [p.name for p in parameters])
    if isinstance(source, str):
        return Filled([], source)
    rows = _rows(source)
    if isinstance(rows, str):
        return Filled([], rows)
    if not rows:
        return Filled([], f"{source.label} has no rows")
    names = list(source.lookups)
    built = (route.build(dict(zip(names, row, strict=True))) for row in rows)
    urls = list(dict.fromkeys(url for url in built if url is not None))
    if not urls:
        return Filled(
            [], f"{source.label} has no row (of the first {ROWS_READ}) with values it accepts"
        )
    return Filled(urls[:count])


def choose_source(route: Route, names: Sequence[str]) -> Source | str:
    """Return the model ``route``'s parameters come from, or why it cannot be told."""
    from_view = _view_source(route, names)
    if from_view is not None:
        return from_view
    evidence = _evidence(route, names)
    app = _app_label(route)
    candidates = [
        _Candidate(source, 2 * _named(model, evidence) + (model._meta.app_label == app))
        for model in _models()
        if (source := _source(model, names)) is not None
    ]
    wanted = ", ".join(f"`{name}`" for name in names)
    if not candidates:
        return f"no model has fields for {wanted}"
    candidates.sort(key=lambda c: (c.rank, c.source.label))
    best = [c for c in candidates if c.rank == candidates[0].rank]
    if len(best) > 1 or (best[0].score == 0 and any(name in GENERIC for name in names)):
        labels = ", ".join(c.source.label for c in best[:3]) + (" …" if len(best) > 3 else "")
        return f"cannot tell which model {wanted} comes from ({labels})"
    return best[0].source


def _view_source(route: Route, names: Sequence[str]) -> Source | str | None:
    """Return the source a class-based view names (``model``/``queryset``), or None."""
    view_class = getattr(route.view, "view_class", None)
    if view_class is None:
        return None
    initkwargs = getattr(route.view, "view_initkwargs", {})

    def setting(name: str) -> Any:
        return initkwargs.get(name, getattr(view_class, name, None))

    queryset = setting("queryset")
    queryset = queryset if isinstance(queryset, models.QuerySet) else None
    model = setting("model") or (queryset.model if queryset is not None else None)
    if not (isinstance(model, type) and issubclass(model, models.Model)):
        return None
    own = {setting("pk_url_kwarg"): "pk", setting("slug_url_kwarg"): setting("slug_field")}
    lookups: dict[str, str] = {}
    hops = 0
    for name in names:
        found = (own[name], 0) if own.get(name) else _lookup(model, name)
        if found is None:
            return f"its view's model {model._meta.label} has no field for `{name}`"
        lookups[name], hops = found[0], hops + found[1]
    return Source(model, lookups, queryset, hops)


def _source(model: type[models.Model], names: Sequence[str]) -> Source | None:
    """Return how ``names`` map to ``model``'s fields, or None if one does not."""
    lookups: dict[str, str] = {}
    hops = 0
    for name in names:
        found = _lookup(model, name)
        if found is None:
            return None
        lookups[name], hops = found[0], hops + found[1]
    return Source(model, lookups, None, hops)


def _lookup(model: type[models.Model], name: str, *, follow: bool = True) -> tuple[str, int] | None:
    """Return the lookup that reads parameter ``name`` from ``model``, and whether it hops."""
    opts = model._meta
    if name == "pk":
        return ("pk", 0)
    own = next((f for f in opts.concrete_fields if name in (f.name, f.attname)), None)
    if own is not None:
        return (own.attname, 1) if own.is_relation else (own.name, 0)
    prefix = f"{opts.model_name}_"
    if name.startswith(prefix):  # pizza_id, product_slug
        found = _lookup(model, name.removeprefix(prefix), follow=False)
        if found is not None and found[1] == 0:
            return found
    for relation in opts.concrete_fields if follow else ():
        target, prefix = relation.related_model, f"{relation.name}_"
        if relation.is_relation and isinstance(target, type) and name.startswith(prefix):
            found = _lookup(target, name.removeprefix(prefix), follow=False)
            if found is not None and found[1] == 0:  # category_slug -> category__slug
                return (f"{relation.name}__{found[0]}", 1)
    return ("pk", 0) if name == "id" else None


def _rows(source: Source) -> list[tuple[Any, ...]] | str:
    """Read the values of the first rows, lowest primary key first; say why if reading fails."""
    queryset = source.queryset.all() if source.queryset is not None else None
    if queryset is None:
        queryset = source.model._default_manager.all()
    lookups = list(source.lookups.values())
    if not queryset.query.is_sliced:  # a view's sliced queryset keeps its own order and rows
        queryset = queryset.order_by("pk").filter(
            **{f"{lookup}__isnull": False for lookup in lookups}
        )
    try:
        with suspended(), transaction.atomic(using=queryset.db):
            return list(queryset.values_list(*lookups)[:ROWS_READ])
    except DatabaseError as exc:
        return f"reading {source.label} failed ({exc})"


def _models() -> list[type[models.Model]]:
    # Proxies read the same rows as the model they stand for; counting both would tie them.
    return [model for model in apps.get_models() if not model._meta.proxy]


def _app_label(route: Route) -> str | None:
    view = getattr(route.view, "view_class", route.view)
    app = apps.get_containing_app_config(str(getattr(view, "__module__", "")))
    return app.label if app is not None else None


def _evidence(route: Route, names: Sequence[str]) -> str:
    """Return the words of the route, its name, its view's name and its parameters' names."""
    view = getattr(route.view, "view_class", route.view)
    text = " ".join([route.text, route.name or "", getattr(view, "__qualname__", ""), *names])
    return _words(re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", text))


def _named(model: type[models.Model], evidence: str) -> bool:
    """Return whether ``evidence`` names ``model``, singular or plural."""
    opts = model._meta
    names = {str(opts.model_name), str(opts.verbose_name), str(opts.verbose_name_plural)}
    names |= {f"{name}s" for name in list(names)}
    names |= {f"{name[:-1]}ies" for name in list(names) if name.endswith("y")}
    return any(_words(name) in evidence for name in names if name.strip())


def _words(text: str) -> str:
    return " " + " ".join(re.split(r"[^a-z0-9]+", text.lower())).strip() + " "
