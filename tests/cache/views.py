"""Views cached with ``@cache_view``, each counting its runs so tests can tell a hit."""

from __future__ import annotations

import io
from collections import Counter

from django.http import (
    FileResponse,
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    StreamingHttpResponse,
)
from django.middleware.csrf import get_token
from django.template import engines
from django.template.response import TemplateResponse
from django.utils import timezone, translation
from django.utils.decorators import method_decorator
from django.views import View

from pagedoctor.cache.views import cache_view
from tests.testapp.models import Author, Book

# How many times each view ran; a hit leaves its count alone.
runs: Counter[str] = Counter()
# Values no SQL reads, changed by tests to show what is (and is not) served again.
outside: dict[str, object] = {"raise": False, "menu": "soup"}


def _authors() -> str:
    return ", ".join(Author.objects.order_by("name").values_list("name", flat=True))


@cache_view(60)
def authors(request: HttpRequest) -> HttpResponse:
    runs["authors"] += 1
    return HttpResponse(_authors())


@cache_view(60)
def author(request: HttpRequest, pk: int) -> HttpResponse:
    runs["author"] += 1
    return HttpResponse(Author.objects.get(pk=pk).name)


@cache_view(60)
async def aauthors(request: HttpRequest) -> HttpResponse:
    runs["aauthors"] += 1
    names = [a.name async for a in Author.objects.order_by("name")]
    return HttpResponse(", ".join(names))


@cache_view(60)
def books_template(request: HttpRequest) -> TemplateResponse:
    runs["books_template"] += 1
    template = engines["django"].from_string(
        "{% for book in books %}{{ book.title }} by {{ book.author.name }};{% endfor %}"
    )
    # Lazy: the queries run when the response renders, which must be inside the computation.
    return TemplateResponse(request, template, {"books": Book.objects.order_by("id")})


class AuthorList(View):
    @method_decorator(cache_view(60))
    def get(self, request: HttpRequest) -> HttpResponse:
        runs["AuthorList"] += 1
        return HttpResponse(_authors())


class AsyncAuthorList(View):
    @method_decorator(cache_view(60))
    async def get(self, request: HttpRequest) -> HttpResponse:
        runs["AsyncAuthorList"] += 1
        names = [a.name async for a in Author.objects.order_by("name")]
        return HttpResponse(", ".join(names))


@cache_view(60)
def raising(request: HttpRequest) -> HttpResponse:
    runs["raising"] += 1
    if outside["raise"]:
        raise ValueError("the view failed")
    return HttpResponse(_authors())


@cache_view(60)
def status(request: HttpRequest, code: int) -> HttpResponse:
    runs["status"] += 1
    return HttpResponse(_authors(), status=code)


@cache_view(60)
def streaming(request: HttpRequest) -> HttpResponseBase:
    runs["streaming"] += 1
    return StreamingHttpResponse(iter([_authors()]))


@cache_view(60)
def file(request: HttpRequest) -> HttpResponseBase:
    runs["file"] += 1
    return FileResponse(io.BytesIO(_authors().encode()))


@cache_view(60)
def place(request: HttpRequest) -> HttpResponse:
    runs["place"] += 1
    return HttpResponse(f"{translation.get_language()} {timezone.get_current_timezone_name()}")


@cache_view(60, max_age=30, s_maxage=600, stale_while_revalidate=15)
def tuned(request: HttpRequest) -> HttpResponse:
    runs["tuned"] += 1
    return HttpResponse(_authors())


@cache_view(60, max_age=30)
def own_cache_control(request: HttpRequest) -> HttpResponse:
    runs["own_cache_control"] += 1
    response = HttpResponse(_authors())
    response["Cache-Control"] = "max-age=10, must-revalidate"
    return response


@cache_view(60, tags=["menu"])
def menu(request: HttpRequest) -> HttpResponse:
    runs["menu"] += 1
    return HttpResponse(str(outside["menu"]))


@cache_view(60)
def vary_on(request: HttpRequest) -> HttpResponse:
    """Answer with the X-Token and X-Other headers as seen, varying on both."""
    runs["vary_on"] += 1
    response = HttpResponse(repr([request.headers.get("X-Token"), request.headers.get("X-Other")]))
    response["Vary"] = "X-Token, X-Other"
    return response


# Privacy: each does one thing that makes a page personal.


@cache_view(60)
def whoami(request: HttpRequest) -> HttpResponse:
    runs["whoami"] += 1
    return HttpResponse(f"{request.user.get_username()}: {_authors()}")


@cache_view(60, per_user=True)
def whoami_per_user(request: HttpRequest) -> HttpResponse:
    runs["whoami_per_user"] += 1
    return HttpResponse(f"{request.user.get_username()}: {_authors()}")


@cache_view(60, per_user=True)
async def awhoami_per_user(request: HttpRequest) -> HttpResponse:
    runs["awhoami_per_user"] += 1
    user = await request.auser()
    names = [a.name async for a in Author.objects.order_by("name")]
    return HttpResponse(f"{user.get_username()}: {', '.join(names)}")


@cache_view(60)
async def awhoami(request: HttpRequest) -> HttpResponse:
    runs["awhoami"] += 1
    user = await request.auser()
    return HttpResponse(user.get_username())


@cache_view(60, per_user=True)
def cart_per_user(request: HttpRequest) -> HttpResponse:
    runs["cart_per_user"] += 1
    return HttpResponse(repr(request.session.get("cart", [])))


@cache_view(60, per_user=True)
def adds_to_session(request: HttpRequest) -> HttpResponse:
    runs["adds_to_session"] += 1
    request.session["seen"] = True  # the same value each time: the session's contents settle
    return HttpResponse("noted")


@cache_view(60)
def sets_cookie(request: HttpRequest) -> HttpResponse:
    runs["sets_cookie"] += 1
    response = HttpResponse(_authors())
    response.set_cookie("flavour", f"visitor-{runs['sets_cookie']}")
    response["Vary"] = "Cookie"
    return response


@cache_view(60, per_user=True)
def sets_cookie_per_user(request: HttpRequest) -> HttpResponse:
    runs["sets_cookie_per_user"] += 1
    response = HttpResponse(_authors())
    response.set_cookie("flavour", f"visitor-{runs['sets_cookie_per_user']}")
    return response


@cache_view(60, per_user=True)
def sets_cookie_header(request: HttpRequest) -> HttpResponse:
    runs["sets_cookie_header"] += 1
    response = HttpResponse(_authors())
    response["Set-Cookie"] = f"flavour=visitor-{runs['sets_cookie_header']}"
    return response


@cache_view(60)
def form(request: HttpRequest) -> HttpResponse:
    runs["form"] += 1
    return HttpResponse(get_token(request))


@cache_view(60, per_user=True)
def form_per_user(request: HttpRequest) -> HttpResponse:
    runs["form_per_user"] += 1
    return HttpResponse(get_token(request))


@cache_view(60)
def form_template(request: HttpRequest) -> TemplateResponse:
    runs["form_template"] += 1
    template = engines["django"].from_string("<form>{% csrf_token %}</form>")
    return TemplateResponse(request, template, {})


@cache_view(60)
def header(request: HttpRequest) -> HttpResponse:
    """Set the response header named by ``?name=`` to ``?value=``, as a view may by hand."""
    runs["header"] += 1
    response = HttpResponse(_authors())
    response[request.GET["name"]] = request.GET["value"]
    return response


@cache_view(60)
def authorization(request: HttpRequest) -> HttpResponse:
    runs["authorization"] += 1
    return HttpResponse(f"for {request.headers.get('Authorization')}")


@cache_view(60)
def public(request: HttpRequest) -> HttpResponse:
    runs["public"] += 1
    return HttpResponse(_authors())


class PageView(View):
    def get(self, request: HttpRequest) -> HttpResponse:
        runs["PageView"] += 1
        return HttpResponse(_authors())


class AsyncPageView(View):
    async def get(self, request: HttpRequest) -> HttpResponse:
        runs["AsyncPageView"] += 1
        names = [a.name async for a in Author.objects.order_by("name")]
        return HttpResponse(", ".join(names))


page_view = cache_view(60)(PageView.as_view())
async_page_view = cache_view(60)(AsyncPageView.as_view())
