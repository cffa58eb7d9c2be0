"""Email for the demo: a backend as slow as a remote mail server, and sending after commit."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence

from django.core.mail import EmailMessage, send_mail
from django.core.mail.backends import locmem
from django.db import transaction

logger = logging.getLogger(__name__)

_pending: set[threading.Thread] = set()
_pending_lock = threading.Lock()


class SlowEmailBackend(locmem.EmailBackend):
    """Keep mail in ``django.core.mail.outbox``, taking as long as a remote SMTP server would.

    Nothing leaves the machine. The sleep, 0.2 seconds a message, stands in for connecting to a
    mail server, the TLS handshake and the SMTP round trips, so that a page which sends email
    while the user waits is measurably slow without sending real email.
    """

    delay = 0.2

    def send_messages(self, messages: Sequence[EmailMessage]) -> int:
        for _ in messages:
            time.sleep(self.delay)
        return super().send_messages(messages)


def send_mail_after_commit(
    subject: str, body: str, recipients: list[str], *, using: str | None = None
) -> None:
    """Send an email from a background thread once the current transaction commits.

    The user does not wait for the mail server, and no email goes out for an order whose
    transaction rolled back. A stand-in until pagedoctor's tasks module replaces it: there are no
    retries, and a message still queued when the process exits is lost.
    """

    def start() -> None:
        thread = threading.Thread(
            target=_send, args=(subject, body, recipients), name="shop-mail", daemon=True
        )
        # Started under the lock, so that wait_for_mail never joins a thread not yet started.
        with _pending_lock:
            _pending.add(thread)
            thread.start()

    transaction.on_commit(start, using=using)


def _send(subject: str, body: str, recipients: list[str]) -> None:
    try:
        send_mail(subject, body, None, recipients)
    except Exception:
        logger.exception("Could not send %r to %s", subject, ", ".join(recipients))
    finally:
        with _pending_lock:
            _pending.discard(threading.current_thread())


def wait_for_mail(timeout: float = 10.0) -> None:
    """Wait until the mail sent in the background has gone, e.g. before reading the outbox."""
    deadline = time.monotonic() + timeout
    while True:
        with _pending_lock:
            threads = list(_pending)
        if not threads:
            return
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        if time.monotonic() >= deadline:
            return
