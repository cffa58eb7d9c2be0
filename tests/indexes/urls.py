"""A page that filters gadgets on their unindexed column, for the index advisor's tests."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.urls import path

from tests.testapp.models import Gadget


def gadgets(request: HttpRequest) -> HttpResponse:
    kind = request.GET.get("kind", "kind-3")
    return HttpResponse("\n".join(g.serial for g in Gadget.objects.filter(kind=kind)))


urlpatterns = [path("test/gadgets/", gadgets)]
