"""Login throttling glue: which client address to believe, and logging lockouts.

django-axes counts failed logins per username (settings.AXES_LOCKOUT_PARAMETERS);
the client address it records comes from here. A client can put anything in
X-Forwarded-For, so the header is read only when the deployment says how many
of its own reverse proxies append to it (settings.TRUSTED_PROXY_COUNT), and
then only the entry the outermost trusted proxy wrote is used.
"""

from __future__ import annotations

import ipaddress
import logging
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from .middleware import current_request_id
from .services import audit_record

logger = logging.getLogger("baogong.security")


def client_ip_address(request: HttpRequest) -> str | None:
    """REMOTE_ADDR, or with N trusted proxies the N-th X-Forwarded-For entry from the right."""
    remote = request.META.get("REMOTE_ADDR") or None
    proxies = int(getattr(settings, "TRUSTED_PROXY_COUNT", 0))
    if proxies <= 0:
        return remote
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
    # Each trusted proxy appends the address it saw, so the last N entries are
    # ours and the N-th from the right is the client as our edge proxy saw it;
    # anything left of it was written by the client and proves nothing.
    if len(forwarded) < proxies:
        return remote
    candidate = forwarded[-proxies]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return remote


def login_lockout_record(*, username: str | None, path: str, ip_address: str | None) -> None:
    """Log a lockout and keep it in the audit trail, naming the account by id only.

    Usernames may be phone numbers, and the logs must hold no personal data,
    so neither the log line nor the audit row carries the typed username.
    """
    account_id = (
        get_user_model().objects.filter(username=username).values_list("pk", flat=True).first() if username else None
    )
    logger.warning(
        "login locked out: account=%s path=%s client=%s request=%s",
        account_id if account_id is not None else "unknown",
        path,
        ip_address or "-",
        current_request_id() or "-",
    )
    with transaction.atomic():
        audit_record(
            actor=None,
            action="login.locked_out",
            target_type="account",
            target_id=account_id if account_id is not None else "",
            payload={"path": path, "known_account": account_id is not None},
        )


def on_user_locked_out(sender: object, *, request: HttpRequest | None = None, **kwargs: Any) -> None:
    login_lockout_record(
        username=kwargs.get("username"),
        path=request.path if request is not None else "",
        ip_address=kwargs.get("ip_address"),
    )


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None = None, credentials: dict[str, Any] | None = None
) -> HttpResponse:
    """The page a locked-out sign-in gets: 429 and when to try again, in the user's language."""
    cooloff = settings.AXES_COOLOFF_TIME
    minutes = int(cooloff.total_seconds() // 60) if cooloff else None
    return render(
        request,
        "core/lockout.html",
        {"failure_limit": settings.AXES_FAILURE_LIMIT, "cooloff_minutes": minutes},
        status=429,
    )
