"""django-simple-history, set up for Weerbaar.

- Deleting a record deletes its history (retention destroys everything; there are no other hard
  deletes), instead of writing a deletion copy of the content.
- History rows of encrypted fields hold the very ciphertext of the row they copy, under the same
  data key, so purging and key rotation cover them.
- The history manager class is built once per model instead of on every save: in
  django-simple-history 3.13 `HistoryDescriptor.__get__` calls `Manager.from_queryset` on each
  access, and every save accesses it, which costs about as much as the insert itself.
- History tables index only the record id and the data key (see `copy_fields` and
  `_get_history_user_fields`; SIMPLE_HISTORY_DATE_INDEX is off): fewer index pages written per
  save.
- The history row is written with one plain INSERT (`privacy.sql.insert_row`) instead of the
  ORM's save, unless something listens to simple-history's pre/post-create signals; then the row
  is built and saved as simple-history does, so those receivers see and may change it.
- Rows created together (privacy.records, or `bulk_create`, which sends no post_save) get their
  history rows from `history_create_bulk`: copied from the stored rows by the database, in one
  INSERT.
"""

from __future__ import annotations

from functools import cache

from django.db import DEFAULT_DB_ALIAS, connections, models
from django.utils import timezone
from simple_history.manager import HistoryDescriptor
from simple_history.models import HistoricalRecords
from simple_history.signals import post_create_historical_record, pre_create_historical_record

from privacy.sql import insert_row, prepared_values, write_cursor

# The HistoricalRecords of each model that has one, for history_create_bulk.
_RECORDS: dict[type, WeerbaarHistoricalRecords] = {}


class _CachedHistoryDescriptor(HistoryDescriptor):
    def __init__(self, original: HistoryDescriptor):
        super().__init__(original.model, manager=original.manager_class, queryset=original.queryset_class)
        self._manager_class = self.manager_class.from_queryset(self.queryset_class)

    def __get__(self, instance, owner):
        return self._manager_class(self.model, instance)


class WeerbaarHistoricalRecords(HistoricalRecords):
    def __init__(self, **kwargs):
        kwargs.setdefault("cascade_delete_history", True)
        from privacy.fields import RawKeyFree

        kwargs.setdefault("bases", (RawKeyFree,))  # history rows read encrypted fields too
        if kwargs.get("m2m_fields") or kwargs.get("related_name"):
            raise ValueError("WeerbaarHistoricalRecords does not support m2m_fields or related_name")
        super().__init__(**kwargs)
        self._tracked: dict[type, tuple] = {}

    def copy_fields(self, model):
        """History tables are written on every save and read per record: only the record's id and
        its data key (which purging deletes by) keep their index there."""
        fields = super().copy_fields(model)
        for name, field in fields.items():
            if name not in {model._meta.pk.name, "data_key"}:
                field.db_index = False
        return fields

    def _get_history_user_fields(self):
        """The history user without an index of its own: "what did this person change" is asked of
        the audit trail, and every save writes a history row, so every index costs each write."""
        fields = super()._get_history_user_fields()
        user = fields.get("history_user")
        if isinstance(user, models.ForeignKey):
            user.db_index = False
        return fields

    def finalize(self, sender, **kwargs):
        super().finalize(sender, **kwargs)
        if sender is self.cls:
            _RECORDS[sender] = self
        descriptor = sender.__dict__.get(self.manager_name)
        if isinstance(descriptor, HistoryDescriptor) and not isinstance(descriptor, _CachedHistoryDescriptor):
            setattr(sender, self.manager_name, _CachedHistoryDescriptor(descriptor))

    def _tracked_fields(self, model) -> tuple[type, tuple]:
        """The history model of `model` and the fields it copies, each with whether it is encrypted."""
        tracked = self._tracked.get(model)
        if tracked is None:
            from privacy.fields import _EncryptedMixin

            if self.get_m2m_fields_from_model(model):
                raise ValueError(f"{model.__name__}: WeerbaarHistoricalRecords does not support m2m history")
            history_model = getattr(model, self.manager_name).model
            fields = tuple((f, isinstance(f, _EncryptedMixin)) for f in self.fields_included(model))
            tracked = self._tracked[model] = (history_model, fields)
        return tracked

    def _history_values(self, instance, history_type, using) -> tuple[dict, object]:
        """The history row's values for `instance` as it is now, and the history user."""
        _, fields = self._tracked_fields(type(instance))
        history_user = self.get_history_user(instance)
        values = {field.attname: _saved_value(instance, field, encrypted) for field, encrypted in fields}
        values["history_date"] = getattr(instance, "_history_date", None) or timezone.now()
        values["history_type"] = history_type
        values["history_user_id"] = getattr(history_user, "pk", None)
        values["history_change_reason"] = self.get_change_reason_for_object(instance, history_type, using)
        return values, history_user

    @staticmethod
    def _listened(history_model) -> bool:
        # Asked on every write; nothing in the product connects to these signals, and an empty
        # receiver list answers without has_listeners' lock and receiver walk.
        return bool(pre_create_historical_record.receivers or post_create_historical_record.receivers) and (
            pre_create_historical_record.has_listeners(history_model)
            or post_create_historical_record.has_listeners(history_model)
        )

    def create_historical_record(self, instance, history_type, using=None):
        using = using if self.use_base_model_db else None
        history_model, _ = self._tracked_fields(type(instance))
        values, history_user = self._history_values(instance, history_type, using)
        if not self._listened(history_model):
            insert_row(history_model, values)
            return
        # simple-history's own sequence, for receivers that look at or change the row.
        history_instance = history_model(**values)
        signal_kwargs = {
            "instance": instance,
            "history_date": values["history_date"],
            "history_user": history_user,
            "history_change_reason": values["history_change_reason"],
            "history_instance": history_instance,
            "using": using,
        }
        pre_create_historical_record.send(sender=history_model, **signal_kwargs)
        history_instance.save(using=using)
        post_create_historical_record.send(sender=history_model, **signal_kwargs)


def _saved_value(instance, field, encrypted: bool):
    """The value the row holds now; for an encrypted field the ciphertext it was saved with
    (cached on the instance), not a new encryption."""
    if not encrypted:
        return getattr(instance, field.attname)
    if field.attname not in instance.__dict__:
        getattr(instance, field.attname)  # deferred (loaded with .only()): load it first
    return field.ciphertext_for(instance)


def _records_of(model) -> WeerbaarHistoricalRecords:
    records = _RECORDS.get(model)
    if records is None:
        raise ValueError(f"{model.__name__} keeps no history (WeerbaarHistoricalRecords)")
    return records


def history_model_of(model):
    """The history model of `model` (which keeps history with WeerbaarHistoricalRecords)."""
    return _records_of(model)._tracked_fields(model)[0]


def history_receiver(model):
    """simple-history's post_save receiver of `model` (it writes the history row of a save)."""
    return _records_of(model).post_save


def history_listened(model) -> bool:
    """Whether something listens to simple-history's create signals for `model`'s history rows:
    then they are built and saved the ORM way (history_create_bulk), so receivers see them."""
    return _records_of(model)._listened(history_model_of(model))


_HISTORY_COLUMNS = ("history_date", "history_type", "history_user_id", "history_change_reason")


def history_copy_statement(instance, history_type: str, *, source: str) -> tuple[str, list]:
    """The INSERT of `instance`'s history row as a copy of its stored row, made by the database:
    `INSERT INTO <history> (...) SELECT <the row's columns>, <history date, type, user, reason>
    FROM {source}`, where `source` yields the stored row (a WITH's name, or the table with a
    WHERE whose parameters the caller appends). The copy holds the very ciphertext by
    construction, and no value is prepared or sent twice. Only when not history_listened."""
    model = type(instance)
    records = _records_of(model)
    if history_listened(model):
        raise RuntimeError(f"{model.__name__}: history receivers listen; use history_create_bulk")
    sql, meta_fields = _copy_statement(model, source)
    user = records.get_history_user(instance)
    values = (
        getattr(instance, "_history_date", None) or timezone.now(),
        history_type,
        getattr(user, "pk", None),
        records.get_change_reason_for_object(instance, history_type, None),
    )
    return sql, prepared_values(meta_fields, values, connections[DEFAULT_DB_ALIAS])


@cache
def _copy_statement(model, source: str) -> tuple[str, tuple]:
    history_model, fields = _records_of(model)._tracked_fields(model)
    quote = connections[DEFAULT_DB_ALIAS].ops.quote_name
    meta_fields = tuple(history_model._meta.get_field(name) for name in _HISTORY_COLUMNS)
    targets = [history_model._meta.get_field(field.name).column for field, _ in fields]
    targets += [field.column for field in meta_fields]
    sources = [quote(field.column) for field, _ in fields] + ["%s"] * len(meta_fields)
    sql = (
        f"INSERT INTO {quote(history_model._meta.db_table)} ({', '.join(quote(c) for c in targets)}) "  # noqa: S608
        f"SELECT {', '.join(sources)} FROM {source}"
    )
    return sql, meta_fields


def history_create_bulk(instances: list, *, history_type: str = "+", cursor=None) -> None:
    """History rows for `instances` (saved rows of one model with one history user, e.g. just
    made with bulk_create, which writes no history), copied from their stored rows in one
    statement (history_copy_statement), with one history date for all. `cursor`: a write_cursor
    the caller has open already (privacy.records), else one is opened."""
    if not instances:
        return
    model = type(instances[0])
    if any(type(instance) is not model or instance.pk is None for instance in instances):
        raise ValueError("history_create_bulk takes saved rows of one model")
    records = _records_of(model)
    history_model, _ = records._tracked_fields(model)
    if records._listened(history_model):
        for instance in instances:
            records.create_historical_record(instance, history_type)
        return
    users = {getattr(records.get_history_user(instance), "pk", None) for instance in instances}
    if len(users) > 1:
        raise ValueError("history_create_bulk takes rows with one history user")
    sql, params = history_copy_statement(instances[0], history_type, source=_rows_by_pk(model, len(instances)))
    params.extend(instance.pk for instance in instances)
    if cursor is not None:
        cursor.execute(sql, params)
        return
    with write_cursor() as cursor:
        cursor.execute(sql, params)


@cache
def _rows_by_pk(model, count: int) -> str:
    """The source of history_copy_statement for `count` stored rows of `model`, by primary key."""
    quote = connections[DEFAULT_DB_ALIAS].ops.quote_name
    keys = "= %s" if count == 1 else f"IN ({', '.join(['%s'] * count)})"
    return f"{quote(model._meta.db_table)} WHERE {quote(model._meta.pk.column)} {keys}"
