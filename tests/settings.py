"""Test settings: the demo shop plus a small test app, on the database PAGEDOCTOR_TEST_DB names.

PAGEDOCTOR_TEST_DB is ``sqlite`` (default), ``postgres`` or ``mariadb``; the servers are the ones
this project's CI starts on 127.0.0.1 (see .ci/run).
"""

from __future__ import annotations

import os
import sys

import django

from pagedoctor.demo.settings import *  # noqa: F403

_DB = os.environ.get("PAGEDOCTOR_TEST_DB", "sqlite")
# PAGEDOCTOR_TEST_DB_SUFFIX keeps two runs on one server (a developer's and an editor's) from
# dropping each other's test database.
_TEST_NAME = (
    f"test_pagedoctor_py{sys.version_info[0]}{sys.version_info[1]}"
    f"{os.environ.get('PAGEDOCTOR_TEST_DB_SUFFIX', '')}"
)

if _DB == "sqlite":
    DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
elif _DB == "postgres":
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.postgresql",
            "HOST": os.environ.get("PAGEDOCTOR_PG_HOST", "127.0.0.1"),
            "PORT": os.environ.get("PAGEDOCTOR_PG_PORT", "5432"),
            "USER": os.environ.get("PAGEDOCTOR_PG_USER", "postgres"),
            "NAME": "test",
            "TEST": {"NAME": _TEST_NAME},
        }
    }
elif _DB == "mariadb":
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.mysql",
            "HOST": os.environ.get("PAGEDOCTOR_MYSQL_HOST", "127.0.0.1"),
            "PORT": os.environ.get("PAGEDOCTOR_MYSQL_PORT", "3306"),
            "USER": os.environ.get("PAGEDOCTOR_MYSQL_USER", "root"),
            "NAME": "test",
            "OPTIONS": {"charset": "utf8mb4"},
            "TEST": {"NAME": _TEST_NAME, "CHARSET": "utf8mb4", "COLLATION": "utf8mb4_unicode_ci"},
        }
    }
else:
    raise RuntimeError(f"PAGEDOCTOR_TEST_DB must be sqlite, postgres or mariadb, got {_DB!r}")

INSTALLED_APPS = [*INSTALLED_APPS, "tests.testapp", "tests.genericapp"]  # noqa: F405
if django.VERSION >= (6, 1):
    INSTALLED_APPS += ["tests.dbcascadeapp"]  # on_delete=DB_CASCADE is new in Django 6.1
ROOT_URLCONF = "tests.urls"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
