"""Fill the demo shop: deterministic, idempotent, and fast enough for 100,000+ products.

Every row has a fixed name (``product-1`` ... ``product-N``, ``rose``, order ``1001``), so the
pages ``AUDIT_URLS`` lists always exist, and seeding again creates only what is missing.
"""

from __future__ import annotations

import random
from datetime import timedelta
from decimal import Decimal

from django.db import transaction

from pagedoctor.demo.shop.catalog import (
    ADJECTIVES,
    CHEFS,
    EPOCH,
    FLOWERS,
    MENU_TYPES,
    ORDERS,
    PIZZAS,
    PRODUCT_TYPES,
    SUPPLIERS,
    TEAM,
    TOPPINGS,
)
from pagedoctor.demo.shop.models import (
    Category,
    Chef,
    Flower,
    Order,
    OrderLine,
    Pizza,
    Product,
    Supplier,
    TeamMember,
    Topping,
)

DEFAULT_PRODUCTS = 120_000
BATCH_SIZE = 5_000
SEED = 2017  # the year of the talk; any fixed number keeps the shop the same on every machine


def seed(*, products: int = DEFAULT_PRODUCTS) -> dict[str, int]:
    """Create whatever of the demo's data is missing; return how many rows of each were made."""
    if products < 0:
        raise ValueError(f"products must be 0 or more, got {products}")
    with transaction.atomic():
        return {
            "products": _seed_products(products),
            "categories": _seed_categories(),
            "pizzas": _seed_pizzas(),
            "flowers": _seed_flowers(),
            "team members": _seed_team(),
            "orders": _seed_orders(),
        }


def _seed_products(total: int) -> int:
    existing = set(Product.objects.values_list("slug", flat=True))
    types = list(PRODUCT_TYPES)
    rng = random.Random(SEED)
    batch: list[Product] = []
    created = 0
    for number in range(1, total + 1):
        # Draw for every row, made or not, so product N is the same whatever existed before.
        product_type = rng.choice(types)
        adjective = rng.choice(ADJECTIVES)
        cents = rng.randint(199, 19_999)
        slug = f"product-{number}"
        if slug in existing:
            continue
        batch.append(
            Product(
                name=f"{adjective} {PRODUCT_TYPES[product_type]} {number}",
                slug=slug,
                type=product_type,
                price=Decimal(cents).scaleb(-2),
                created=EPOCH + timedelta(minutes=number),
            )
        )
        if len(batch) == BATCH_SIZE:
            created += len(Product.objects.bulk_create(batch))
            batch = []
    if batch:
        created += len(Product.objects.bulk_create(batch))
    return created


def _seed_categories() -> int:
    existing = set(Category.objects.values_list("slug", flat=True))
    missing = [
        Category(name=PRODUCT_TYPES[slug], slug=slug, position=position)
        for position, slug in enumerate(MENU_TYPES, start=1)
        if slug not in existing
    ]
    Category.objects.bulk_create(missing)
    return len(missing)


def _seed_pizzas() -> int:
    existing_suppliers = set(Supplier.objects.values_list("name", flat=True))
    Supplier.objects.bulk_create(
        Supplier(name=name) for name in SUPPLIERS if name not in existing_suppliers
    )
    suppliers = {supplier.name: supplier for supplier in Supplier.objects.all()}

    existing_toppings = set(Topping.objects.values_list("name", flat=True))
    Topping.objects.bulk_create(
        Topping(name=name, supplier=suppliers[supplier])
        for name, supplier in TOPPINGS.items()
        if name not in existing_toppings
    )
    toppings = {topping.name: topping for topping in Topping.objects.all()}

    existing_chefs = set(Chef.objects.values_list("name", flat=True))
    Chef.objects.bulk_create(Chef(name=name) for name in CHEFS if name not in existing_chefs)
    chefs = {chef.name: chef for chef in Chef.objects.all()}

    existing_pizzas = set(Pizza.objects.values_list("name", flat=True))
    rng = random.Random(SEED)
    created = 0
    for index, name in enumerate(PIZZAS):
        picked = rng.sample(sorted(TOPPINGS), rng.randint(3, 6))
        if name in existing_pizzas:
            continue
        pizza = Pizza.objects.create(name=name, chef=chefs[CHEFS[index % len(CHEFS)]])
        pizza.toppings.set([toppings[topping] for topping in picked])
        created += 1
    return created


def _seed_flowers() -> int:
    existing = set(Flower.objects.values_list("slug", flat=True))
    missing = [
        Flower(slug=slug, name=name, price=price, description=description)
        for slug, name, price, description in FLOWERS
        if slug not in existing
    ]
    Flower.objects.bulk_create(missing)
    return len(missing)


def _seed_team() -> int:
    existing = set(TeamMember.objects.values_list("name", flat=True))
    missing = [
        TeamMember(name=name, role=role, position=position)
        for position, (name, role) in enumerate(TEAM, start=1)
        if name not in existing
    ]
    for member in missing:
        member.save()
    return len(missing)


def _seed_orders() -> int:
    existing = set(Order.objects.values_list("number", flat=True))
    created = 0
    for index, (number, email, lines) in enumerate(ORDERS):
        if number in existing:
            continue
        order = Order.objects.create(
            number=number, email=email, created=EPOCH + timedelta(days=30, hours=index)
        )
        OrderLine.objects.bulk_create(
            OrderLine(order=order, product_name=name, quantity=quantity, unit_price=price)
            for name, quantity, price in lines
        )
        created += 1
    return created
