from django.db import migrations, models


class Migration(migrations.Migration):
    """Subjects stored before carry version 1 (names word by word), so the nightly reindex finds
    them; new ones get today's version."""

    dependencies = [
        ("signals", "0014_handler_notification"),
    ]

    operations = [
        migrations.AddField(
            model_name="historicalsubject",
            name="index_version",
            field=models.PositiveSmallIntegerField(default=1),
        ),
        migrations.AddField(
            model_name="subject",
            name="index_version",
            field=models.PositiveSmallIntegerField(default=1),
        ),
        migrations.AlterField(
            model_name="historicalsubject",
            name="index_version",
            field=models.PositiveSmallIntegerField(default=2),
        ),
        migrations.AlterField(
            model_name="subject",
            name="index_version",
            field=models.PositiveSmallIntegerField(default=2),
        ),
    ]
