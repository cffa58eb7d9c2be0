"""``python -m django seed_demo [--products N]``: fill the demo shop's database."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from pagedoctor.demo.shop.models import Product
from pagedoctor.demo.shop.seed import DEFAULT_PRODUCTS, seed


class Command(BaseCommand):
    help = (
        "Fill the demo shop with products, pizzas, flowers, a team and orders. Deterministic and "
        "idempotent: running it again creates only what is missing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--products",
            type=int,
            default=DEFAULT_PRODUCTS,
            help=f"how many products the shop should have (default: {DEFAULT_PRODUCTS:,})",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.perf_counter()
        try:
            created = seed(products=options["products"])
        except ValueError as error:
            raise CommandError(str(error)) from error
        if options["verbosity"] < 1:
            return
        made = [f"{count:,} {name}" for name, count in created.items() if count]
        if made:
            seconds = time.perf_counter() - started
            self.stdout.write(f"Seeded the demo shop in {seconds:.1f}s: {', '.join(made)}.")
        else:
            total = Product.objects.count()
            self.stdout.write(f"The demo shop is already seeded ({total:,} products).")
