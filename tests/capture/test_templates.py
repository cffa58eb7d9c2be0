from __future__ import annotations

import pytest
from django.template import engines

import pagedoctor
from tests.testapp.models import Author, Book

pytestmark = pytest.mark.django_db


def test_renders_are_recorded_with_depth() -> None:
    engine = engines["django"]
    outer = engine.from_string("{% for i in items %}{% include inner %}{% endfor %}")
    inner = engine.from_string("[{{ i }}]")
    with pagedoctor.record() as rec:
        html = outer.render({"items": [1, 2], "inner": inner.template})
    assert html == "[1][2]"
    depths = sorted(t.depth for t in rec.templates)
    assert depths == [0, 1, 1]
    assert rec.template_ms == pytest.approx(
        sum(t.duration_ms for t in rec.templates if t.depth == 0)
    )


def test_query_made_in_a_template_knows_the_template_line(client: object) -> None:
    author = Author.objects.create(name="a")
    Book.objects.create(title="t", author=author)
    with pagedoctor.record() as rec:
        response = client.get("/test/books-template/")  # type: ignore[attr-defined]
    assert response.status_code == 200
    author_query = next(q for q in rec.queries if "testapp_author" in q.sql)
    assert author_query.template is not None
    assert author_query.template.line == 2  # {{ book.author.name }} is on the second line
    assert author_query.callsite is not None
    assert author_query.callsite.function == "books_template"
    # Template time excludes what the template waited on the database for.
    rendering = sum(t.duration_ms for t in rec.templates if t.depth == 0)
    in_template = sum(q.duration_ms for q in rec.queries if q.template is not None)
    assert rec.template_ms == pytest.approx(rendering - in_template)
