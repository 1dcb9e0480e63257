"""Stable pseudonyms per context: the same subject gets the same pseudonym within one context (one
meeting, one partner) and unrelated ones across contexts, so what is shared cannot be linked."""

from __future__ import annotations

import base64
import hashlib
import hmac

from privacy.keyring import keyring


def pseudonym(context: str, subject_index: str) -> str:
    """`subject_index` is the subject's blind index; `context` e.g. "meeting:12|partner:5"."""
    digest = hmac.new(keyring().pseudonym_key, f"{context}\x00{subject_index}".encode(), hashlib.sha256).digest()
    code = base64.b32encode(digest[:10]).decode()
    return f"P-{code[:4]}-{code[4:8]}-{code[8:12]}"
