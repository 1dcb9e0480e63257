"""Envelope encryption: a data key per aggregate, wrapped by the current master key."""

from __future__ import annotations

import base64
import binascii
import os
import uuid

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.db import connection, models
from django.db.models import F
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from privacy.keyring import KEY_BYTES, NONCE_BYTES, WrongMasterKey, checked_key_ids, keyring

CHECK_PLAINTEXT = b"weerbaar-master-key-check"


def _wrap_context(data_key_id: uuid.UUID) -> bytes:
    return b"weerbaar-datakey:" + data_key_id.bytes


@sensitive_variables("raw")
def data_key_new():
    """A new data key, wrapped by the newest master key, not stored yet: the caller inserts it
    (`data_key_values`) in the statement that writes the aggregate. The raw key stays on the
    instance (see `instance_data_key`), so the aggregate that takes it encrypts without unwrapping
    it again."""
    from privacy.models import DataKey

    ring = keyring()
    ensure_master_key_check(ring.current_id)
    key_id = uuid.uuid4()
    raw = os.urandom(KEY_BYTES)
    master_key_id, wrapped = ring.wrap(raw, context=_wrap_context(key_id))
    data_key = DataKey(id=key_id, master_key_id=master_key_id, wrapped_key=wrapped, created_at=timezone.now())
    data_key.__dict__["_weerbaar_raw_key"] = raw
    return data_key


def data_key_values(data_key) -> dict:
    """The columns of a new data key's row, for privacy.sql."""
    return {
        "id": data_key.id,
        "master_key_id": data_key.master_key_id,
        "wrapped_key": data_key.wrapped_key,
        "created_at": data_key.created_at,
    }


def data_key_stored(data_key) -> None:
    """Marks a data key from `data_key_new` as written by the caller's statement."""
    data_key._state.adding = False
    data_key._state.db = connection.alias


def data_key_create():
    """A new data key (see `data_key_new`), stored."""
    from privacy.models import DataKey
    from privacy.sql import insert_row

    data_key = data_key_new()
    insert_row(DataKey, data_key_values(data_key))
    data_key_stored(data_key)
    return data_key


def data_key_bytes(data_key) -> bytes:
    raw = data_key.__dict__.get("_weerbaar_raw_key")
    if raw is not None:
        return raw
    return keyring().unwrap(data_key.master_key_id, bytes(data_key.wrapped_key), context=_wrap_context(data_key.pk))


def data_key_rewrap(data_key) -> bool:
    """Re-wraps a data key under the newest master key; returns False when it already was."""
    ring = keyring()
    if data_key.master_key_id == ring.current_id:
        return False
    raw = data_key_bytes(data_key)
    data_key.master_key_id, data_key.wrapped_key = ring.wrap(raw, context=_wrap_context(data_key.pk))
    return True


def ensure_master_key_check(key_id: str) -> None:
    if key_id in checked_key_ids:
        return
    from privacy.models import MasterKeyCheck

    if not MasterKeyCheck.objects.filter(key_id=key_id).exists():
        nonce = os.urandom(NONCE_BYTES)
        value = nonce + AESGCM(keyring().master(key_id)).encrypt(nonce, CHECK_PLAINTEXT, key_id.encode())
        MasterKeyCheck.objects.get_or_create(key_id=key_id, defaults={"check_value": value})
    checked_key_ids.add(key_id)


def verify_master_keys() -> None:
    """Refuses to go on with a wrong or missing master key (raises ImproperlyConfigured)."""
    from privacy.keyring import MissingMasterKey
    from privacy.models import DataKey, MasterKeyCheck

    ring = keyring()
    known = {key_id for key_id, _ in ring.master_keys}
    for check in MasterKeyCheck.objects.filter(key_id__in=known):
        value = bytes(check.check_value)
        try:
            AESGCM(ring.master(check.key_id)).decrypt(value[:NONCE_BYTES], value[NONCE_BYTES:], check.key_id.encode())
        except InvalidTag:
            raise WrongMasterKey(check.key_id) from None
    used = set(DataKey.objects.values_list("master_key_id", flat=True).distinct())
    for key_id in sorted(used - known):
        raise MissingMasterKey(key_id)
    for key_id in sorted(used):
        # The decisive test: one data key wrapped by this master key must unwrap.
        sample = DataKey.objects.filter(master_key_id=key_id).first()
        if sample is not None:
            data_key_bytes(sample)


def encrypt(key: bytes | AESGCM, plaintext: bytes, *, aad: bytes) -> str:
    """`key`: the raw key, or the AES-GCM object made from it (instance_data_key keeps one)."""
    cipher = key if isinstance(key, AESGCM) else AESGCM(key)
    nonce = os.urandom(NONCE_BYTES)
    return "wb1:" + base64.b64encode(nonce + cipher.encrypt(nonce, plaintext, aad)).decode()


def decrypt(key: bytes | AESGCM, token: str, *, aad: bytes) -> bytes:
    if not token.startswith("wb1:"):
        raise ValueError("unknown ciphertext format")
    cipher = key if isinstance(key, AESGCM) else AESGCM(key)
    blob = binascii.a2b_base64(token[4:])  # what base64.b64decode does, without its wrapping
    return cipher.decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], aad)


class KeyInUse:
    """An aggregate's data key while an instance uses it: its id (and that id as text, for the
    fields' associated data) and the AES-GCM object made from the raw key once (setting one up
    costs more than decrypting a field). The raw key itself is not kept; the repr shows the id
    only, since tracebacks and debug pages show reprs."""

    __slots__ = ("cipher", "id", "id_text")

    def __init__(self, key_id: uuid.UUID, cipher: AESGCM):
        self.id = key_id
        self.id_text = str(key_id)
        self.cipher = cipher

    def __repr__(self) -> str:
        return f"KeyInUse(id={self.id})"


@sensitive_variables("raw")
def key_in_use(data_key) -> KeyInUse:
    """`data_key` (a DataKey row, or one from data_key_new) unwrapped, ready to encrypt with."""
    raw = data_key_bytes(data_key)
    return KeyInUse(data_key.pk, AESGCM(raw))


#: The annotations with_data_keys puts on each row: its data key's wrapping master key and wrapped
#: bytes, which is all that unwrapping needs.
_WRAPPED_BY = "_weerbaar_key_master_id"
_WRAPPED_KEY = "_weerbaar_key_wrapped"
#: Where a loaded row notes the data key it was loaded under (privacy.fields.RawKeyFree.from_db).
LOADED_KEY_ID = "_weerbaar_loaded_key_id"


def with_data_keys(queryset):
    """`queryset` with each row's wrapped data key loaded in the same query (a join), so a page
    decrypts without a query per row. Columns as annotations rather than select_related:
    a DataKey instance per row, with its id parsed again, cost a page more than the join."""
    return queryset.annotate(**{_WRAPPED_BY: F("data_key__master_key_id"), _WRAPPED_KEY: F("data_key__wrapped_key")})


@sensitive_variables("raw")
def instance_data_key(instance: models.Model) -> KeyInUse | None:
    """The data key of the aggregate an instance belongs to; None once it was destroyed.

    Uses the wrapped key loaded with the row (with_data_keys) or the DataKey on the instance when
    there is one, so a list page costs no query per row; the raw key is kept on the instance for
    its lifetime only (RawKeyFree)."""
    state = instance.__dict__
    cached = state.get("_weerbaar_data_key")
    key_id = getattr(instance, "data_key_id", None)
    if cached is not None and (cached.id is key_id or cached.id == key_id):
        return cached
    if key_id is None:
        return None
    wrapped = state.get(_WRAPPED_KEY)
    # Loaded with the row, for the key the row had then (the instance may have moved to another).
    if wrapped is not None and state.get(LOADED_KEY_ID) == key_id:
        raw = keyring().unwrap(state[_WRAPPED_BY], bytes(wrapped), context=_wrap_context(key_id))
        result = state["_weerbaar_data_key"] = KeyInUse(key_id, AESGCM(raw))
        return result
    field = instance._meta.get_field("data_key")
    if field.is_cached(instance):
        data_key = field.get_cached_value(instance)
    else:
        from privacy.models import DataKey

        data_key = DataKey.objects.filter(pk=key_id).first()
    if data_key is None:
        return None
    result = state["_weerbaar_data_key"] = key_in_use(data_key)
    return result


def data_key_for_id(key_id) -> KeyInUse | None:
    from privacy.models import DataKey

    data_key = DataKey.objects.filter(pk=key_id).first()
    return None if data_key is None else key_in_use(data_key)
