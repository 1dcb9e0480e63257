import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application = get_wsgi_application()

# Refuse to serve with a master key that does not match the database (never silent garbage).
from privacy.crypto import verify_master_keys  # noqa: E402

verify_master_keys()
