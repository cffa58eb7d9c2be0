"""Models whose deletes the database cascades itself (Django 6.1's DB_CASCADE): no SQL of
Django's and no signals name the child rows, so only the foreign key graph can tell."""

from __future__ import annotations

from django.db import models


class Shelf(models.Model):
    name = models.CharField(max_length=30)


class Jar(models.Model):
    label = models.CharField(max_length=30)
    shelf = models.ForeignKey(Shelf, on_delete=models.DB_CASCADE, related_name="jars")


class Lid(models.Model):
    jar = models.ForeignKey(Jar, on_delete=models.DB_CASCADE, related_name="lids")
