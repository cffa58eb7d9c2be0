"""The shop's models in the admin, to change data and watch the caches follow."""

from __future__ import annotations

from django.contrib import admin

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

admin.site.register(Category, list_display=["name", "slug", "position"])
admin.site.register(
    Product,
    list_display=["name", "type", "price", "created"],
    search_fields=["name", "slug"],
)
admin.site.register([Chef, Supplier])
admin.site.register(Topping, list_display=["name", "supplier"])
admin.site.register(Pizza, list_display=["name", "chef"], filter_horizontal=["toppings"])
admin.site.register(Flower, list_display=["name", "slug", "price", "updated_at"])
admin.site.register(TeamMember, list_display=["name", "role", "position"])
admin.site.register(Order, list_display=["number", "email", "created"])
admin.site.register(OrderLine, list_display=["order", "product_name", "quantity", "unit_price"])
