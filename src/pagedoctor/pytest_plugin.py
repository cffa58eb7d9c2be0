"""pytest plugin: fail a test that runs N+1 or duplicate queries.

::

    @pytest.mark.pagedoctor_strict
    def test_pizza_list(client): ...

    @pytest.mark.pagedoctor_strict(allow=["shop.Pizza.chef"])
    def test_menu(client): ...

    def test_menu(client, pagedoctor_strict):   # the same, as a fixture (fails at teardown)
        ...
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "pagedoctor_strict(allow=()): fail the test if it runs N+1 or duplicate queries",
    )


@pytest.fixture
def pagedoctor_strict(request: pytest.FixtureRequest) -> Iterator[object]:
    """Record the test; fail it on N+1 or duplicate queries, with the fix in the message."""
    from pagedoctor.strict import strict

    marker = request.node.get_closest_marker("pagedoctor_strict")
    allow = tuple(marker.kwargs.get("allow", ())) if marker else ()
    with strict(allow=allow) as recording:
        yield recording


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    """Run a marked test's body in strict mode, so waste fails the test itself."""
    marker = item.get_closest_marker("pagedoctor_strict")
    if marker is None or "pagedoctor_strict" in getattr(item, "fixturenames", ()):
        return (yield)
    from pagedoctor.strict import strict

    with strict(allow=tuple(marker.kwargs.get("allow", ()))):
        return (yield)
