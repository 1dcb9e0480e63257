"""Encrypted model fields.

Values are encrypted with the data key of the aggregate the row belongs to (its `data_key`
foreign key) when the row is saved, and decrypted when the attribute is read, so code that may
read a record sees plaintext and the database, its backups and its history tables see ciphertext.
Filtering on an encrypted field is refused: search goes through blind indexes.
"""

from __future__ import annotations

import json
from functools import cache

from django.db import models
from django.db.models.query_utils import DeferredAttribute

from privacy.crypto import LOADED_KEY_ID, data_key_for_id, decrypt, encrypt, instance_data_key

#: What a reader sees once the record's data key has been destroyed.
REDACTED = "verwijderd volgens bewaartermijn"


class Ciphertext(str):
    """A stored, still encrypted value; `key_id` is the data key it is encrypted under, when known."""

    key_id = None


def _token(value: str, key_id) -> Ciphertext:
    token = Ciphertext(value)
    token.key_id = key_id
    return token


class _EncryptedAttribute(DeferredAttribute):
    """A data descriptor (it has __set__), so reads always pass through __get__ and decrypt;
    Django's own DeferredAttribute is shadowed by the instance dict once loaded."""

    def __set__(self, instance, value):
        instance.__dict__[self.field.attname] = value

    def __get__(self, instance, cls=None):
        if instance is None:
            return self
        if self.field.attname not in instance.__dict__ and instance.pk is not None:
            self._load_deferred(instance)
        value = super().__get__(instance, cls)
        if isinstance(value, Ciphertext):
            field = self.field
            data = field.decrypt_bytes_for(instance, value)
            plaintext = field.redacted() if data is None else field.from_bytes(data)
            instance.__dict__[field.attname] = plaintext
            if value.key_id is None:
                value = _token(value, getattr(instance, "data_key_id", None))
            # The stored ciphertext with the bytes it holds (not the value handed out, which the
            # caller may change in place): saving again keeps it only while the value is the same.
            stored = field.to_bytes(plaintext) if data is None else data
            instance.__dict__.setdefault("_weerbaar_ciphertexts", {})[field.attname] = (stored, value)
            return plaintext
        return value

    def _load_deferred(self, instance) -> None:
        """A field left out with .only()/.defer(): load its stored ciphertext (Django's own
        refresh would hand over the plaintext only), so that saving the record or its history
        copy keeps that very ciphertext."""
        attname = self.field.attname
        manager = type(instance)._base_manager.db_manager(instance._state.db)
        stored = list(manager.filter(pk=instance.pk).values_list(attname, flat=True)[:1])
        if stored:  # else the row is gone: Django's refresh raises DoesNotExist as usual
            value = stored[0]
            instance.__dict__[attname] = (
                None if value is None else _token(value, getattr(instance, "data_key_id", None))
            )


class _EncryptedMixin:
    descriptor_class = _EncryptedAttribute

    def to_bytes(self, value) -> bytes:
        raise NotImplementedError

    def from_bytes(self, data: bytes):
        raise NotImplementedError

    def redacted(self):
        return REDACTED

    def _aad(self, key_id) -> bytes:
        return f"{self.name}|{key_id}".encode()

    def decrypt_bytes_for(self, instance, token: Ciphertext) -> bytes | None:
        """The plaintext bytes of `token`, or None once its data key is destroyed."""
        current = getattr(instance, "data_key_id", None)
        loaded_under = token.key_id
        # (`is` first: a loaded row's ciphertexts carry the very id object of its data_key_id.)
        if loaded_under is not None and loaded_under is not current and loaded_under != current:
            key = data_key_for_id(loaded_under)  # loaded under another key than the instance has now
        else:
            key = instance_data_key(instance)
        if key is None:
            return None
        return decrypt(key.cipher, token, aad=self._aad(key.id_text))

    def decrypt_for(self, instance, token: Ciphertext):
        data = self.decrypt_bytes_for(instance, token)
        return self.redacted() if data is None else self.from_bytes(data)

    def ciphertext_for(self, instance):
        """The ciphertext to store for the instance's current value: the stored one while the value
        (compared as the bytes it encrypts to, so a JSON value changed in place, or 1 that became
        True, counts as changed) and the data key are unchanged, else a fresh encryption under the
        instance's key."""
        current = getattr(instance, "data_key_id", None)
        value = instance.__dict__.get(self.attname)
        if value is None:
            return None
        if isinstance(value, Ciphertext):
            if value.key_id in (None, current):
                return value
            value = self.decrypt_for(instance, value)  # the instance moved to another key
        data = self.to_bytes(value)
        cached = instance.__dict__.get("_weerbaar_ciphertexts", {}).get(self.attname)
        if cached is not None and cached[0] == data and cached[1].key_id == current:
            return cached[1]
        key = instance_data_key(instance)
        if key is None:
            raise ValueError(f"{type(instance).__name__}.{self.name}: geen datasleutel om mee te versleutelen")
        token = _token(encrypt(key.cipher, data, aad=self._aad(key.id_text)), key.id)
        instance.__dict__.setdefault("_weerbaar_ciphertexts", {})[self.attname] = (data, token)
        return token

    def get_lookup(self, lookup_name):
        # Only "is it empty" can be asked of ciphertext; anything else would silently match
        # nothing (exact) or match on ciphertext (contains). Search goes through blind indexes.
        if lookup_name != "isnull":
            return None
        return super().get_lookup(lookup_name)

    def pre_save(self, model_instance, add):
        return self.ciphertext_for(model_instance)

    def from_db_value(self, value, expression, connection):
        return None if value is None else Ciphertext(value)

    def get_prep_value(self, value):
        if value is None or isinstance(value, Ciphertext):
            return None if value is None else str(value)
        raise TypeError(
            f"Het versleutelde veld {self.name} kan niet direct worden gezocht of bijgewerkt; "
            "sla het object op, of zoek via een blinde index."
        )

    def to_python(self, value):
        return value

    def value_to_string(self, obj):
        return ""  # never serialise plaintext (dumpdata, admin history)


class EncryptedTextField(_EncryptedMixin, models.TextField):
    def to_bytes(self, value) -> bytes:
        return str(value).encode()

    def from_bytes(self, data: bytes):
        return data.decode()


class EncryptedJSONField(_EncryptedMixin, models.TextField):
    def to_bytes(self, value) -> bytes:
        return json.dumps(value, ensure_ascii=False, sort_keys=True).encode()

    def from_bytes(self, data: bytes):
        return json.loads(data.decode())  # written as UTF-8 by to_bytes


class RawKeyFree(models.Model):
    """A model whose instances may hold a raw data key (read or written encrypted fields): it is
    never pickled or copied along, and is loaded again when needed. EncryptedModel and the
    history models of audit.history have it."""

    class Meta:
        abstract = True

    def __getstate__(self):
        state = super().__getstate__()
        state.pop("_weerbaar_data_key", None)
        return state

    @classmethod
    def from_db(cls, db, field_names, values):
        """Stamps each loaded ciphertext with the data key it was loaded under (from_db_value made
        it, for this row only), so it is never decrypted with a key the instance moves to later;
        and notes that key, which a wrapped key loaded along (crypto.with_data_keys) belongs to."""
        instance = super().from_db(db, field_names, values)
        state = instance.__dict__
        key_id = state[LOADED_KEY_ID] = state.get("data_key_id")
        for name in _encrypted_attnames(cls):
            value = state.get(name)
            if type(value) is Ciphertext and value.key_id is None:
                value.key_id = key_id
        return instance


class EncryptedModel(RawKeyFree):
    """An aggregate root (or a child sharing its root's key) with encrypted fields."""

    data_key = models.ForeignKey("privacy.DataKey", on_delete=models.PROTECT, related_name="+", editable=False)

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if self.data_key_id is None:
            from privacy.crypto import data_key_create

            self.data_key = data_key_create()
        super().save(*args, **kwargs)


@cache
def _encrypted_attnames(model) -> tuple[str, ...]:
    return tuple(f.attname for f in model._meta.concrete_fields if isinstance(f, _EncryptedMixin))
