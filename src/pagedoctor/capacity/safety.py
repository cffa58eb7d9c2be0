"""What the served site may not do under load: refuse our host, or send real email."""

from __future__ import annotations

from typing import Any

from django.conf import settings

HOST_ENV = "PAGEDOCTOR_CAPACITY_HOST"


def serving_overrides(host: str) -> dict[str, Any]:
    """Return the settings to change so that the site answers ``host`` and sends no mail.

    The email backends are swapped as the audit swaps them (a backend that could send real
    mail becomes Django's in-memory one), since every request may be repeated thousands of times.
    """
    from pagedoctor.audit.command import audit_overrides  # imports models: after setup

    overrides = {k: v for k, v in audit_overrides().items() if k != "ALLOWED_HOSTS"}
    allowed = list(settings.ALLOWED_HOSTS)
    name = f"[{host}]" if ":" in host else host
    if "*" not in allowed and name not in allowed:
        overrides["ALLOWED_HOSTS"] = [*allowed, name]
    return overrides
