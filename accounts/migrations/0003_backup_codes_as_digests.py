"""Backup codes stored before they were kept as digests: each becomes its digest, so the codes
users hold keep working and the table holds nothing that logs in."""

import hashlib
import hmac
import re

from django.db import migrations

_DIGEST = re.compile(r"[0-9a-f]{16}")


def _digest(key: bytes, code: str) -> str:
    # As accounts.second_factor.backup_code_digest computes it, written out so that this
    # migration keeps doing what it did when that function changes.
    message = ("backup-code:" + "".join(code.split()).lower()).encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()[:16]


def forwards(apps, schema_editor):
    StaticToken = apps.get_model("otp_static", "StaticToken")
    tokens = [token for token in StaticToken.objects.only("pk", "token") if not _DIGEST.fullmatch(token.token)]
    if not tokens:
        return
    from privacy.keyring import keyring

    key = keyring().blind_index_key
    for token in tokens:
        token.token = _digest(key, token.token)
    StaticToken.objects.bulk_update(tokens, ["token"])


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_security_stamp_confidential_reporting"),
        ("otp_static", "0003_add_timestamps"),
    ]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
