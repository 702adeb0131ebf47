"""Production settings: everything in base, plus transport security.

The secret key must come from the environment; there is no fallback.
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
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
