from __future__ import annotations

import sysconfig
from pathlib import Path

import pytest
from django.db.models import QuerySet

from pagedoctor.capture import callsite


def code_at(path: str) -> object:
    return compile("pass", path, "exec")


def test_the_sites_code_is_user_code() -> None:
    assert callsite.is_user_code(test_the_sites_code_is_user_code.__code__)


@pytest.mark.parametrize(
    "where",
    [
        QuerySet.get.__code__.co_filename,  # Django
        pytest.__file__,  # an installed library
        sysconfig.get_paths()["stdlib"] + "/json/decoder.py",
        sysconfig.get_paths()["scripts"] + "/pagedoctor",  # a console-script launcher
        callsite.__file__,  # pagedoctor's own machinery
        "<frozen importlib._bootstrap>",
    ],
)
def test_libraries_are_not_user_code(where: str) -> None:
    assert not callsite.is_user_code(code_at(where))  # type: ignore[arg-type]


def test_the_bundled_demo_is_user_code() -> None:
    from pagedoctor.demo.shop import views

    assert callsite.is_user_code(code_at(views.__file__))  # type: ignore[arg-type]
    assert Path(views.__file__).parent.parent.name == "demo"
