"""Encrypted files: stored under the aggregate's data key, in a folder per data key, so that
destroying the key makes every copy unreadable and removing the folder removes them all."""

from __future__ import annotations

import contextlib
import os
import uuid
from datetime import UTC, datetime, timedelta

from cryptography.exceptions import InvalidTag
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone

from privacy.crypto import instance_data_key
from privacy.keyring import NONCE_BYTES

FOLDER = "encrypted"


def encrypted_file_save(*, instance=None, data_key=None, content: bytes) -> str:
    """Encrypts `content` with the instance's data key (or `data_key`, a DataKey, e.g. one from
    data_key_new that is stored with its aggregate later) and stores it; returns the storage name."""
    if data_key is not None:
        from privacy.crypto import key_in_use

        key = key_in_use(data_key)
    else:
        key = instance_data_key(instance)
    if key is None:
        raise ValueError("geen datasleutel om mee te versleutelen")
    name = f"{FOLDER}/{key.id}/{uuid.uuid4().hex}"
    nonce = os.urandom(NONCE_BYTES)
    blob = nonce + key.cipher.encrypt(nonce, content, name.encode())
    return default_storage.save(name, ContentFile(blob))


def encrypted_file_read(*, instance, name: str) -> bytes | None:
    """The plaintext, or None when the record's key was destroyed or the file is gone."""
    key = instance_data_key(instance)
    if key is None or not name.startswith(f"{FOLDER}/{key.id}/") or not default_storage.exists(name):
        return None
    with default_storage.open(name, "rb") as handle:
        blob = handle.read()
    try:
        return key.cipher.decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], name.encode())
    except InvalidTag:
        return None


def data_key_files_delete(data_key_id) -> int:
    folder = f"{FOLDER}/{data_key_id}"
    if not default_storage.exists(folder):
        return 0
    _, files = default_storage.listdir(folder)
    for filename in files:
        default_storage.delete(f"{folder}/{filename}")
    with contextlib.suppress(NotImplementedError, OSError):
        os.rmdir(default_storage.path(folder))
    return len(files)


#: A folder younger than this may belong to an upload whose transaction has not committed yet.
ORPHAN_GRACE = timedelta(hours=24)


def orphan_file_folders_delete(*, now: datetime | None = None) -> int:
    """Removes file folders whose data key no longer exists (a purge interrupted after commit,
    an upload rolled back), once they are older than the grace period."""
    from privacy.models import DataKey

    if not default_storage.exists(FOLDER):
        return 0
    now = now or timezone.now()
    folders, _ = default_storage.listdir(FOLDER)
    existing = {str(pk) for pk in DataKey.objects.filter(pk__in=_valid_uuids(folders)).values_list("pk", flat=True)}
    removed = 0
    for folder in folders:
        if folder in existing:
            continue
        modified = datetime.fromtimestamp(os.path.getmtime(default_storage.path(f"{FOLDER}/{folder}")), tz=UTC)
        if now - modified >= ORPHAN_GRACE:
            removed += data_key_files_delete(folder)
    return removed


def _valid_uuids(values):
    for value in values:
        try:
            yield uuid.UUID(value)
        except ValueError:
            continue
