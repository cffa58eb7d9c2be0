"""The arguments of ``pagedoctor capacity``.

The pages are named as for ``audit`` (URLs, ``--urls-file``, ``--products`` for the demo), but
not found by crawling or logging in: load goes only to the pages named, as anonymous visitors.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

from pagedoctor.capacity.server import default_workers

MAX_CONCURRENCY = 256
MAX_STEP_SECONDS = 60


def add_capacity_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the pages, the target, the peak model, the load's bounds and the server's options."""
    parser.add_argument(
        "urls", nargs="*", metavar="URL", help="pages to measure, e.g. /pizzas/ (paths)"
    )
    parser.add_argument("--urls-file", metavar="FILE", help="a file with one page per line")
    parser.add_argument(
        "--products",
        type=_whole(minimum=1),
        default=None,
        metavar="N",
        help="demo only: how many products to seed (default: the seed command's)",
    )
    target = parser.add_argument_group("target")
    target.add_argument(
        "--p95-ms",
        type=_number(minimum=1),
        default=500.0,
        metavar="MS",
        help="the 95th-percentile latency a rate must stay under (default 500)",
    )
    target.add_argument(
        "--target-views-per-day",
        type=_whole(minimum=1),
        default=100_000,
        metavar="N",
        help="the views a day to compare each page's capacity with (default 100000)",
    )
    model = parser.add_argument_group("peak model (see docs/capacity.md)")
    model.add_argument(
        "--peak-hour-percent",
        type=_number(minimum=100 / 24, maximum=100),
        default=10.0,
        metavar="P",
        help="share of a day's views in its busiest hour, in percent (default 10; an even "
        "day is 4.17)",
    )
    model.add_argument(
        "--burst",
        type=_number(minimum=1),
        default=3.0,
        metavar="X",
        help="how many times the busiest hour's average rate its bursts reach (default 3)",
    )
    load = parser.add_argument_group("bounds of the load")
    load.add_argument(
        "--duration",
        type=_whole(minimum=1, maximum=MAX_STEP_SECONDS),
        default=2,
        metavar="SECONDS",
        help="how long each step of the ramp lasts (default 2)",
    )
    load.add_argument(
        "--warmup",
        type=_whole(minimum=0, maximum=MAX_STEP_SECONDS),
        default=1,
        metavar="SECONDS",
        help="unmeasured load before each page's ramp, to fill caches (default 1; 0: none)",
    )
    load.add_argument(
        "--max-concurrency",
        type=_whole(minimum=1, maximum=MAX_CONCURRENCY),
        default=16,
        metavar="N",
        help="the most concurrent connections the ramp (1, 2, 4 ...) reaches (default 16)",
    )
    load.add_argument(
        "--time-limit",
        type=_whole(minimum=5),
        default=300,
        metavar="SECONDS",
        help="stop starting new steps after this long in all (default 300)",
    )
    server = parser.add_argument_group("server")
    server.add_argument(
        "--workers",
        type=_whole(minimum=1, maximum=64),
        default=default_workers(),
        metavar="N",
        help=f"gunicorn sync workers (default 2 per core + 1: {default_workers()} here)",
    )
    server.add_argument(
        "--host",
        default="127.0.0.1",
        help="loopback address to serve on: 127.0.0.1 (default), ::1 or localhost",
    )
    server.add_argument(
        "--port",
        type=_whole(minimum=0, maximum=65535),
        default=0,
        help="port to serve on (default 0: a free one)",
    )
    parser.add_argument("--json", metavar="PATH", help="write the JSON report here")


def _whole(*, minimum: int, maximum: int | None = None) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = minimum - 1
        if value < minimum or (maximum is not None and value > maximum):
            upper = f" and at most {maximum}" if maximum is not None else ""
            raise argparse.ArgumentTypeError(
                f"expected a whole number of at least {minimum}{upper}, got {text!r}"
            )
        return value

    return parse


def _number(*, minimum: float, maximum: float | None = None) -> Callable[[str], float]:
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = float("nan")
        if not (value >= minimum and (maximum is None or value <= maximum)):
            upper = f" and at most {maximum:g}" if maximum is not None else ""
            raise argparse.ArgumentTypeError(
                f"expected a number of at least {minimum:.3g}{upper}, got {text!r}"
            )
        return value

    return parse
