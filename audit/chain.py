"""The hash chain over audit events: HMAC-SHA256 with a key outside the database, so a database
administrator can change rows but cannot make the chain agree again."""

from __future__ import annotations

import hmac
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache

from privacy.keyring import keyring

FIELDS = (
    "id",
    "chain",
    "seq",
    "at",
    "organisation_id",
    "actor_id",
    "actor_role",
    "action",
    "record_type",
    "record_id",
    "data",
    "prev_hash",
    "hash",
)


#: The fields the hash covers, in FIELDS order (all but the id and the hash itself).
HASHED_FIELDS = FIELDS[1:-1]


def chain_for(organisation_id: int | None) -> str:
    return f"org:{organisation_id}" if organisation_id else "platform"


def utc_text(at: datetime) -> str:
    """The moment as the hash covers it: UTC, microseconds, e.g. 2026-03-14T09:30:00.000000Z."""
    # isoformat gives the same text as strftime("%Y-%m-%dT%H:%M:%S.%f") for years 1000 and on,
    # at a fraction of the cost (tested against it).
    return at.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def event_hash(*, key: bytes, at: datetime, **fields) -> str:
    """The hash of an event with the moment `at`; `fields` are the other hashed fields (see _hash)."""
    return _hash(key=key, at_text=utc_text(at), **fields)


#: The data as the hash covers it: JSON with sorted keys and no spaces. One encoder for all events
#: (json.dumps with these options builds a new one per call).
_CANONICAL_JSON = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


@lru_cache(maxsize=8)
def _keyed_hmac(key: bytes):
    """An HMAC-SHA256 already keyed with `key`; each event hashes a copy of it, which skips
    setting the key up again (a verification hashes a million events)."""
    return hmac.new(key, digestmod="sha256")


def _hash(
    key: bytes,
    chain: str,
    seq: int,
    at_text: str,
    organisation_id: int | None,
    actor_id: int | None,
    actor_role: str,
    action: str,
    record_type: str,
    record_id: str,
    data: dict,
    prev_hash: str,
) -> str:
    canonical = "\x1f".join(
        (
            chain,
            str(seq),
            at_text,
            "" if organisation_id is None else str(organisation_id),
            "" if actor_id is None else str(actor_id),
            actor_role,
            action,
            record_type,
            record_id,
            _CANONICAL_JSON.encode(data),
            prev_hash,
        )
    )
    digest = _keyed_hmac(key).copy()
    digest.update(canonical.encode())
    return digest.hexdigest()


@dataclass
class ChainProblem:
    event_id: int | None
    chain: str
    seq: int
    reason: str

    def __str__(self) -> str:
        where = f"event {self.event_id}" if self.event_id is not None else "einde van de keten"
        return f"{where} (keten {self.chain}, volgnummer {self.seq}): {self.reason}"


@dataclass
class ChainReport:
    checked: int
    chains: int
    problem: ChainProblem | None

    @property
    def ok(self) -> bool:
        return self.problem is None


def verify_rows(
    rows: Iterable[tuple],
    heads: dict[str, tuple[int, str]],
    heads_after: Callable[[], dict[str, tuple[int, str]]] | None = None,
) -> ChainReport:
    """Checks rows ordered by (chain, seq) against themselves and the chain heads.

    A row holds the FIELDS in order, with the moment as `utc_text` gives it (audit.selectors reads
    it so from the database) and the data as a dict or JSON text.

    `heads` were read before the rows, `heads_after` (when given) reads them again after the walk:
    writers go on meanwhile, so a chain's last event may lie between the two, and no snapshot is
    needed. Stops at the first broken event: altered (hash differs), removed (a number is
    missing), inserted (its predecessor's hash does not match), removed at the end (the head was
    further before the walk) or added beyond the head (further than the head after the walk)."""
    key = keyring().audit_key
    checked = 0
    ends: dict[str, tuple[int, str]] = {}
    current_chain = None
    expected_seq = 1
    previous_hash = ""

    for row in rows:
        event_id, chain, seq, at_text, organisation_id = row[:5]
        data, prev_hash, stored = row[10:]
        if chain != current_chain:
            if current_chain is not None:
                ends[current_chain] = (expected_seq - 1, previous_hash)
            current_chain, expected_seq, previous_hash = chain, 1, ""
            ends[chain] = (0, "")
        checked += 1
        if chain != chain_for(organisation_id):
            return ChainReport(
                checked,
                len(ends),
                ChainProblem(event_id, chain, seq, "staat bij een andere organisatie dan zijn keten"),
            )
        if seq != expected_seq:
            reason = "een of meer eerdere events ontbreken" if seq > expected_seq else "dubbel volgnummer"
            return ChainReport(checked, len(ends), ChainProblem(event_id, chain, seq, reason))
        if prev_hash != previous_hash:
            return ChainReport(
                checked,
                len(ends),
                ChainProblem(event_id, chain, seq, "sluit niet aan op het vorige event (ingevoegd of vervangen)"),
            )
        if isinstance(data, str):  # some backends hand back JSON as text
            data = json.loads(data)
        # row[4:10]: organisation_id, actor_id, actor_role, action, record_type, record_id
        computed = _hash(key, chain, seq, at_text, *row[4:10], data, prev_hash)
        if not hmac.compare_digest(computed, stored):
            return ChainReport(
                checked,
                len(ends),
                ChainProblem(event_id, chain, seq, "de hash klopt niet: het event is gewijzigd of ingevoegd"),
            )
        previous_hash = stored
        expected_seq += 1
    if current_chain is not None:
        ends[current_chain] = (expected_seq - 1, previous_hash)

    after = heads_after() if heads_after is not None else heads
    for chain, (last_seq, last_hash) in ends.items():
        if problem := _end_problem(chain, last_seq, last_hash, heads.get(chain), after.get(chain)):
            return ChainReport(checked, len(ends), problem)
    for chain, (last_seq, _) in heads.items():
        if chain not in ends and last_seq > 0:
            return ChainReport(checked, len(ends), ChainProblem(None, chain, 0, "alle events zijn verwijderd"))
    return ChainReport(checked, len(ends), None)


def _end_problem(
    chain: str, last_seq: int, last_hash: str, before: tuple[int, str] | None, after: tuple[int, str] | None
) -> ChainProblem | None:
    """Whether a chain's last event agrees with its head as read before and after the walk."""
    if before is not None and before[0] > last_seq:
        return ChainProblem(None, chain, last_seq, f"events na volgnummer {last_seq} zijn verwijderd")
    mismatch = ChainProblem(None, chain, last_seq, "het einde van de keten klopt niet met de laatst geschreven stand")
    if before is not None and before[0] == last_seq and before[1] != last_hash:
        return mismatch
    if after is not None and (last_seq > after[0] or (last_seq == after[0] and after[1] != last_hash)):
        return mismatch
    return None
