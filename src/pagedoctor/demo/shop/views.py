"""The shop's pages: each slow page, and beside it a fixed twin with the talk's advice applied.

A slow page and its twin render the same main content; only how they get it differs. Links
always point at the slow pages, so that the bodies of the two compare equal. Slow pages use
``shop/base.html`` (menu and footer queried on every request); fixed ones ``shop/base_fixed.html``
(both cached as template fragments).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from django.core.mail import send_mail
from django.db.models import Count, Sum
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from pagedoctor.demo.shop.caching import flower_by_slug
from pagedoctor.demo.shop.catalog import DEFAULT_PRODUCT_TYPE, PRODUCT_TYPES
from pagedoctor.demo.shop.mail import send_mail_after_commit
from pagedoctor.demo.shop.models import (
    Category,
    Chef,
    Flower,
    Order,
    OrderLine,
    Pizza,
    Product,
    TeamMember,
)

SLOW = "shop/base.html"
FIXED = "shop/base_fixed.html"

CENT = Decimal("0.01")
RECENTLY_VIEWED = 5


def _type_name(product_type: str) -> str:
    return PRODUCT_TYPES.get(product_type, product_type)


def home(request: HttpRequest) -> HttpResponse:
    """Show the menu, a few featured products and the footer."""
    featured = Product.objects.order_by("pk")[:6]
    return render(request, "shop/home.html", {"base_template": SLOW, "featured": featured})


def home_fixed(request: HttpRequest) -> HttpResponse:
    """Show the home page with the menu and the footer cached as template fragments."""
    featured = Product.objects.order_by("pk")[:6]
    return render(request, "shop/home.html", {"base_template": FIXED, "featured": featured})


def product_list(request: HttpRequest) -> HttpResponse:
    """List the 50 newest products of one type (``?type=``)."""
    product_type = request.GET.get("type", DEFAULT_PRODUCT_TYPE)
    # Missing index on purpose: Product.type has none, so the database reads every product to
    # find one type's. The fix is an index (a migration), not other code, so no fixed twin.
    products = Product.objects.filter(type=product_type).order_by("-created")[:50]
    context = {
        "base_template": SLOW,
        "products": products,
        "type_name": _type_name(product_type),
    }
    return render(request, "shop/product_list.html", context)


def _remember(request: HttpRequest, product: Product) -> None:
    """Remember ``product`` among the last products this visitor looked at."""
    # Sessions live in the database here, so this costs queries on every product page.
    seen = [slug for slug in request.session.get("recently_viewed", []) if slug != product.slug]
    request.session["recently_viewed"] = [product.slug, *seen][:RECENTLY_VIEWED]


def product_detail(request: HttpRequest, slug: str) -> HttpResponse:
    """Show a product and how many products of its type there are."""
    product = get_object_or_404(Product, slug=slug)
    _remember(request, product)
    # Double evaluation on purpose: the template calls product.count_similar_products twice,
    # and each call counts the type's products again.
    context = {"base_template": SLOW, "product": product, "type_name": _type_name(product.type)}
    return render(request, "shop/product_detail.html", context)


def product_detail_fixed(request: HttpRequest, slug: str) -> HttpResponse:
    """Show a product, counting its type's products once (``cached_property``)."""
    product = get_object_or_404(Product, slug=slug)
    _remember(request, product)
    context = {"base_template": FIXED, "product": product, "type_name": _type_name(product.type)}
    return render(request, "shop/product_detail_fixed.html", context)


def pizza_list(request: HttpRequest) -> HttpResponse:
    """List every pizza with its toppings and its chef."""
    # N+1 on purpose: in the template, {{ pizza }} queries each pizza's toppings and
    # {{ pizza.chef.name }} its chef, two queries per pizza.
    pizzas = Pizza.objects.all()
    return render(request, "shop/pizza_list.html", {"base_template": SLOW, "pizzas": pizzas})


def pizza_list_fixed(request: HttpRequest) -> HttpResponse:
    """List every pizza in two queries: prefetch the toppings, join the chef."""
    # prefetch_related for the many-to-many (select_related cannot follow one, the talk's slip),
    # select_related for the foreign key.
    pizzas = Pizza.objects.prefetch_related("toppings").select_related("chef")
    return render(request, "shop/pizza_list.html", {"base_template": FIXED, "pizzas": pizzas})


@dataclass(frozen=True)
class PizzaRow:
    label: str
    chef_name: str


async def pizza_list_async(request: HttpRequest) -> HttpResponse:
    """List every pizza from an async view: the same N+1, as awaited queries."""
    pizzas = [pizza async for pizza in Pizza.objects.all()]
    rows = []
    for pizza in pizzas:
        # N+1 on purpose: one awaited query for each pizza's toppings, one for its chef.
        toppings = [topping.name async for topping in pizza.toppings.all()]
        chef = await Chef.objects.aget(pk=pizza.chef_id)
        rows.append(PizzaRow(label=f"{pizza.name} ({', '.join(toppings)})", chef_name=chef.name))
    # Templates cannot query from async code, so the layout's lazy values are fetched here.
    menu_categories = [category async for category in Category.objects.all()]
    product_count = await Product.objects.acount()
    context = {
        "base_template": SLOW,
        "pizzas": rows,
        "menu_categories": menu_categories,
        "product_count": product_count,
    }
    return render(request, "shop/pizza_list_async.html", context)


def flower_detail(request: HttpRequest, slug: str) -> HttpResponse:
    """Show a flower."""
    flower = get_object_or_404(Flower, slug=slug)
    return render(request, "shop/flower_detail.html", {"base_template": SLOW, "flower": flower})


def flower_detail_fixed(request: HttpRequest, slug: str) -> HttpResponse:
    """Show a flower from pagedoctor's cache, invalidated when a write to it commits."""
    flower = flower_by_slug(slug)
    if flower is None:
        raise Http404(f"No flower is called {slug!r}")
    return render(request, "shop/flower_detail.html", {"base_template": FIXED, "flower": flower})


def team(request: HttpRequest) -> HttpResponse:
    """Show the team."""
    members = TeamMember.objects.all()
    return render(request, "shop/team.html", {"base_template": SLOW, "members": members})


def team_fixed(request: HttpRequest) -> HttpResponse:
    """Show the team from a cached fragment, invalidated when a team change commits."""
    # Lazy: the queryset runs only when the {% cached %} fragment misses.
    members = TeamMember.objects.all()
    return render(request, "shop/team_fixed.html", {"base_template": FIXED, "members": members})


@dataclass(frozen=True)
class ReportRow:
    type: str
    name: str
    count: int
    total: Decimal

    @property
    def average(self) -> Decimal:
        return (self.total / self.count).quantize(CENT) if self.count else Decimal(0)


def _report_context(base_template: str, rows: list[ReportRow]) -> dict[str, object]:
    count = sum(row.count for row in rows)
    total = sum((row.total for row in rows), Decimal(0))
    overall = ReportRow(type="", name="All products", count=count, total=total)
    return {"base_template": base_template, "rows": rows, "overall": overall}


def report(request: HttpRequest) -> HttpResponse:
    """Report how many products of each type there are, and their average price."""
    products = Product.objects.all()
    counts: dict[str, int] = defaultdict(int)
    totals: dict[str, Decimal] = defaultdict(Decimal)
    # Slow on purpose: every product is loaded into Python to be counted and added up there.
    for product in products:
        counts[product.type] += 1
        totals[product.type] += product.price
    rows = [
        ReportRow(type=t, name=_type_name(t), count=counts[t], total=totals[t])
        for t in sorted(counts)
    ]
    return render(request, "shop/report.html", _report_context(SLOW, rows))


def report_fixed(request: HttpRequest) -> HttpResponse:
    """Report the same numbers from one aggregate query: twenty rows come back, not all."""
    # Sum rather than Avg: SQLite averages in floating point, and the report must match the slow
    # one to the cent. The total is exact to the cent, so rounding it undoes float error.
    per_type = Product.objects.values("type").annotate(count=Count("id"), total=Sum("price"))
    rows = sorted(
        (
            ReportRow(
                type=row["type"],
                name=_type_name(row["type"]),
                count=row["count"],
                total=Decimal(row["total"]).quantize(CENT),
            )
            for row in per_type
        ),
        key=lambda row: row.type,
    )
    return render(request, "shop/report.html", _report_context(FIXED, rows))


def _confirmation(order: Order, lines: list[OrderLine]) -> tuple[str, str]:
    """Return the subject and body of the email that confirms ``order``."""
    total = sum((line.total for line in lines), Decimal(0))
    items = "".join(f"{line.quantity} x {line.product_name}: ${line.total}\n" for line in lines)
    body = (
        f"Thank you for your order {order.number}.\n\n{items}\nTotal: ${total}\n\nThe demo shop\n"
    )
    return f"Your order {order.number}", body


def _thanks_context(base_template: str, order: Order, lines: list[OrderLine]) -> dict[str, object]:
    total = sum((line.total for line in lines), Decimal(0))
    return {"base_template": base_template, "order": order, "lines": lines, "total": total}


def order_thanks(request: HttpRequest, number: str) -> HttpResponse:
    """Thank the customer for an order and email them a confirmation."""
    order = get_object_or_404(Order, number=number)
    lines = list(order.lines.all())
    subject, body = _confirmation(order, lines)
    # Blocking on purpose: the customer waits while the mail server is talked to. (A real shop
    # sends once, after the POST that places the order; the demo sends on every visit.)
    send_mail(subject, body, None, [order.email])
    return render(request, "shop/order_thanks.html", _thanks_context(SLOW, order, lines))


def order_thanks_fixed(request: HttpRequest, number: str) -> HttpResponse:
    """Thank the customer at once; send the same confirmation after commit, in the background."""
    order = get_object_or_404(Order, number=number)
    lines = list(order.lines.all())
    subject, body = _confirmation(order, lines)
    send_mail_after_commit(subject, body, [order.email])
    return render(request, "shop/order_thanks.html", _thanks_context(FIXED, order, lines))
