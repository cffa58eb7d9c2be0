from __future__ import annotations

import re
from pathlib import Path

import pagedoctor

API_DOC = Path(__file__).parent.parent / "docs" / "api.md"


def test_all_matches_the_documented_api() -> None:
    documented = set(re.findall(r"^\| `(\w+)", API_DOC.read_text(), flags=re.MULTILINE))
    assert documented == set(pagedoctor.__all__)


def test_everything_in_all_is_importable() -> None:
    for name in pagedoctor.__all__:
        assert getattr(pagedoctor, name) is not None
