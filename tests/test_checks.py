from __future__ import annotations

from django.core.checks import run_checks
from django.test import override_settings

from pagedoctor.checks import MIDDLEWARE


def ids() -> list[str]:
    return [m.id for m in run_checks() if m.id and m.id.startswith("pagedoctor.")]


def test_the_test_settings_pass() -> None:
    assert ids() == []


@override_settings(PAGEDOCTOR={"SAMPLE_RATE": 5, "NOPE": 1})
def test_e001_bad_values_and_unknown_keys() -> None:
    messages = [m for m in run_checks() if m.id == "pagedoctor.E001"]
    texts = sorted(m.msg for m in messages)
    assert texts == [
        "PAGEDOCTOR has an unknown key 'NOPE'; the keys are ALLOW, AUDIT_URLS, CACHE, IGNORE_PATHS, "
        "MAX_EVENTS, N_PLUS_ONE_THRESHOLD, SAMPLE_RATE, SERVER_TIMING",
        "PAGEDOCTOR['SAMPLE_RATE'] must be a number between 0 and 1, got 5",
    ]
    assert all(m.hint for m in messages)


@override_settings(PAGEDOCTOR=["not", "a", "dict"])
def test_e001_not_a_dict() -> None:
    assert ids() == ["pagedoctor.E001"]


def test_w001_middleware_after_sessions() -> None:
    order = [
        "django.contrib.sessions.middleware.SessionMiddleware",
        MIDDLEWARE,
        "django.contrib.auth.middleware.AuthenticationMiddleware",
    ]
    with override_settings(MIDDLEWARE=order):
        (warning,) = [m for m in run_checks() if m.id == "pagedoctor.W001"]
    assert "SessionMiddleware" in warning.msg
    assert "Move" in warning.hint


@override_settings(PAGEDOCTOR={"SERVER_TIMING": "always"}, DEBUG=False)
def test_w002_timings_for_everyone_in_production() -> None:
    assert ids() == ["pagedoctor.W002"]


@override_settings(SESSION_SERIALIZER="myproject.serializers.PickleSerializer")
def test_e002_pickle_sessions() -> None:
    (error,) = [m for m in run_checks() if m.id == "pagedoctor.E002"]
    assert "SECRET_KEY" in error.msg
    assert "JSONSerializer" in error.hint
