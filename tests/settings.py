"""Test settings: the product's settings plus a small example aggregate (tests/example) that
exercises the privacy and audit core the way the modules will."""

import os
import tempfile

from config.settings import *  # noqa: F403
from config.settings import DATABASES, INSTALLED_APPS

INSTALLED_APPS = [*INSTALLED_APPS, "tests.example"]
ROOT_URLCONF = "tests.urls"

# Argon2 is the product's hasher (asserted in tests/test_settings.py); tests hash thousands of
# passwords, so they use a fast one.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A file, not memory, so tests can read the raw bytes the database holds.
    DATABASES["default"]["TEST"] = {"NAME": os.path.join(tempfile.gettempdir(), f"weerbaar-test-{os.getpid()}.sqlite3")}
