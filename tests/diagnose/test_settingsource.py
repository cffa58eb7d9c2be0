from __future__ import annotations

from pathlib import Path

import pagedoctor.demo.settings
import tests.settings
from pagedoctor.diagnose.settingsource import setting_place, settings_file


def line_of(module: object, start: str) -> int:
    lines = Path(module.__file__).read_text().splitlines()  # type: ignore[attr-defined]
    (number,) = [i for i, text in enumerate(lines, 1) if text.startswith(start)]
    return number


def test_a_setting_from_a_star_import_is_found_where_it_is_written() -> None:
    # tests/settings.py starts with "from pagedoctor.demo.settings import *".
    place = setting_place("SESSION_ENGINE")
    assert place is not None
    assert place.file == pagedoctor.demo.settings.__file__
    assert place.line == line_of(pagedoctor.demo.settings, "SESSION_ENGINE = ")


def test_the_last_assignment_wins() -> None:
    # Both modules set ROOT_URLCONF; the test settings' comes after the star import.
    place = setting_place("ROOT_URLCONF")
    assert place is not None
    assert (place.file, place.line) == (
        tests.settings.__file__,
        line_of(tests.settings, "ROOT_URLCONF = "),
    )


def test_a_setting_left_at_its_default_has_no_place() -> None:
    assert setting_place("SESSION_CACHE_ALIAS") is None
    assert settings_file() == tests.settings.__file__
