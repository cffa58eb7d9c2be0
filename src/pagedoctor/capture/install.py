"""Install the recording hooks, once per process."""

from __future__ import annotations

import threading

_lock = threading.Lock()
_installed = False


def install() -> None:
    """Install the SQL, cache and template hooks; later calls do nothing."""
    global _installed
    if _installed:
        return
    with _lock:
        if _installed:
            return
        from pagedoctor.capture import cache, orm, sql, templates

        sql.install()
        orm.install()
        cache.install()
        templates.install()
        _installed = True
