from __future__ import annotations

from django.db import models


class Publisher(models.Model):
    name = models.CharField(max_length=50)


class Author(models.Model):
    name = models.CharField(max_length=50, unique=True)


class Tag(models.Model):
    name = models.CharField(max_length=30)


class Book(models.Model):
    title = models.CharField(max_length=100)
    author = models.ForeignKey(Author, on_delete=models.CASCADE, related_name="books")
    publisher = models.ForeignKey(Publisher, null=True, on_delete=models.SET_NULL)
    tags = models.ManyToManyField(Tag, related_name="books")

    def __str__(self) -> str:
        return self.title


class Gadget(models.Model):
    """Indexed in every way the index advisor must recognise as already covering a query."""

    kind = models.CharField(max_length=20)  # no index: the advisor should propose one
    color = models.CharField(max_length=20, db_index=True)
    serial = models.CharField(max_length=20, unique=True)
    maker = models.CharField(max_length=20)
    size = models.IntegerField()
    created = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["maker", "size"], name="testapp_gadget_maker_size")]
