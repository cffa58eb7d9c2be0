from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.template import engines

from tests.testapp.models import Author, Book


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
