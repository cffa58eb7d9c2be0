from __future__ import annotations

import pytest
from django.conf import settings
from django.core.checks import CheckMessage, run_checks
from django.test import override_settings

from pagedoctor.checks import MIDDLEWARE, SESSION_MIDDLEWARE


def ids() -> list[str]:
    return [m.id for m in run_checks() if m.id and m.id.startswith("pagedoctor.")]


def test_the_test_settings_pass() -> None:
    assert ids() == []


@override_settings(PAGEDOCTOR={"SAMPLE_RATE": 5, "NOPE": 1})
def test_e001_bad_values_and_unknown_keys() -> None:
    messages = [m for m in run_checks() if m.id == "pagedoctor.E001"]
    texts = sorted(m.msg for m in messages)
    assert texts == [
        "PAGEDOCTOR has an unknown key 'NOPE'; the keys are ALLOW, AUDIT_URLS, CACHE, "
        "IGNORE_PATHS, MAX_EVENTS, N_PLUS_ONE_THRESHOLD, SAMPLE_RATE, SERVER_TIMING",
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


def deploy_messages(check_id: str) -> list[CheckMessage]:
    return [m for m in run_checks(include_deployment_checks=True) if m.id == check_id]


def test_w003_database_sessions_in_deployment() -> None:
    # The demo keeps its sessions in the database on purpose; the test settings inherit that.
    (warning,) = deploy_messages("pagedoctor.W003")
    assert "'django.contrib.sessions.backends.db'" in warning.msg
    assert "database" in warning.msg
    assert "cached_db" in warning.hint
    # The talk paired cache sessions with PickleSerializer; the advice keeps JSON (see E002).
    assert "PickleSerializer" not in warning.hint
    assert "Keep the JSON session serializer" in warning.hint
    # A development check run stays quiet: the database backend is fine on a laptop.
    assert "pagedoctor.W003" not in ids()


@override_settings(SESSION_ENGINE="django.contrib.sessions.backends.file")
def test_w003_file_sessions() -> None:
    (warning,) = deploy_messages("pagedoctor.W003")
    assert "file system" in warning.msg


@pytest.mark.parametrize(
    "engine",
    [
        "django.contrib.sessions.backends.cached_db",
        "django.contrib.sessions.backends.cache",
        "django.contrib.sessions.backends.signed_cookies",
    ],
)
def test_w003_quiet_for_cached_and_cookie_sessions(engine: str) -> None:
    with override_settings(SESSION_ENGINE=engine):
        assert deploy_messages("pagedoctor.W003") == []


def test_w003_quiet_without_the_session_middleware() -> None:
    middleware = [m for m in settings.MIDDLEWARE if m != SESSION_MIDDLEWARE]
    with override_settings(MIDDLEWARE=middleware):
        assert deploy_messages("pagedoctor.W003") == []
