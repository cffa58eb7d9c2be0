from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.template import engines
from django.views import View
from django.views.decorators.http import require_http_methods, require_POST
from django.views.generic import DeleteView, DetailView

from tests.testapp.models import Author, Book, Publisher, Tag


def books(request: HttpRequest) -> HttpResponse:
    titles = [f"{book.title} by {book.author.name}" for book in Book.objects.order_by("id")]
    return HttpResponse("\n".join(titles))


def books_template(request: HttpRequest) -> HttpResponse:
    template = engines["django"].from_string(
        "{% for book in books %}{{ book.title }} by\n{{ book.author.name }};{% endfor %}"
    )
    return HttpResponse(template.render({"books": Book.objects.order_by("id")}))


async def abooks(request: HttpRequest) -> HttpResponse:
    first = await Author.objects.order_by("id").afirst()
    titles = [book.title async for book in Book.objects.order_by("id")]
    return HttpResponse(f"{first.name if first else ''}: {', '.join(titles)}")


def boom(request: HttpRequest) -> HttpResponse:
    Author.objects.count()
    raise ValueError("boom")


def write(request: HttpRequest) -> HttpResponse:
    Author.objects.create(name=f"written {Author.objects.count()}")
    return HttpResponse("written")


def whoami(request: HttpRequest) -> HttpResponse:
    return HttpResponse(request.user.get_username())


# Views for the audit's page discovery (tests/audit/site_urls.py routes them).


class BookDetail(DetailView):  # type: ignore[type-arg]
    model = Book

    def render_to_response(self, context: dict[str, Any], **kwargs: Any) -> HttpResponse:
        book = context["object"]
        author = f'<a href="/test/authors/{book.author.name}/">{book.author.name}</a>'
        return HttpResponse(f"<h1>{book.title}</h1><p>by {author}</p>")


class PublishedBookDetail(BookDetail):
    """Only the books whose title starts with "P" (as a site shows only published ones)."""

    queryset = Book.objects.filter(title__startswith="P")
    slug_field = "title"
    slug_url_kwarg = "title"


def author_detail(request: HttpRequest, name: str) -> HttpResponse:
    author = Author.objects.get(name=name)
    return HttpResponse(f"<h1>{author.name}</h1>")


def author_books(request: HttpRequest, author_id: int) -> HttpResponse:
    return HttpResponse(", ".join(b.title for b in Book.objects.filter(author_id=author_id)))


def user_profile(request: HttpRequest, username: str) -> HttpResponse:
    return HttpResponse(username)


def item(request: HttpRequest, pk: int) -> HttpResponse:
    return HttpResponse(str(pk))


def publisher(request: HttpRequest, pk: int) -> HttpResponse:
    return HttpResponse(Publisher.objects.get(pk=pk).name)


def tag(request: HttpRequest, pk: str) -> HttpResponse:
    return HttpResponse(Tag.objects.get(pk=pk).name)


@require_POST
def add_book(request: HttpRequest) -> HttpResponse:
    return HttpResponse("added")


@login_required
@require_http_methods(["POST", "PUT"])
async def rate_book(request: HttpRequest) -> HttpResponse:
    return HttpResponse("rated")


@require_http_methods(["GET", "POST"])
def search(request: HttpRequest) -> HttpResponse:
    return HttpResponse("results")


def remove_tag(request: HttpRequest, pk: int) -> HttpResponse:
    return HttpResponse("removed")


class BookErase(DeleteView):  # type: ignore[type-arg]
    model = Book


class Hook(View):
    def post(self, request: HttpRequest) -> HttpResponse:
        return HttpResponse("hooked")


def links(request: HttpRequest) -> HttpResponse:
    """Link to every book, and to what a crawl must not follow."""
    books = "".join(
        f'<a href="/test/books/{pk}/">book</a>'
        for pk in Book.objects.values_list("pk", flat=True).order_by("pk")
    )
    return HttpResponse(
        f"<html><body>{books}"
        '<a href="/test/session/end/">log out</a> <a href="/test/books/add/">add</a>'
        '<a href="/test/delete-everything/">oops</a> <a href="https://example.com/x/">out</a>'
        '<a href="mailto:a@example.com">mail</a> <a href="#top">top</a>'
        '<a href="/static/a.css">css</a> <a href="/admin/">admin</a>'
        '<a href="/test/books/?sort=title&amp;page=2">sorted</a>'
        '<a href="/test/no-such-page/">missing</a> <a href="/test/whoami/" download>file</a>'
        "</body></html>"
    )
