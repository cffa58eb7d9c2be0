"""URLs of the demo site: the shop, and the admin to edit what it shows."""

from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include("pagedoctor.demo.shop.urls")),
]
