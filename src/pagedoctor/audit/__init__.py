"""The audit: request a site's pages under a recording, and report what each one does."""

from __future__ import annotations
