"""A deliberately broken server for the crash test's negative control: it acknowledges before it commits.

Order POSTs are answered 201 at once and queued for one background thread
that runs them through the real application afterwards, the way a "fast" API
that writes behind the response would. A kill -9 loses the queue, so orders
the clients saw acknowledged are missing: the crash test must notice. Only
the crash test serves this module; the application never imports it.
"""

from __future__ import annotations

import io
import json
import queue
import threading
from collections.abc import Callable, Iterable
from typing import Any

from baogong.config.wsgi import application as real_application

StartResponse = Callable[..., Any]
backlog: queue.Queue[dict[str, Any]] = queue.Queue()


def _discard(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable[[bytes], None]:
    return lambda _data: None


def _drain() -> None:
    while True:
        environ = backlog.get()
        for _chunk in real_application(environ, _discard):
            pass


def application(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
    if environ.get("REQUEST_METHOD") != "POST" or environ.get("PATH_INFO") != "/api/orders":
        return real_application(environ, start_response)
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length)
    copied = {k: v for k, v in environ.items() if not k.startswith(("wsgi.", "gunicorn."))}
    copied.update({k: v for k, v in environ.items() if k in {"wsgi.url_scheme", "wsgi.version"}})
    copied.update({"wsgi.input": io.BytesIO(body), "wsgi.errors": io.StringIO()})
    for name in ("wsgi.multithread", "wsgi.multiprocess", "wsgi.run_once"):
        copied[name] = environ.get(name, False)
    backlog.put(copied)
    start_response("201 Created", [("Content-Type", "application/json")])
    return [json.dumps({"id": None, "queued": True}).encode()]


threading.Thread(target=_drain, daemon=True, name="ack-early-writer").start()
