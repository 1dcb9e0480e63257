import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application = get_asgi_application()

# Refuse to serve with a master key that does not match the database, as config/wsgi.py does.
from privacy.crypto import verify_master_keys  # noqa: E402

verify_master_keys()
