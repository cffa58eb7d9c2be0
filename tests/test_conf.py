from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from pagedoctor.conf import DEFAULTS, conf


def test_defaults() -> None:
    with override_settings(PAGEDOCTOR={}):
        assert DEFAULTS["SAMPLE_RATE"] == conf.SAMPLE_RATE
        assert DEFAULTS["MAX_EVENTS"] == conf.MAX_EVENTS
        assert conf.SERVER_TIMING == "debug"


def test_read_lazily() -> None:
    with override_settings(PAGEDOCTOR={"MAX_EVENTS": 7}):
        assert conf.MAX_EVENTS == 7


def test_bad_value_names_the_key_and_the_fix() -> None:
    with (
        override_settings(PAGEDOCTOR={"SAMPLE_RATE": 5}),
        pytest.raises(
            ImproperlyConfigured,
            match=r"PAGEDOCTOR\['SAMPLE_RATE'\] must be a number between 0 and 1, got 5",
        ),
    ):
        _ = conf.SAMPLE_RATE
