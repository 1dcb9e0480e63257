"""Blind indexes: a keyed HMAC over a normalised identifier, for exact-match search and for finding
signals about the same subject without decrypting anything.

Each kind has its own normaliser; they raise ValidationError with a Dutch message for input
that cannot be the identifier it claims to be.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata
from datetime import date

from django.core.exceptions import ValidationError

from privacy.keyring import keyring


def normalise_kvk(value: str) -> str:
    digits = re.sub(r"[\s.\-]", "", value or "")
    if not re.fullmatch(r"[0-9]{8}", digits):
        raise ValidationError("Een KvK-nummer bestaat uit 8 cijfers.")
    return digits


def normalise_bsn(value: str) -> str:
    digits = re.sub(r"[\s.\-]", "", value or "")
    if re.fullmatch(r"[0-9]{8}", digits):
        digits = "0" + digits
    if not re.fullmatch(r"[0-9]{9}", digits):
        raise ValidationError("Een BSN bestaat uit 9 cijfers.")
    total = sum(int(d) * w for d, w in zip(digits[:8], range(9, 1, -1), strict=True)) - int(digits[8])
    if total % 11 != 0 or digits == "000000000":
        raise ValidationError("Dit is geen geldig BSN (de elfproef klopt niet).")
    return digits


_POSTCODE = re.compile(r"^([1-9][0-9]{3})\s*([A-Z]{2})$")


def normalise_postcode(value: str) -> str:
    match = _POSTCODE.match((value or "").strip().upper())
    if not match or match.group(2) in {"SA", "SD", "SS"}:
        raise ValidationError("Vul een postcode in als 1234 AB.")
    return match.group(1) + match.group(2)


def normalise_address(postcode: str, house_number: str | int, addition: str = "") -> str:
    number = str(house_number).strip()
    if not re.fullmatch(r"[1-9][0-9]{0,4}", number):
        raise ValidationError("Vul een huisnummer in (alleen cijfers).")
    extra = re.sub(r"[\s\-/]", "", addition or "").upper()
    if len(extra) > 6:
        raise ValidationError("Een toevoeging is hooguit 6 tekens.")
    return f"{normalise_postcode(postcode)}|{number}|{extra}"


# After the house number: a house letter (one letter on its own) and/or a toevoeging of up to
# four letters or digits, each after at most one separator. Nothing longer: "12 t/m 16", "12 en
# 14" or a place name after the number are refused, not read as a toevoeging that matches nothing.
_ADDRESS_IN_ONE = re.compile(
    r"^\s*([1-9][0-9]{3}\s*[A-Za-z]{2})\s*,?\s*([0-9]{1,5})(?![0-9])"
    r"(?:\s*[-/]?\s*([A-Za-z])(?![A-Za-z]))?"
    r"(?:\s*[-/]?\s*([A-Za-z0-9]{1,4}))?\s*$"
)


def normalise_address_text(value: str) -> str:
    """'1234 AB 12', '1234ab12' and '1234AB 12-a' in one field; a house letter with an addition
    too ('1234 AB 12 A 1', '12A-1', '12-A-1', '12/1'), as normalise_address reads them."""
    match = _ADDRESS_IN_ONE.match(value or "")
    if not match:
        raise ValidationError("Vul postcode en huisnummer in als 1234 AB 12.")
    return normalise_address(match.group(1), match.group(2), (match.group(3) or "") + (match.group(4) or ""))


def normalise_kenteken(value: str) -> str:
    """Dutch plates (6 characters) and foreign ones (a Belgian 1-ABC-123, a German B-AB 1234):
    letters and digits without the separators, upper case."""
    plate = re.sub(r"[\s\-.]", "", value or "").upper()
    if not re.fullmatch(r"[A-Z0-9]{2,10}", plate) or not re.search(r"[0-9]", plate):
        raise ValidationError("Een kenteken bestaat uit letters en cijfers, zoals AB-123-C.")
    return plate


def kenteken_display(plate: str) -> str:
    """A stored plate as it is written on a Dutch plate: six letters and digits with a dash where
    letters and digits change (VTX-12-B, 1-ABC-23, 999-XX-9), and in a run of four in the middle of
    the older ones (AB-12-34, 12-34-AB, AB-CD-12). Anything else (a foreign plate, which was
    stored without its separators) as it was stored."""
    letters_and_digits = re.sub(r"[\s\-.]", "", plate or "").upper()
    if not re.fullmatch(r"[A-Z0-9]{6}", letters_and_digits):
        return plate or ""
    groups = re.findall(r"[A-Z]+|[0-9]+", letters_and_digits)
    if len(groups) == 2 and sorted(map(len, groups)) == [2, 4]:
        groups = [part for group in groups for part in ((group[:2], group[2:]) if len(group) == 4 else (group,))]
    return "-".join(groups) if len(groups) == 3 else letters_and_digits


def normalise_email(value: str) -> str:
    address = (value or "").strip().lower()
    if not re.fullmatch(r"[^@\s]+@[^@\s]+\.[a-z]{2,}", address):
        raise ValidationError("Vul een geldig e-mailadres in.")
    return address


def normalise_phone(value: str) -> str:
    """To E.164; Dutch numbers may be written nationally (06-12345678, 020 123 4567)."""
    text = (value or "").strip().replace("(0)", "")
    digits = re.sub(r"[\s.\-()/]", "", text)
    if digits.startswith("+"):
        number = digits[1:]
    elif digits.startswith("00"):
        number = digits[2:]
    elif digits.startswith("0"):
        number = "31" + digits[1:]
    else:
        raise ValidationError("Vul een telefoonnummer in, zoals 06-12345678 of +31 6 12345678.")
    if (
        not re.fullmatch(r"[0-9]+", number)
        or not 8 <= len(number) <= 15
        or (number.startswith("31") and len(number) != 11)
    ):
        raise ValidationError("Dit telefoonnummer heeft niet het juiste aantal cijfers.")
    return "+" + number


# Latin letters that have no decomposition into a base letter and an accent.
_UNACCENTED = str.maketrans(
    {
        "ø": "o",
        "ł": "l",
        "đ": "d",
        "ð": "d",
        "ħ": "h",
        "\u0131": "i",
        "þ": "th",
        "æ": "ae",
        "œ": "oe",
    }  # \u0131: dotless i
)


def normalise_name(value: str) -> str:
    """Case, accents, punctuation and spacing do not count: 'José de Vries-Bakker' is 'jose de
    vries bakker'. Names in any script are kept (Cyrillic, Arabic, Chinese), letter for letter."""
    decomposed = unicodedata.normalize("NFKD", value or "")
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold().translate(_UNACCENTED)
    words = "".join(ch if ch.isalnum() else " " for ch in plain).split()
    if not words:
        raise ValidationError("Vul een naam in.")
    return " ".join(words)


# When a change to the rules makes a value already stored read differently (its index changes),
# raise signals.models.SUBJECT_INDEX_VERSION: the nightly reindex then brings stored subjects up
# to date.


def normalise_person(name: str, date_of_birth: date | None) -> str:
    """A person as the name read for the search (initials as one word: 'P.J. Jansen' is 'PJ
    Jansen') with the date of birth, if known."""
    return f"{normalise_name_for_search(name)}|{date_of_birth.isoformat() if date_of_birth else ''}"


NORMALISERS = {
    "kvk": normalise_kvk,
    "bsn": normalise_bsn,
    "address": normalise_address_text,
    "kenteken": normalise_kenteken,
    "email": normalise_email,
    "phone": normalise_phone,
}


def blind_index_of(kind: str, normalised: str) -> str:
    """HMAC-SHA256 of an already normalised value; the kind separates the domains."""
    message = f"{kind}:{normalised}".encode()
    return hmac.new(keyring().blind_index_key, message, hashlib.sha256).hexdigest()


def blind_index(kind: str, value: str) -> str:
    """Normalise `value` as `kind` and return its blind index (ValidationError on bad input)."""
    return blind_index_of(kind, NORMALISERS[kind](value))


def person_blind_index(name: str, date_of_birth: date | None) -> str:
    return blind_index_of("person", normalise_person(name, date_of_birth))


# Legal forms at the end of a company's name, which the person searching may leave out.
_LEGAL_FORMS = {"bv", "nv", "vof", "cv", "bvba", "gmbh", "ltd"}


def normalise_name_for_search(value: str, *, company: bool = False) -> str:
    """normalise_name, and then: initials and abbreviations read as one word however they are
    dotted or spaced ('B.V.', 'B V' and 'BV'; 'P.J.' and 'PJ'). For a company also a legal form at
    the end does not count: 'Snackbar De Hoek B.V.' is 'snackbar de hoek'. Not for a person: 'Jansen
    C.V.' and 'Jansen N.V.' are two people."""
    words, run = [], ""
    for word in normalise_name(value).split():
        if len(word) == 1:
            run += word
            continue
        if run:
            words.append(run)
            run = ""
        words.append(word)
    if run:
        words.append(run)
    while company and len(words) > 1 and words[-1] in _LEGAL_FORMS:
        words.pop()
    return " ".join(words)


def name_blind_index(name: str, *, company: bool = False) -> str:
    """A person's or a company's name alone: found by name, whatever else is known of them."""
    return blind_index_of("name", normalise_name_for_search(name, company=company))
