"""django-simple-history, set up for Weerbaar.

- Deleting a record deletes its history (retention destroys everything; there are no other hard
  deletes), instead of writing a deletion copy of the content.
- History rows of encrypted fields hold the very ciphertext of the row they copy, under the same
  data key, so purging and key rotation cover them.
- The history manager class is built once per model instead of on every save: in
  django-simple-history 3.13 `HistoryDescriptor.__get__` calls `Manager.from_queryset` on each
  access, and every save accesses it, which costs about as much as the insert itself.
"""

from __future__ import annotations

from simple_history.manager import HistoryDescriptor
from simple_history.models import HistoricalRecords
from simple_history.signals import pre_create_historical_record


class _CachedHistoryDescriptor(HistoryDescriptor):
    def __init__(self, original: HistoryDescriptor):
        super().__init__(original.model, manager=original.manager_class, queryset=original.queryset_class)
        self._manager_class = self.manager_class.from_queryset(self.queryset_class)

    def __get__(self, instance, owner):
        return self._manager_class(self.model, instance)


class WeerbaarHistoricalRecords(HistoricalRecords):
    def __init__(self, **kwargs):
        kwargs.setdefault("cascade_delete_history", True)
        super().__init__(**kwargs)

    def finalize(self, sender, **kwargs):
        super().finalize(sender, **kwargs)
        descriptor = sender.__dict__.get(self.manager_name)
        if isinstance(descriptor, HistoryDescriptor) and not isinstance(descriptor, _CachedHistoryDescriptor):
            setattr(sender, self.manager_name, _CachedHistoryDescriptor(descriptor))


def _copy_ciphertexts(sender, instance, history_instance, **kwargs):
    """Give the history row the ciphertext the source row was saved with."""
    from privacy.fields import Ciphertext

    ciphertexts = instance.__dict__.get("_weerbaar_ciphertexts")
    if not ciphertexts:
        return
    for attname, (plaintext, token) in ciphertexts.items():
        if history_instance.__dict__.get(attname) == plaintext and isinstance(token, Ciphertext):
            history_instance.__dict__[attname] = token
            history_instance.__dict__.setdefault("_weerbaar_ciphertexts", {})[attname] = (plaintext, token)


pre_create_historical_record.connect(_copy_ciphertexts, dispatch_uid="weerbaar_copy_ciphertexts")
