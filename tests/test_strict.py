from __future__ import annotations

from pathlib import Path

import pytest
from django.test import override_settings

import pagedoctor
from tests.testapp.models import Author, Book

pytestmark = pytest.mark.django_db

pytest_plugins = ["pytester"]


@pytest.fixture
def books() -> None:
    for i in range(4):
        Book.objects.create(title=f"b{i}", author=Author.objects.create(name=f"a{i}"))


def test_strict_raises_on_n_plus_one_with_the_fix(books: None) -> None:
    with pytest.raises(pagedoctor.NPlusOneError) as raised, pagedoctor.strict():
        [book.author.name for book in Book.objects.all()]  # the loop
    message = str(raised.value)
    assert message.startswith(
        "Book.author is loaded once per book (4 queries) at tests/test_strict.py:"
    )
    assert 'fix: Book.objects.select_related("author") at tests/test_strict.py:' in message
    assert isinstance(raised.value, AssertionError)


def test_strict_raises_on_duplicates(books: None) -> None:
    def twice() -> None:
        with pagedoctor.strict():
            Author.objects.filter(name="a1").exists()
            Author.objects.filter(name="a1").exists()

    with pytest.raises(pagedoctor.DuplicateQueryError, match="runs 2 times"):
        twice()


def test_strict_is_quiet_on_good_code(books: None) -> None:
    with pagedoctor.strict() as rec:
        names = [book.author.name for book in Book.objects.select_related("author")]
    assert len(names) == 4
    assert len(rec.queries) == 1


@pytest.mark.parametrize("entry", ["testapp.Book.author", "tests/test_strict.py"])
def test_allow_by_relation_or_file(books: None, entry: str) -> None:
    with pagedoctor.strict(allow=(entry,)):
        [book.author.name for book in Book.objects.all()]
    with override_settings(PAGEDOCTOR={"ALLOW": [entry]}), pagedoctor.strict():
        [book.author.name for book in Book.objects.all()]


def test_allow_by_line_lets_only_that_line_through(books: None) -> None:
    with (
        pytest.raises(pagedoctor.NPlusOneError),
        pagedoctor.strict(allow=("tests/test_strict.py:1",)),
    ):
        [book.author.name for book in Book.objects.all()]


def test_scaling_assertion_names_the_relation_and_line() -> None:
    def setup(count: int) -> None:
        for i in range(Book.objects.count(), count):
            Book.objects.create(title=f"s{i}", author=Author.objects.create(name=f"s{i}"))

    def run() -> None:
        [book.author.name for book in Book.objects.all()]  # grows

    with pytest.raises(pagedoctor.ScalingError) as raised:
        pagedoctor.assert_no_scaling(run, setup=setup, n=3)
    message = str(raised.value)
    assert message.startswith("4 queries for 3 rows, 7 for 6: 1 more per row")
    assert "Book.author grows by 1 query per row at tests/test_strict.py:" in message


def test_scaling_assertion_passes_when_constant() -> None:
    def setup(count: int) -> None:
        for i in range(Book.objects.count(), count):
            Book.objects.create(title=f"c{i}", author=Author.objects.create(name=f"c{i}"))

    ran: list[int] = []

    def run() -> None:
        ran.append(len(Book.objects.select_related("author")))

    pagedoctor.assert_no_scaling(run, setup=setup, n=2)
    assert ran == [2, 4]


def test_the_pytest_marker_and_fixture(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = Path(__file__).parent.parent
    # The inner run uses its own in-memory SQLite, not this run's test database.
    monkeypatch.setenv("PAGEDOCTOR_TEST_DB", "sqlite")
    pytester.makeini(f"[pytest]\nDJANGO_SETTINGS_MODULE = tests.settings\npythonpath = {root}\n")
    pytester.makepyfile(
        """
        import pytest
        from tests.testapp.models import Author, Book

        @pytest.fixture
        def books(db):
            for i in range(3):
                Book.objects.create(title=str(i), author=Author.objects.create(name=str(i)))

        @pytest.mark.pagedoctor_strict
        def test_marked_n_plus_one(books):
            [b.author.name for b in Book.objects.all()]

        @pytest.mark.pagedoctor_strict(allow=["testapp.Book.author"])
        def test_marked_allowed(books):
            [b.author.name for b in Book.objects.all()]

        def test_fixture_duplicate(books, pagedoctor_strict):
            Author.objects.count()
            Author.objects.count()

        def test_unmarked(books):
            [b.author.name for b in Book.objects.all()]
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:randomly", "-p", "no:cacheprovider")
    # The marker fails the test; the fixture checks at teardown, so the test errors.
    result.assert_outcomes(passed=3, failed=1, errors=1)
    result.stdout.fnmatch_lines(
        ["*NPlusOneError: Book.author is loaded once per book (3 queries)*"]
    )
    result.stdout.fnmatch_lines(["*DuplicateQueryError: The same query runs 2 times*"])
