"""Master keys, the blind-index key, the pseudonym key and the audit key.

Keys come from the environment and never enter the database, the repository, logs or error pages
(Django's error reports hide settings whose name contains KEY). In the embedded default they are
generated once into var/keys.json, outside git.

WEERBAAR_MASTER_KEYS is a comma-separated list of `id:key` pairs, key = 32 bytes in urlsafe
base64; the first one encrypts new data keys, every one decrypts.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import secrets
from dataclasses import dataclass
from functools import cache, cached_property
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

KEY_BYTES = 32
MASTER_KEY_ID_MAX = 50  # DataKey.master_key_id
NONCE_BYTES = 12


def encode_key(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_key(name: str, text: str) -> bytes:
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != KEY_BYTES:
        raise ImproperlyConfigured(f"De sleutel in {name} is ongeldig: verwacht 32 bytes in urlsafe base64.")
    return raw


def new_key_text() -> str:
    return encode_key(secrets.token_bytes(KEY_BYTES))


@dataclass(frozen=True, repr=False)
class KeyRing:
    master_keys: tuple[tuple[str, bytes], ...]  # newest first
    blind_index_key: bytes
    pseudonym_key: bytes
    audit_key: bytes

    def __repr__(self) -> str:
        # Names only: a traceback with local variables or a debug page must not show a key.
        return f"KeyRing(master key ids {[key_id for key_id, _ in self.master_keys]})"

    @property
    def current_id(self) -> str:
        return self.master_keys[0][0]

    def master(self, key_id: str) -> bytes:
        for candidate_id, key in self.master_keys:
            if candidate_id == key_id:
                return key
        raise MissingMasterKey(key_id)

    @cached_property
    def _ciphers(self) -> dict[str, AESGCM]:
        """One AES-GCM object per master key, made once: a page of records unwraps a data key per
        row, and setting up the cipher costs more than the unwrap itself."""
        return {key_id: AESGCM(key) for key_id, key in self.master_keys}

    def _cipher(self, key_id: str) -> AESGCM:
        cipher = self._ciphers.get(key_id)
        if cipher is None:
            raise MissingMasterKey(key_id)
        return cipher

    def wrap(self, data_key: bytes, *, context: bytes) -> tuple[str, bytes]:
        nonce = os.urandom(NONCE_BYTES)
        wrapped = nonce + self._cipher(self.current_id).encrypt(nonce, data_key, context)
        return self.current_id, wrapped

    def unwrap(self, key_id: str, wrapped: bytes, *, context: bytes) -> bytes:
        try:
            return self._cipher(key_id).decrypt(wrapped[:NONCE_BYTES], wrapped[NONCE_BYTES:], context)
        except InvalidTag:
            raise WrongMasterKey(key_id) from None


class MissingMasterKey(ImproperlyConfigured):
    def __init__(self, key_id: str):
        super().__init__(
            f"Hoofdsleutel '{key_id}' ontbreekt in WEERBAAR_MASTER_KEYS, maar er zijn gegevens mee versleuteld. "
            "Zet de sleutel terug, of draai eerst 'manage.py rotate_keys' voordat u hem verwijdert."
        )
        self.key_id = key_id


class WrongMasterKey(ImproperlyConfigured):
    def __init__(self, key_id: str):
        super().__init__(
            f"Hoofdsleutel '{key_id}' in WEERBAAR_MASTER_KEYS past niet bij de database: ontsleutelen mislukt. "
            "Controleer de sleutel; Weerbaar start niet met een verkeerde sleutel."
        )
        self.key_id = key_id


def _parse_master_keys(text: str) -> tuple[tuple[str, bytes], ...]:
    keys = []
    for item in [part.strip() for part in text.split(",") if part.strip()]:
        key_id, sep, key_text = item.partition(":")
        if not sep or not key_id:
            raise ImproperlyConfigured("WEERBAAR_MASTER_KEYS moet de vorm 'id:sleutel,id:sleutel' hebben.")
        if len(key_id) > MASTER_KEY_ID_MAX:
            # The id is stored with every data key (DataKey.master_key_id): refuse at start-up what
            # every write would otherwise refuse later.
            raise ImproperlyConfigured(
                f"Een sleutel-id in WEERBAAR_MASTER_KEYS is hooguit {MASTER_KEY_ID_MAX} tekens lang."
            )
        keys.append((key_id, decode_key("WEERBAAR_MASTER_KEYS", key_text)))
    if not keys:
        raise ImproperlyConfigured("De instelling WEERBAAR_MASTER_KEYS ontbreekt.")
    if len({key_id for key_id, _ in keys}) != len(keys):
        raise ImproperlyConfigured("WEERBAAR_MASTER_KEYS bevat een sleutel-id twee keer.")
    return tuple(keys)


def _development_keys(path: Path) -> dict[str, str]:
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        data = {
            "WEERBAAR_MASTER_KEYS": f"dev1:{new_key_text()}",
            "WEERBAAR_BLIND_INDEX_KEY": new_key_text(),
            "WEERBAAR_PSEUDONYM_KEY": new_key_text(),
            "WEERBAAR_AUDIT_KEY": new_key_text(),
        }
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(data, handle, indent=2)
    return json.loads(path.read_text())


@cache
def keyring() -> KeyRing:
    values = {
        name: getattr(settings, name)
        for name in ("WEERBAAR_MASTER_KEYS", "WEERBAAR_BLIND_INDEX_KEY", "WEERBAAR_PSEUDONYM_KEY", "WEERBAAR_AUDIT_KEY")
    }
    if not all(values.values()):
        if settings.PRODUCTION:
            missing = next(name for name, value in values.items() if not value)
            raise ImproperlyConfigured(f"De instelling {missing} ontbreekt. Zet de omgevingsvariabele {missing}.")
        generated = _development_keys(Path(settings.VAR_DIR) / "keys.json")
        values = {name: value or generated[name] for name, value in values.items()}
    return KeyRing(
        master_keys=_parse_master_keys(values["WEERBAAR_MASTER_KEYS"]),
        blind_index_key=decode_key("WEERBAAR_BLIND_INDEX_KEY", values["WEERBAAR_BLIND_INDEX_KEY"]),
        pseudonym_key=decode_key("WEERBAAR_PSEUDONYM_KEY", values["WEERBAAR_PSEUDONYM_KEY"]),
        audit_key=decode_key("WEERBAAR_AUDIT_KEY", values["WEERBAAR_AUDIT_KEY"]),
    )


#: Master key ids whose check row is known to exist (privacy.crypto).
checked_key_ids: set[str] = set()


def reset_keyring_cache() -> None:
    """For tests and after a settings change: the next call reads the keys again."""
    keyring.cache_clear()
    checked_key_ids.clear()
