"""Production settings: everything in base, plus transport security.

The secret key must come from the environment; there is no fallback. The
database stays in its durable mode from base (SQLite WAL + synchronous=FULL,
foreign keys on); `manage.py check --deploy --database default` also checks
the live PostgreSQL server (fsync, synchronous_commit, full_page_writes), see
core/checks.py and docs/reliability.md.
"""

import os

from .base import *  # noqa: F403

SECRET_KEY = os.environ["BAOGONG_SECRET_KEY"]
DEBUG = False
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_SSL_REDIRECT = os.environ.get("BAOGONG_SSL_REDIRECT", "1") == "1"
SECURE_HSTS_SECONDS = 31536000
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
# The preload directive only makes the site eligible for the browsers' HTTPS
# preload list; the domain's owner still has to submit it there.
SECURE_HSTS_PRELOAD = os.environ.get("BAOGONG_HSTS_PRELOAD", "1") == "1"
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
