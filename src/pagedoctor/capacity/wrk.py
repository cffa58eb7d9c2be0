"""One step of load: wrk keeps N connections busy on one page for D seconds.

wrk is a closed loop: each connection sends its next request when the last one is answered,
so the rate is what the server sustains at that concurrency and the latencies are what its
users would wait. A Lua ``done`` hook prints wrk's own summary as JSON, percentiles included.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from pagedoctor.capacity.errors import LoadError

_MARKER = "PAGEDOCTOR-WRK "
_SUMMARY_SCRIPT = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "\\n%s{\\"requests\\": %d, \\"duration_us\\": %d, \\"connect\\": %d, \\"read\\": %d, "
    .. "\\"write\\": %d, \\"status\\": %d, \\"timeout\\": %d, \\"p50_us\\": %d, "
    .. "\\"p95_us\\": %d, \\"p99_us\\": %d, \\"max_us\\": %d}\\n",
    "MARKER", summary.requests, summary.duration, e.connect, e.read, e.write, e.status,
    e.timeout, latency:percentile(50), latency:percentile(95), latency:percentile(99),
    latency.max))
end
""".replace("MARKER", _MARKER)


@dataclass(frozen=True)
class Step:
    """What one step of load measured."""

    concurrency: int
    requests: int  # answered, whatever their status
    seconds: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    bad_status: int  # answers with a status of 400 or more
    socket_errors: int  # connect, read and write errors
    timeouts: int

    @property
    def rps(self) -> float:
        """Return the answered requests per second."""
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def errors(self) -> int:
        """Return the requests that failed: a bad status, a socket error or a timeout."""
        return self.bad_status + self.socket_errors + self.timeouts

    @property
    def error_rate(self) -> float:
        """Return the failed requests' share of all requests sent (1.0 when none came back)."""
        sent = self.requests + self.socket_errors + self.timeouts
        return self.errors / sent if sent else 1.0


def find_wrk() -> str:
    """Return the path of wrk; raise ``LoadError`` saying how to install it when it is missing."""
    path = shutil.which("wrk")
    if path is None:
        raise LoadError(
            "wrk, the load generator, is not installed; install it with "
            "'apt-get install wrk' (Debian, Ubuntu) or 'brew install wrk' (macOS)"
        )
    return path


def wrk_version(wrk: str) -> str:
    """Return wrk's version line, e.g. ``wrk debian/4.1.0-3+b2``."""
    result = subprocess.run(
        [wrk, "--version"], capture_output=True, text=True, timeout=10, check=False
    )
    first = (result.stdout or result.stderr).strip().splitlines()[:1]
    return first[0].split(" [")[0] if first else "wrk"


def run_step(wrk: str, url: str, *, concurrency: int, seconds: int, timeout_seconds: int) -> Step:
    """Load ``url`` with ``concurrency`` connections for ``seconds``; return what was measured.

    A request not answered within ``timeout_seconds`` counts as a timeout.
    """
    with tempfile.TemporaryDirectory(prefix="pagedoctor-wrk-") as folder:
        script = Path(folder) / "summary.lua"
        script.write_text(_SUMMARY_SCRIPT, encoding="utf-8")
        command = [
            wrk,
            # One thread drives far more requests than a Django server answers, and leaves
            # the other cores to the server being measured.
            "--threads",
            "1",
            "--connections",
            str(concurrency),
            "--duration",
            f"{seconds}s",
            "--timeout",
            f"{timeout_seconds}s",
            "--script",
            str(script),
            url,
        ]
        try:
            result = subprocess.run(
                command,
                capture_output=True,
                text=True,
                timeout=seconds + timeout_seconds + 30,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise LoadError(f"wrk did not finish loading {url} in {exc.timeout:g}s") from exc
    return parse_summary(result.stdout, result.stderr, concurrency=concurrency, url=url)


def parse_summary(stdout: str, stderr: str, *, concurrency: int, url: str) -> Step:
    """Return the step that wrk's output describes; raise ``LoadError`` if it has none."""
    line = next((ln for ln in stdout.splitlines() if ln.startswith(_MARKER)), None)
    if line is None:
        problem = (stderr or stdout).strip().splitlines()[-1:] or ["no output"]
        raise LoadError(f"wrk could not load {url}: {problem[0]}")
    data = json.loads(line[len(_MARKER) :])
    return Step(
        concurrency=concurrency,
        requests=data["requests"],
        seconds=data["duration_us"] / 1e6,
        p50_ms=data["p50_us"] / 1000,
        p95_ms=data["p95_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        max_ms=data["max_us"] / 1000,
        bad_status=data["status"],
        socket_errors=data["connect"] + data["read"] + data["write"],
        timeouts=data["timeout"],
    )
