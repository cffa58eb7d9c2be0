"""A site for page discovery: routes with parameters, unsafe views, a sitemap index, links."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.views import LogoutView
from django.http import HttpRequest, HttpResponse
from django.urls import include, path, re_path

from tests.testapp import views
from tests.testapp.models import Book

_SITEMAP = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<{0} xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
    'xmlns:image="http://www.google.com/schemas/sitemap-image/1.1">{1}</{0}>'
)


def sitemap_index(request: HttpRequest) -> HttpResponse:
    entries = "".join(
        f"<sitemap><loc>http://example.com/sitemap-{name}.xml</loc></sitemap>"
        for name in ("books", "pages")
    )
    return HttpResponse(_SITEMAP.format("sitemapindex", entries), content_type="application/xml")


def sitemap_section(request: HttpRequest, section: str) -> HttpResponse:
    if section == "books":
        locations = [
            f"/test/books/{pk}/" for pk in Book.objects.order_by("pk").values_list("pk", flat=True)
        ]
    else:
        locations = ["/test/links/", "/backoffice/"]
    entries = "".join(
        f"<url><loc>http://example.com{location}</loc>"
        "<image:image><image:loc>http://example.com/media/cover.jpg</image:loc></image:image></url>"
        for location in locations
    )
    return HttpResponse(_SITEMAP.format("urlset", entries), content_type="application/xml")


shop_patterns = [path("<slug:shop>/items/<int:pk>/", views.item)]

urlpatterns = [
    path("backoffice/", admin.site.urls),
    path("sitemap.xml", sitemap_index),
    path("sitemap-<str:section>.xml", sitemap_section),
    path("test/books/", views.books),
    path("test/books/add/", views.add_book),
    path("test/books/rate/", views.rate_book),
    path("test/books/search/", views.search),
    path("test/books/<int:pk>/", views.BookDetail.as_view()),
    path("test/books/<int:pk>/erase/", views.BookErase.as_view()),
    path("test/published/<str:title>/", views.PublishedBookDetail.as_view()),
    path("test/authors/<str:name>/", views.author_detail),
    path("test/authors/<int:author_id>/books/", views.author_books),
    path("test/users/<str:username>/", views.user_profile),
    path("test/items/<int:pk>/", views.item),
    path("test/publishers/<int:pk>/", views.publisher),
    re_path(r"^test/tags/(?P<pk>[0-9]+)/$", views.tag),
    path("test/tags/<int:pk>/x/", views.remove_tag),
    path("test/hook/", views.Hook.as_view()),
    path("test/session/end/", LogoutView.as_view()),
    path("test/sign-out/", views.whoami),  # only its path says what it does
    path("test/links/", views.links),
    path("test/whoami/", views.whoami),
    path("test/shops/", include(shop_patterns)),
]
