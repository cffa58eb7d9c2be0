"""The demo shop's product-by-type query without and with the index the advisor proposes.

For each database (SQLite, PostgreSQL, MariaDB), in a process of its own: migrate and seed the
demo shop (120,000 products by default), then let ``pagedoctor.indexes.verify`` plan and time
the ``/products/`` query (``type = %s ORDER BY created DESC LIMIT 50``) and the product page's
``COUNT(*) ... WHERE type = %s`` without the index and with ``Index(fields=["type"])`` (created
in a rolled-back transaction, or created and dropped on MariaDB).

Run it with the project's virtualenv: ``python benchmarks/indexes.py [--dbs sqlite,postgres]``.
PostgreSQL and MariaDB are expected where the demo settings look for them (127.0.0.1, database
``test``). It prints medians and the ratio before/after; absolute times on a shared machine
mean little.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

DATABASES = ("sqlite", "postgres", "mariadb")


def measure(products: int, repeat: int) -> list[dict[str, Any]]:
    """Seed the demo in this process's database and verify the type index on its queries."""
    import django

    os.environ["DJANGO_SETTINGS_MODULE"] = "pagedoctor.demo.settings"
    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from pagedoctor.capture.recording import record
    from pagedoctor.demo.shop.catalog import DEFAULT_PRODUCT_TYPE
    from pagedoctor.demo.shop.models import Product
    from pagedoctor.indexes.candidates import Candidate
    from pagedoctor.indexes.migrations import make_index
    from pagedoctor.indexes.verify import verify

    call_command("migrate", verbosity=0, interactive=False)
    call_command("seed_demo", products=products, verbosity=0)
    with connection.cursor() as cursor:
        # Fresh planner statistics, as a production database has them.
        cursor.execute(
            "ANALYZE TABLE shop_product" if connection.vendor == "mysql" else "ANALYZE shop_product"
        )
        if connection.vendor == "mysql":
            cursor.fetchall()
    candidate = Candidate(
        model=Product,
        table="shop_product",
        columns=("type",),
        fields=("type",),
        reason="filter",
        equality=1,
    )
    index = make_index(["type"], "shop_product", ["type"])
    by_type = Product.objects.filter(type=DEFAULT_PRODUCT_TYPE)
    queries = {
        "list (/products/)": lambda: list(by_type.order_by("-created")[:50]),
        "count (product page)": by_type.count,
    }
    rows = []
    for label, run in queries.items():
        # The SQL and parameters exactly as the demo's pages send them.
        with record() as recording:
            run()
        event = recording.queries[-1]
        verdict = verify(connection, candidate, index, event.sql, event.params, repeat=repeat)
        rows.append(
            {
                "query": label,
                "rows": Product.objects.count(),
                "before_ms": verdict.before.ms,
                "after_ms": verdict.after.ms,
                "plan_before": verdict.plan_before.describe(),
                "plan_after": verdict.plan_after.describe(),
                "same_output": verdict.same_output,
            }
        )
    return rows


def run_child(database: str, products: int, repeat: int, tmp: str) -> list[dict[str, Any]]:
    env = {**os.environ, "PAGEDOCTOR_DEMO_DB": database}
    env["PAGEDOCTOR_DEMO_SQLITE"] = str(Path(tmp) / "bench.sqlite3")
    command = [sys.executable, __file__, "--child", "--products", str(products)]
    out = subprocess.run(
        [*command, "--repeat", str(repeat)], env=env, check=True, capture_output=True, text=True
    )
    result: list[dict[str, Any]] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dbs", default=",".join(DATABASES), help="comma-separated databases")
    parser.add_argument("--products", type=int, default=120_000)
    parser.add_argument("--repeat", type=int, default=11, help="timed runs per query (median)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.products, args.repeat)))
        return
    print(f"demo product-by-type queries, {args.products:,} products, median of {args.repeat}+")
    print(f"{'database':10}{'query':24}{'before ms':>11}{'after ms':>10}{'ratio':>9}  same rows")
    plans = []
    with tempfile.TemporaryDirectory() as tmp:
        for database in args.dbs.split(","):
            for row in run_child(database, args.products, args.repeat, tmp):
                ratio = row["before_ms"] / row["after_ms"]
                print(
                    f"{database:10}{row['query']:24}{row['before_ms']:11.2f}"
                    f"{row['after_ms']:10.2f}{ratio:8.1f}x  {row['same_output']}"
                )
                plans.append((database, row))
    print()
    for database, row in plans:
        print(f"{database} {row['query']}:\n  before: {row['plan_before']}")
        print(f"  after:  {row['plan_after']}")


if __name__ == "__main__":
    main()
