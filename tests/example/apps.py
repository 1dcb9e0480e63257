from django.apps import AppConfig


class ExampleConfig(AppConfig):
    name = "tests.example"
    label = "example"

    def ready(self) -> None:
        from privacy.retention import RecordType, register_model, register_record_type
        from tests.example.models import Dossier

        # A record type of its own: a real module's type (signals' signal_without_case) is held by
        # that module's model, and every type has one holder.
        register_record_type(
            RecordType("example_dossier", "Voorbeelddossier (tests)", 6, "afsluiting van het dossier", "Test")
        )
        register_model(Dossier)
