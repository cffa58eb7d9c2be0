"""The site under gunicorn, as a subprocess on the loopback interface, always stopped.

gunicorn runs in a session of its own, so that its master and workers form one process group
that is killed as a whole when the block using it ends, however it ends: normally, on an
exception, on Ctrl-C, or on SIGTERM (turned into ``SystemExit`` while a server runs). On Linux
the master is also told to stop when pagedoctor's process dies, so not even a SIGKILL leaves
it behind.
"""

from __future__ import annotations

import contextlib
import ctypes
import http.client
import importlib.metadata
import importlib.util
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any
from urllib.parse import urlsplit

from pagedoctor.capacity.errors import CapacityError, ServerError
from pagedoctor.capacity.safety import HOST_ENV

APPLICATION = "pagedoctor.capacity.wsgi:application"
_LISTENING = re.compile(r"Listening at: http://(\S+?):(\d+) ")
_IN_USE = ("Connection in use", "Address already in use")
_STOP_SECONDS = 5.0
_PROBE_TIMEOUT = 60.0


@dataclass(frozen=True)
class ServerOptions:
    """How to run the site: its settings, where to listen, how many worker processes."""

    settings_module: str
    host: str = "127.0.0.1"
    port: int = 0  # 0: a free port the system chooses
    workers: int = 1
    startup_timeout: float = 30.0


@dataclass(frozen=True)
class Server:
    """A running gunicorn: where it answers, and its master's process id."""

    base_url: str
    pid: int


def default_workers() -> int:
    """Return gunicorn's recommended number of sync workers: two per core, plus one."""
    return 2 * (os.cpu_count() or 1) + 1


def gunicorn_version() -> str:
    """Return the installed gunicorn's version; raise ``ServerError`` when it is missing."""
    if importlib.util.find_spec("gunicorn") is None:
        raise ServerError(
            f"gunicorn is not installed in this Python ({sys.executable}); "
            "install it with: pip install 'pagedoctor[capacity]'"
        )
    return importlib.metadata.version("gunicorn")


def gunicorn_command(options: ServerOptions) -> list[str]:
    """Return the command line that serves the site as ``options`` say."""
    host = f"[{options.host}]" if ":" in options.host else options.host
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "--bind",
        f"{host}:{options.port}",
        "--workers",
        str(options.workers),
        # Load the site once, before forking: a broken site fails at once, with its traceback.
        "--preload",
        "--graceful-timeout",
        "2",
        "--log-level",
        "info",
    ]
    if _version_tuple(gunicorn_version()) >= (25, 1):
        # Else every gunicorn of the user shares one control socket in their home folder.
        command.append("--no-control-socket")
    return [*command, APPLICATION]


def _version_tuple(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", version)[:2])


@contextlib.contextmanager
def serve(options: ServerOptions) -> Iterator[Server]:
    """Run the site under gunicorn until the block ends; raise ``ServerError`` if it fails."""
    with (
        tempfile.NamedTemporaryFile(prefix="pagedoctor-gunicorn-", suffix=".log") as log,
        _sigterm_raises(),
    ):
        process = subprocess.Popen(
            gunicorn_command(options),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=_environment(options),
            start_new_session=True,
            preexec_fn=_die_with_parent(),
        )
        started = False
        try:
            server = _wait_until_listening(process, Path(log.name), options)
            started = True
            yield server
        finally:
            # A server that never served has nothing to finish: kill it without waiting.
            stop(process, grace=_STOP_SECONDS if started else 0.0)


def _environment(options: ServerOptions) -> dict[str, str]:
    path = [os.getcwd(), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": options.settings_module,
        # As the CLI does: the project's modules import from the folder pagedoctor runs in.
        "PYTHONPATH": os.pathsep.join(path),
        HOST_ENV: options.host,
    }


def _wait_until_listening(
    process: subprocess.Popen[bytes], log: Path, options: ServerOptions
) -> Server:
    deadline = time.monotonic() + options.startup_timeout
    while True:
        text = log.read_text(encoding="utf-8", errors="replace")
        listening = _LISTENING.search(text)
        if listening:
            host, port = listening.groups()
            return Server(base_url=f"http://{host}:{port}", pid=process.pid)
        if process.poll() is not None or any(marker in text for marker in _IN_USE):
            raise ServerError(explain_failure(text, options, process.returncode))
        if time.monotonic() > deadline:
            raise ServerError(
                f"gunicorn did not start listening within {options.startup_timeout:g}s; "
                f"its log ends with: {_tail(text)}"
            )
        time.sleep(0.05)


def check_pages(server: Server, urls: list[str]) -> None:
    """Request each page once; refuse to load pages that do not answer 200."""
    problems = []
    for url in urls:
        status = _status(server, url)
        if status != 200:
            problems.append(f"{url} answered {status}")
    if problems:
        raise CapacityError(
            "pages must answer 200 to be measured (a redirect or an error page measures "
            "something else): " + "; ".join(problems) + "; pass the pages they should be"
        )


def _status(server: Server, url: str) -> int:
    address = urlsplit(server.base_url)
    connection = http.client.HTTPConnection(
        address.hostname or "127.0.0.1", address.port, timeout=_PROBE_TIMEOUT
    )
    try:
        connection.request("GET", url)
        return connection.getresponse().status
    except OSError as exc:
        raise CapacityError(f"the server did not answer {url} ({exc})") from exc
    finally:
        connection.close()


def explain_failure(log: str, options: ServerOptions, returncode: int | None) -> str:
    """Return what went wrong in gunicorn's ``log``, and how to fix it."""
    if any(marker in log for marker in _IN_USE):
        return (
            f"port {options.port} on {options.host} is in use; pass another --port, "
            "or leave --port out to let the system choose a free one"
        )
    missing = re.search(r"ModuleNotFoundError: No module named '([^']+)'", log)
    if missing:
        return (
            f"gunicorn could not import {missing.group(1)!r} while loading the settings "
            f"{options.settings_module!r}; run pagedoctor from your project's folder "
            "(the one with manage.py) or pass --settings"
        )
    improper = re.search(r"ImproperlyConfigured: (.+)", log)
    if improper:
        return (
            f"the settings {options.settings_module!r} are not usable under gunicorn: "
            f"{improper.group(1).strip()}; fix them and run again"
        )
    status = f"exited with status {returncode}" if returncode is not None else "failed"
    return (
        f"gunicorn {status} before serving the settings {options.settings_module!r}; "
        f"its log ends with: {_tail(log)}"
    )


def _tail(log: str, lines: int = 3) -> str:
    last = [line.strip() for line in log.splitlines() if line.strip()][-lines:]
    return " | ".join(last) or "(nothing)"


def stop(process: subprocess.Popen[bytes], *, grace: float = _STOP_SECONDS) -> None:
    """Stop gunicorn and its workers: quickly if they agree within ``grace``, else by SIGKILL."""
    if process.poll() is None and grace > 0:
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGQUIT)  # gunicorn's quick shutdown
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(grace)
    # Whatever is left of the group (a worker that outlived its master) goes too.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


@contextlib.contextmanager
def _sigterm_raises() -> Iterator[None]:
    """Turn SIGTERM into ``SystemExit`` while a server runs, so that ``finally`` stops it."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def exit_now(signum: int, frame: FrameType | None) -> None:
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, exit_now)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _die_with_parent() -> Callable[[], Any] | None:
    """Return a function that, run in the child, has Linux send it SIGTERM when we die."""
    if not sys.platform.startswith("linux"):
        return None
    # Loaded here, in the parent: loading a library between fork and exec is unsafe.
    prctl = ctypes.CDLL(None, use_errno=True).prctl
    pr_set_pdeathsig = 1

    def set_death_signal() -> None:
        prctl(pr_set_pdeathsig, signal.SIGTERM)

    return set_death_signal
