"""Tests for pagedoctor.report, and ``make_report``: a realistic report dict they share."""

from __future__ import annotations

import copy
from typing import Any

TRACEBACK = """Traceback (most recent call last):
  File "django/core/handlers/exception.py", line 55, in inner
    response = get_response(request)
  File "pagedoctor/demo/shop/views.py", line 40, in checkout
    raise ValueError("basket is empty")
ValueError: basket is empty"""

_PAGES: list[dict[str, Any]] = [
    {
        "url": "/pizzas/",
        "status": 200,
        "ms": 41.2,
        "queries": 101,
        "query_ms": 30.5,
        "duplicate_queries": 0,
        "cache_hits": 0,
        "cache_misses": 1,
        "bytes": 18211,
        "findings": ["n_plus_one:1"],
        "cache_ms": 0.4,
        "template_ms": 8.0,
        "error": None,
        "timeline": [
            {
                "kind": "template",
                "start_ms": 0.9,
                "ms": 8.0,
                "text": "shop/pizza_list.html",
                "where": None,
                "template": None,
                "depth": 0,
            },
            {
                "kind": "query",
                "start_ms": 1.2,
                "ms": 0.31,
                "text": 'SELECT "shop_pizza"."id", "shop_pizza"."name" FROM "shop_pizza"',
                "where": "pagedoctor/demo/shop/views.py:14 in pizza_list",
                "template": "shop/pizza_list.html:7",
            },
            {
                "kind": "cache",
                "start_ms": 3.0,
                "ms": 0.02,
                "text": "get menu (miss)",
                "where": "pagedoctor/demo/shop/views.py:12 in pizza_list",
                "template": None,
            },
        ],
        "timeline_dropped": 0,
    },
    {
        "url": "/pizzas/margherita/",
        "status": 200,
        "ms": 12.6,
        "queries": 7,
        "query_ms": 4.1,
        "duplicate_queries": 3,
        "cache_hits": 2,
        "cache_misses": 0,
        "bytes": 5120,
        "findings": [],
        "cache_ms": 0.2,
        "template_ms": 3.3,
        "error": None,
        "timeline": [],
        "timeline_dropped": 250,
    },
    {
        "url": "/checkout/",
        "status": 500,
        "ms": 3.0,
        "queries": 1,
        "query_ms": 0.5,
        "duplicate_queries": 0,
        "cache_hits": 0,
        "cache_misses": 0,
        "bytes": 145,
        "findings": [],
        "cache_ms": 0.0,
        "template_ms": 0.0,
        "error": TRACEBACK,
        "timeline": [],
        "timeline_dropped": 0,
    },
]

_FINDINGS: list[dict[str, Any]] = [
    {
        "id": "duplicate_query:1",
        "kind": "duplicate_query",
        "severity": "medium",
        "message": "The same query runs 3 times on /pizzas/margherita/",
        "where": {"file": "pagedoctor/demo/shop/views.py", "line": 31},
        "pages": ["/pizzas/margherita/"],
        "evidence": {"count": 3, "sql": 'SELECT * FROM "shop_topping" WHERE "id" = %s'},
        "fix": None,
        "verified": None,
    },
    {
        "id": "n_plus_one:1",
        "kind": "n_plus_one",
        "severity": "high",
        "message": "Pizza.toppings is loaded once per pizza (100 queries)",
        "where": {"file": "pagedoctor/demo/shop/templates/shop/pizza_list.html", "line": 7},
        "pages": ["/pizzas/"],
        "evidence": {
            "model": "shop.Pizza",
            "relation": "toppings",
            "count": 100,
            "sql": 'SELECT "shop_topping"."id" FROM "shop_topping" WHERE "pizza_id" = %s',
        },
        "fix": {
            "summary": "prefetch the relation",
            "code": 'Pizza.objects.prefetch_related("toppings")',
            "file": "pagedoctor/demo/shop/views.py",
            "line": 14,
        },
        "verified": {
            "queries_before": 101,
            "queries_after": 2,
            "ms_before": 41.2,
            "ms_after": 6.3,
            "same_output": True,
        },
    },
]


def make_report(**changes: Any) -> dict[str, Any]:
    """Return a fresh, realistic ``pagedoctor.report/1`` dict with top-level ``changes``."""
    report: dict[str, Any] = {
        "schema": "pagedoctor.report/1",
        "generated": "2026-11-26T07:30:00+00:00",
        "pagedoctor": "0.1.0.dev0",
        "site": {"settings": "pagedoctor.demo.settings", "database": "sqlite", "cache": "locmem"},
        "pages": copy.deepcopy(_PAGES),
        "findings": copy.deepcopy(_FINDINGS),
    }
    report.update(changes)
    return report
