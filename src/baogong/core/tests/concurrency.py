"""Run service calls from real threads, each with its own database connection."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from django.db import connection

from baogong.core.errors import ApplicationError


def run_concurrently(
    workers: int, calls: int, func: Callable[[int], object], *, refused: type[ApplicationError] = ApplicationError
) -> list[str]:
    """Call `func(i)` for i in range(calls) from `workers` threads; the first `workers` calls start together.

    Returns one outcome per call: "ok", or "refused" when `func` raised `refused`.
    Any other exception propagates, so a deadlock or a database error fails the test.
    """
    barrier = threading.Barrier(workers)
    outcomes: list[str] = []
    lock = threading.Lock()

    def one(i: int) -> None:
        if i < workers:
            barrier.wait()
        try:
            func(i)
            result = "ok"
        except refused:
            result = "refused"
        finally:
            connection.close()
        with lock:
            outcomes.append(result)

    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(one, range(calls)))
    return outcomes
