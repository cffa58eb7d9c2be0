"""The shop's models, simple on purpose: the talk's examples, plus what the pages need."""

from __future__ import annotations

from decimal import Decimal

from django.db import models
from django.utils.functional import cached_property


class Category(models.Model):
    """A product type listed in the menu that every page shows."""

    name = models.CharField(max_length=50)
    slug = models.SlugField(max_length=30, unique=True)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position", "name"]
        verbose_name_plural = "categories"

    def __str__(self) -> str:
        return self.name


class Product(models.Model):
    name = models.CharField(max_length=100)
    slug = models.SlugField(max_length=50, unique=True)
    # No index on purpose: the product list filters on it over 100,000+ rows (missing_index).
    type = models.CharField(max_length=30)
    price = models.DecimalField(max_digits=8, decimal_places=2)
    created = models.DateTimeField()

    def __str__(self) -> str:
        return self.name

    def count_similar_products(self) -> int:
        """Count the products of the same type: one query on every call (the talk's example)."""
        return Product.objects.filter(type=self.type).count()

    @cached_property
    def similar_products_count(self) -> int:
        """Count the products of the same type once for this instance: the talk's fix."""
        return self.count_similar_products()


class Chef(models.Model):
    name = models.CharField(max_length=50)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Supplier(models.Model):
    name = models.CharField(max_length=50)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Topping(models.Model):
    name = models.CharField(max_length=30)
    supplier = models.ForeignKey(Supplier, on_delete=models.PROTECT, related_name="toppings")

    class Meta:
        # A fixed order, so a pizza's toppings read the same whether prefetched or not.
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Pizza(models.Model):
    name = models.CharField(max_length=30)
    chef = models.ForeignKey(Chef, on_delete=models.PROTECT, related_name="pizzas")
    toppings = models.ManyToManyField(Topping, related_name="pizzas")

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        # One query per pizza unless the toppings were prefetched (the talk's example).
        return f"{self.name} ({', '.join(topping.name for topping in self.toppings.all())})"


class Flower(models.Model):
    name = models.CharField(max_length=50)
    slug = models.SlugField(max_length=50, unique=True)
    description = models.TextField()
    price = models.DecimalField(max_digits=6, decimal_places=2)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return self.name


class TeamMember(models.Model):
    name = models.CharField(max_length=50)
    role = models.CharField(max_length=50)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position", "name"]

    def __str__(self) -> str:
        return self.name


class Order(models.Model):
    number = models.CharField(max_length=20, unique=True)
    email = models.EmailField()
    created = models.DateTimeField()

    def __str__(self) -> str:
        return f"Order {self.number}"


class OrderLine(models.Model):
    """One product in an order, with its name and price as they were when it was ordered."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    product_name = models.CharField(max_length=100)
    quantity = models.PositiveIntegerField(default=1)
    unit_price = models.DecimalField(max_digits=8, decimal_places=2)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.product_name}"

    @property
    def total(self) -> Decimal:
        return self.quantity * self.unit_price
