"""URLs of the views in :mod:`tests.cache.views`, named as the views are."""

from __future__ import annotations

from django.urls import path

from tests.cache import views

urlpatterns = [
    path("authors/", views.authors),
    path("authors/<int:pk>/", views.author),
    path("aauthors/", views.aauthors),
    path("books-template/", views.books_template),
    path("author-list/", views.AuthorList.as_view()),
    path("async-author-list/", views.AsyncAuthorList.as_view()),
    path("page-view/", views.page_view),
    path("async-page-view/", views.async_page_view),
    path("raising/", views.raising),
    path("status/<int:code>/", views.status),
    path("streaming/", views.streaming),
    path("file/", views.file),
    path("place/", views.place),
    path("tuned/", views.tuned),
    path("own-cache-control/", views.own_cache_control),
    path("menu/", views.menu),
    path("vary-on/", views.vary_on),
    path("whoami/", views.whoami),
    path("whoami-per-user/", views.whoami_per_user),
    path("awhoami/", views.awhoami),
    path("awhoami-per-user/", views.awhoami_per_user),
    path("cart-per-user/", views.cart_per_user),
    path("adds-to-session/", views.adds_to_session),
    path("sets-cookie/", views.sets_cookie),
    path("sets-cookie-per-user/", views.sets_cookie_per_user),
    path("sets-cookie-header/", views.sets_cookie_header),
    path("form/", views.form),
    path("form-per-user/", views.form_per_user),
    path("form-template/", views.form_template),
    path("header/", views.header),
    path("authorization/", views.authorization),
    path("public/", views.public),
]
