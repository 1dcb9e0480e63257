"""Encrypted model fields.

Values are encrypted with the data key of the aggregate the row belongs to (its `data_key`
foreign key) when the row is saved, and decrypted when the attribute is read, so code that may
read a record sees plaintext and the database, its backups and its history tables see ciphertext.
Filtering on an encrypted field is refused: search goes through blind indexes.
"""

from __future__ import annotations

import json

from django.db import models
from django.db.models.query_utils import DeferredAttribute

from privacy.crypto import decrypt, encrypt, instance_data_key

#: What a reader sees once the record's data key has been destroyed.
REDACTED = "verwijderd volgens bewaartermijn"


class Ciphertext(str):
    """A stored, still encrypted value."""


class _EncryptedAttribute(DeferredAttribute):
    """A data descriptor (it has __set__), so reads always pass through __get__ and decrypt;
    Django's own DeferredAttribute is shadowed by the instance dict once loaded."""

    def __set__(self, instance, value):
        instance.__dict__[self.field.attname] = value

    def __get__(self, instance, cls=None):
        if instance is None:
            return self
        value = super().__get__(instance, cls)
        if isinstance(value, Ciphertext):
            plaintext = self.field.decrypt_for(instance, value)
            instance.__dict__[self.field.attname] = plaintext
            instance.__dict__.setdefault("_weerbaar_ciphertexts", {})[self.field.attname] = (plaintext, value)
            return plaintext
        return value


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

    def decrypt_for(self, instance, token: Ciphertext):
        key = instance_data_key(instance)
        if key is None:
            return self.redacted()
        return self.from_bytes(decrypt(key[1], token, aad=self._aad(key[0])))

    def ciphertext_for(self, instance):
        """The ciphertext to store for the instance's current value (re-used when unchanged)."""
        value = instance.__dict__.get(self.attname)
        if value is None or isinstance(value, Ciphertext):
            return value
        cached = instance.__dict__.get("_weerbaar_ciphertexts", {}).get(self.attname)
        if cached is not None and cached[0] == value:
            return cached[1]
        key = instance_data_key(instance)
        if key is None:
            raise ValueError(f"{type(instance).__name__}.{self.name}: geen datasleutel om mee te versleutelen")
        token = Ciphertext(encrypt(key[1], self.to_bytes(value), aad=self._aad(key[0])))
        instance.__dict__.setdefault("_weerbaar_ciphertexts", {})[self.attname] = (value, token)
        return token

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
        return json.loads(data)


class EncryptedModel(models.Model):
    """An aggregate root (or a child sharing its root's key) with encrypted fields."""

    data_key = models.ForeignKey("privacy.DataKey", on_delete=models.PROTECT, related_name="+", editable=False)

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if self.data_key_id is None:
            from privacy.crypto import data_key_create

            self.data_key = data_key_create()
        super().save(*args, **kwargs)
