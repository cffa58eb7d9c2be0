from __future__ import annotations

from django.urls import include, path

from tests.testapp import views

urlpatterns = [
    path("test/books/", views.books),
    path("test/books-template/", views.books_template),
    path("test/abooks/", views.abooks),
    path("test/boom/", views.boom),
    path("test/write/", views.write),
    path("test/whoami/", views.whoami),
    path("", include("pagedoctor.demo.urls")),
]
