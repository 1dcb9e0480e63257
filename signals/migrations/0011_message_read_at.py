from django.db import migrations, models
from django.db.models import Min, OuterRef, Subquery


def read_what_was_there(apps, schema_editor):
    """Messages from before read marking: a reporter's message counts as read (the coordinators
    were mailed and nothing marked it new before); a question counts as read when the reporter
    wrote after it (its time is the first such message). Unanswered questions stay unknown (unread)."""
    SignalMessage = apps.get_model("signals", "SignalMessage")
    SignalMessage.objects.filter(direction="from_reporter", read_at__isnull=True).update(read_at=models.F("created_at"))
    first_answer = (
        SignalMessage.objects.filter(
            signal_id=OuterRef("signal_id"), direction="from_reporter", created_at__gt=OuterRef("created_at")
        )
        .order_by()
        .values("signal_id")
        .annotate(first=Min("created_at"))
        .values("first")
    )
    SignalMessage.objects.filter(direction="to_reporter", read_at__isnull=True).update(read_at=Subquery(first_answer))


class Migration(migrations.Migration):
    dependencies = [
        ("signals", "0010_identity_request_submission_key"),
    ]

    operations = [
        migrations.AddField(
            model_name="signalmessage",
            name="read_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.RunPython(read_what_was_there, migrations.RunPython.noop),
    ]
