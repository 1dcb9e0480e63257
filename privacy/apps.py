from django.apps import AppConfig
from django.core import checks


class PrivacyConfig(AppConfig):
    name = "privacy"
    verbose_name = "Privacy: versleuteling, blinde indexen, bewaartermijnen"

    def ready(self) -> None:
        from privacy.keyring import keyring

        keyring()  # a missing or malformed key stops start-up here, naming the variable
        checks.register(check_master_keys)
        checks.register(check_retention_expiry_index, checks.Tags.models)


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


def check_retention_expiry_index(app_configs=None, **kwargs):
    """Every retained model lists privacy.models.retention_expiry_index() in its Meta.indexes:
    purging looks records up by expiry date (a model's own Meta replaces its parents' indexes)."""
    from django.apps import apps

    from privacy.models import RetainedRecord

    models = [m for m in apps.get_models() if issubclass(m, RetainedRecord) and not m._meta.proxy]
    return expiry_index_errors(models)


def expiry_index_errors(models) -> list:
    errors = []
    for model in models:
        if not any(
            list(index.fields) == ["retention_expires_at"] and index.condition is not None
            for index in model._meta.indexes
        ):
            errors.append(
                checks.Error(
                    f"{model._meta.label} has no index on its retention expiry date.",
                    hint="Add privacy.models.retention_expiry_index() to the model's Meta.indexes.",
                    obj=model,
                    id="privacy.E002",
                )
            )
    return errors
