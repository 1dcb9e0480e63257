"""Files held between two sends of a form.

A browser does not put chosen files back in a file field. When the signal form comes back with an
error (a field, one refused file among several, a save that failed), or with one more subject block
("Nog een betrokkene toevoegen"), the files that passed the checks are held here, so the reporter
need not find and choose them again: each under a data key of its own, its name encrypted, its
content in an encrypted file (privacy.files). The form lists
them with a box to untick; when it is sent, the ticked ones go into the signal and all of them are
destroyed. Whatever is left is destroyed after HELD_FILE_HOURS by a periodic task (sooner when the
form's signal was stored without them).

A file is held for the account that sent the form, under the form's own key (a hidden field, never
in an address). A confidential reporter has no account: their files are found only by a browser
that was given that form (the signed cookie of confidential_views), within the same hours.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.db import DatabaseError, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from privacy.crypto import data_key_create
from privacy.files import encrypted_file_read, encrypted_file_save
from signals.attachments import CheckedFile
from signals.models import HeldFile, Signal

logger = logging.getLogger(__name__)

HELD_FILE_HOURS = 24

#: The form's tick boxes: the ids of the held files to send along.
HELD_FIELD = "bewaard"
#: Sent by a form that showed held files; without it a send looks none up (a form sent for the
#: first time costs no query for them).
HELD_SHOWN = "bewaard_getoond"


def submission_key_read(value) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except (TypeError, ValueError):
        return None


def held_files_for(*, organisation_id: int, data, holder) -> list[HeldFile]:
    """The files held for the form that sent `data` (request.POST) and for this account (`holder`
    None: a confidential reporter's)."""
    key = submission_key_read(data.get("submission_key"))
    if key is None or HELD_SHOWN not in data:
        return []
    held = HeldFile.objects.filter(
        organisation_id=organisation_id,
        submission_key=key,
        created_at__gt=timezone.now() - timedelta(hours=HELD_FILE_HOURS),
    )
    held = held.filter(holder__isnull=True) if holder is None else held.filter(holder=holder)
    return list(held.select_related("data_key"))


def held_ticked(held: Iterable[HeldFile], data) -> list[HeldFile]:
    """The held files whose box was ticked in `data` (the form's request.POST)."""
    ticked = _ticked_ids(data)
    return [row for row in held if str(row.pk) in ticked]


def held_ticked_missing(held: Iterable[HeldFile], data) -> int:
    """How many boxes were ticked for files that are no longer held (destroyed after
    HELD_FILE_HOURS while the page was open)."""
    return len(_ticked_ids(data) - {str(row.pk) for row in held})


def _ticked_ids(data) -> set[str]:
    return set(data.getlist(HELD_FIELD)) if hasattr(data, "getlist") else set()


def files_hold_after_failed_send(form, *, organisation_id: int, holder, hold_new: bool = True) -> list | None:
    """After a send of the form that stored nothing: destroys the held files the reporter unticked
    (or whose stored file is gone), holds the new files that passed the checks, and leaves on the
    form what it shows next. Returns the new rows, or None when new files passed the checks but
    could not be held (`hold_new` False, or the database is down): the page then asks to choose
    them again."""
    gone = {held.pk for held in form.held_gone}
    kept = {held.pk for held in form.held_kept()} - gone
    dropped = [held.pk for held in form.held if held.pk not in kept]
    form.held = [held for held in form.held if held.pk in kept]
    try:
        held_files_destroy(dropped)
        if not form.checked_files:
            return []
        if not hold_new:
            return None
        new = files_hold(
            organisation_id=organisation_id,
            submission_key=form.data.get("submission_key"),
            holder=holder,
            files=form.checked_files,
        )
    except DatabaseError as error:
        logger.error("files not held: %s", type(error).__name__)  # no details: they can quote values
        return None if form.checked_files else []
    form.held += new
    return new


def files_hold(*, organisation_id: int, submission_key, holder, files: Iterable[CheckedFile]) -> list[HeldFile]:
    """Holds checked files for the form; returns the new rows. Each file is written before the
    row that names it: a file whose row never commits is removed by the orphan sweep."""
    key = submission_key_read(submission_key)
    rows = []
    for checked in files if key is not None else ():
        with transaction.atomic():
            data_key = data_key_create()
            storage_name = encrypted_file_save(data_key=data_key, content=checked.content)
            rows.append(
                HeldFile.objects.create(
                    data_key=data_key,
                    organisation_id=organisation_id,
                    submission_key=key,
                    holder=holder,
                    filename=checked.filename,
                    content_type=checked.content_type,
                    size=len(checked.content),
                    storage_name=storage_name,
                    scan_status=checked.scan_status,
                    created_at=timezone.now(),
                )
            )
    return rows


def held_file_checked(held: HeldFile) -> CheckedFile | None:
    """The held file as the form checked it, or None when it is gone (destroyed meanwhile)."""
    content = encrypted_file_read(instance=held, name=held.storage_name)
    if content is None:
        return None
    return CheckedFile(
        filename=held.filename, content=content, content_type=held.content_type, scan_status=held.scan_status
    )


def held_files_destroy(held_ids: Iterable) -> int:
    """Destroys held files: their rows and, through signals.receivers, their keys and (after the
    commit) the encrypted files."""
    ids = list(held_ids)
    if not ids:
        return 0
    with transaction.atomic():
        destroyed, _ = HeldFile.objects.filter(pk__in=ids).delete()
    return destroyed


def leftover_held_files_destroy(*, now: datetime | None = None) -> int:
    """The files of forms that were left, HELD_FILE_HOURS after they were held; and at once those
    of forms whose signal is stored: held under a page that did not show them (the reporter went
    back to the first page and sent that), no send can take them any more."""
    cutoff = (now or timezone.now()) - timedelta(hours=HELD_FILE_HOURS)
    sent = Signal.objects.filter(organisation_id=OuterRef("organisation_id"), submission_key=OuterRef("submission_key"))
    leftover = HeldFile.objects.filter(Q(created_at__lte=cutoff) | Exists(sent))
    destroyed = 0
    while ids := list(leftover.values_list("pk", flat=True)[:500]):
        destroyed += held_files_destroy(ids)
    if destroyed:
        logger.info("destroyed %s held files of forms that were left or sent without them", destroyed)
    return destroyed
