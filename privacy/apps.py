from django.apps import AppConfig
from django.core import checks


class PrivacyConfig(AppConfig):
    name = "privacy"
    verbose_name = "Privacy: versleuteling, blinde indexen, bewaartermijnen"

    def ready(self) -> None:
        from privacy.keyring import keyring

        keyring()  # a missing or malformed key stops start-up here, naming the variable
        checks.register(check_master_keys)


def check_master_keys(app_configs=None, **kwargs):
    """A master key that does not match the database stops runserver, migrate and check."""
    from django.core.exceptions import ImproperlyConfigured
    from django.db import DatabaseError

    from privacy.crypto import verify_master_keys

    try:
        verify_master_keys()
    except DatabaseError:
        return []  # tables not there yet (first migrate)
    except ImproperlyConfigured as error:
        return [checks.Critical(str(error), id="privacy.E001")]
    return []
