"""Settings of the demo shop: production-like (DEBUG off), on SQLite and the local-memory cache.

Environment variables:

- ``PAGEDOCTOR_DEMO_DB``: ``sqlite`` (default), ``postgres`` or ``mariadb``; the servers are
  expected on 127.0.0.1 with the database ``test``, as in this project's CI.
- ``PAGEDOCTOR_DEMO_SQLITE``: the SQLite file; by default
  ``~/.cache/pagedoctor/demo-<Django major.minor>.sqlite3`` (``$XDG_CACHE_HOME`` is honoured).
- ``PAGEDOCTOR_DEMO_DEBUG=1``: turn DEBUG on.
- ``PAGEDOCTOR_DEMO_LOG``: level of pagedoctor's loggers (default ``WARNING``; ``INFO`` logs a line
  per request, ``DEBUG`` each query with where it came from).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import django
from django.core.exceptions import ImproperlyConfigured

_CACHE_DIR = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "pagedoctor"
_DJANGO_VERSION = f"{django.VERSION[0]}.{django.VERSION[1]}"

DEBUG = os.environ.get("PAGEDOCTOR_DEMO_DEBUG") == "1"
ALLOWED_HOSTS = ["testserver", "localhost", "127.0.0.1", "[::1]"]

# Demo only: this key is public, so never use these settings for a site anybody else can reach.
SECRET_KEY = "pagedoctor-demo-only-insecure-secret-key-0f3a9c7e51b2d864-do-not-deploy"

_DB = os.environ.get("PAGEDOCTOR_DEMO_DB", "sqlite")
DATABASES: dict[str, dict[str, Any]]
if _DB == "sqlite":
    _sqlite_path = os.environ.get("PAGEDOCTOR_DEMO_SQLITE")
    if not _sqlite_path:
        _CACHE_DIR.mkdir(parents=True, exist_ok=True)
        _sqlite_path = str(_CACHE_DIR / f"demo-{_DJANGO_VERSION}.sqlite3")
    DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": _sqlite_path}}
elif _DB == "postgres":
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.postgresql",
            "HOST": "127.0.0.1",
            "PORT": "5432",
            "USER": "postgres",
            "NAME": "test",
        }
    }
elif _DB == "mariadb":
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.mysql",
            "HOST": "127.0.0.1",
            "PORT": "3306",
            "USER": "root",
            "PASSWORD": "",
            "NAME": "test",
            "OPTIONS": {"charset": "utf8mb4"},
        }
    }
else:
    raise ImproperlyConfigured(
        f"PAGEDOCTOR_DEMO_DB must be sqlite, postgres or mariadb, got {_DB!r}"
    )

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "LOCATION": "pagedoctor-demo",
    }
}

# Sessions stay in the database (Django's default) on purpose: the talk's advice is to move them
# to the cache ("django.contrib.sessions.backends.cached_db"), which pagedoctor should suggest.
SESSION_ENGINE = "django.contrib.sessions.backends.db"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "pagedoctor",
    "pagedoctor.demo.shop",
]

MIDDLEWARE = [
    # First, so it records the queries and cache calls of every middleware below.
    "pagedoctor.middleware.PagedoctorMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "pagedoctor.demo.urls"
WSGI_APPLICATION = "pagedoctor.demo.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "pagedoctor.demo.shop.context_processors.shop",
            ],
        },
    }
]

STATIC_URL = "/static/"
STATIC_ROOT = str(_CACHE_DIR / "static")

if django.VERSION >= (6, 1):
    # Django 6.1 replaced EMAIL_BACKEND with MAILERS (and deprecated the old setting).
    MAILERS = {"default": {"BACKEND": "pagedoctor.demo.shop.mail.SlowEmailBackend"}}
else:
    EMAIL_BACKEND = "pagedoctor.demo.shop.mail.SlowEmailBackend"
DEFAULT_FROM_EMAIL = "shop@example.com"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {
        "pagedoctor": {
            "handlers": ["console"],
            "level": os.environ.get("PAGEDOCTOR_DEMO_LOG", "WARNING"),
            "propagate": False,
        },
    },
}

PAGEDOCTOR = {
    # Every page of the demo, slow and fixed; seed_demo guarantees the slugs and numbers used here
    # (product-1 exists whenever at least one product is seeded).
    "AUDIT_URLS": [
        "/",
        "/fixed/",
        "/products/",
        "/products/product-1/",
        "/fixed/products/product-1/",
        "/pizzas/",
        "/fixed/pizzas/",
        "/async/pizzas/",
        "/flowers/rose/",
        "/fixed/flowers/rose/",
        "/team/",
        "/fixed/team/",
        "/report/",
        "/fixed/report/",
        "/orders/1001/thanks/",
        "/fixed/orders/1001/thanks/",
    ],
}
