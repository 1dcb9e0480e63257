from __future__ import annotations

from datetime import date

import pytest
from django.core.exceptions import ValidationError

from privacy.blind_index import (
    blind_index,
    kenteken_display,
    normalise_bsn,
    normalise_kenteken,
    normalise_phone,
    person_blind_index,
)
from privacy.pseudonyms import pseudonym


@pytest.mark.parametrize(
    ("kind", "a", "b"),
    [
        ("kvk", "1234 5678", "12345678"),
        ("kvk", "12.34.56.78", "12345678"),
        ("address", "1234 AB 12", "1234ab12"),
        ("address", "1234AB 12-a", "1234 ab 12 A"),
        # A house letter with an addition, however it is separated.
        ("address", "1234 AB 12 A 1", "1234AB 12A-1"),
        ("address", "1234AB 12-A-1", "1234ab12a1"),
        ("address", "1234 AB 12/1", "1234AB 12-1"),
        ("kenteken", "ab-123-c", "AB123C"),
        ("email", " Piet@Example.NL ", "piet@example.nl"),
        ("phone", "06-12345678", "+31 6 12345678"),
        ("phone", "0031 (0)6 1234 5678", "+31612345678"),
        ("phone", "020 123 4567", "+31201234567"),
        ("bsn", "1112 22 333", "111222333"),
    ],
)
def test_equivalent_spellings_match(kind, a, b):
    assert blind_index(kind, a) == blind_index(kind, b)


@pytest.mark.parametrize(
    ("kind", "a", "b"),
    [
        ("kvk", "12345678", "12345679"),
        ("address", "1234 AB 12", "1234 AB 13"),
        ("address", "1234 AB 12", "1234 AB 12 A"),
        ("address", "1234 AB 12 A 1", "1234 AB 12 A 2"),
        ("address", "1234 AB 12 A1", "1234 AB 12 A"),
        ("phone", "06-12345678", "06-12345679"),
    ],
)
def test_different_identifiers_do_not_match(kind, a, b):
    assert blind_index(kind, a) != blind_index(kind, b)


@pytest.mark.parametrize(
    "typed", ["1234 AB 12 t/m 16", "1234 AB 12 en 14", "1234 AB 12 De Rijp", "1234 AB 12 - -", "1234 AB 123456"]
)
def test_free_text_after_the_house_number_is_refused_not_read_as_a_toevoeging(typed):
    """A range, two numbers or a place name would give an index that matches nothing."""
    with pytest.raises(ValidationError, match="Vul postcode en huisnummer in als 1234 AB 12"):
        blind_index("address", typed)


def test_person_matches_on_name_and_date_of_birth_ignoring_accents_and_case():
    one = person_blind_index("José  de Vries-Bakker", date(1980, 5, 17))
    assert one == person_blind_index("jose de vries bakker", date(1980, 5, 17))
    assert one != person_blind_index("jose de vries bakker", date(1980, 5, 18))


def test_a_persons_initials_count_as_one_word_however_they_are_dotted_or_spaced():
    born = date(1980, 5, 17)
    one = person_blind_index("P.J. Jansen", born)
    assert one == person_blind_index("PJ Jansen", born) == person_blind_index("p. j. jansen", born)
    assert one != person_blind_index("P. Jansen", born)
    assert one != person_blind_index("PJ Jansen", date(1980, 5, 18))


def test_names_in_any_script_are_kept_letter_for_letter():
    from privacy.blind_index import normalise_name

    assert normalise_name("Иван  Петров") == "иван петров"
    assert normalise_name("محمد العلي") == "محمد العلي"
    assert normalise_name("王伟") == "王伟"
    assert person_blind_index("Иван Петров", None) != person_blind_index("Иван Сидоров", None)
    # Letters without a decomposition still lose only their stroke, not the whole letter.
    assert normalise_name("Łukasz Żak") == "lukasz zak" != normalise_name("ukasz zak")
    assert normalise_name("Søren Ærø") == "soren aero"
    assert normalise_name("Müller-Lüdenscheidt") == "muller ludenscheidt"


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Snackbar De Hoek B.V.", "snackbar de hoek"),
        ("Snackbar De Hoek B V", "Snackbar de Hoek BV"),
        ("Bouwbedrijf Jansen & Zn. V.O.F.", "bouwbedrijf jansen zn"),
    ],
)
def test_a_company_searched_for_matches_however_its_legal_form_is_written(a, b):
    from privacy.blind_index import name_blind_index

    assert name_blind_index(a, company=True) == name_blind_index(b, company=True)
    assert name_blind_index(a, company=True) != name_blind_index("Jansen", company=True)
    # A legal form alone is a name, not nothing.
    assert name_blind_index("BV", company=True) != name_blind_index("NV", company=True)


def test_a_person_searched_for_matches_however_initials_are_written_but_keeps_every_word():
    from privacy.blind_index import name_blind_index

    assert name_blind_index("P.J. Jansen") == name_blind_index("PJ Jansen") == name_blind_index("p. j. jansen")
    # Surname first: "Jansen C.V." and "Jansen N.V." are two people, and neither is "Jansen".
    assert len({name_blind_index("Jansen C.V."), name_blind_index("Jansen N.V."), name_blind_index("Jansen")}) == 3


@pytest.mark.parametrize(
    ("a", "b"),
    [("1-ABC-123", "1abc123"), ("B-AB 1234", "bab1234"), ("WX 12345", "wx-12345")],
)
def test_foreign_number_plates_match_too(a, b):
    assert blind_index("kenteken", a) == blind_index("kenteken", b)
    assert blind_index("kenteken", a) != blind_index("kenteken", "AB123C")


@pytest.mark.parametrize(
    ("kind", "value"),
    [
        ("kvk", "١٢٣٤٥٦٧٨"),
        ("kvk", "\uff11\uff12\uff13\uff14\uff15\uff16\uff17\uff18"),
        ("address", "١٢٣٤ AB 12"),
        ("phone", "+٣١٦١٢٣٤٥٦٧٨"),
    ],
)
def test_digits_of_other_scripts_are_refused_rather_than_indexed_apart(kind, value):
    with pytest.raises(ValidationError):
        blind_index(kind, value)


def test_kinds_are_separate_domains():
    assert blind_index("kvk", "12345678") != blind_index("bsn", "123456782")


def test_the_index_is_keyed_not_a_plain_hash():
    import hashlib

    assert blind_index("kvk", "12345678") != hashlib.sha256(b"kvk:12345678").hexdigest()
    assert len(blind_index("kvk", "12345678")) == 64


@pytest.mark.parametrize(
    ("kind", "value", "message"),
    [
        ("kvk", "1234567", "8 cijfers"),
        ("bsn", "123456789", "elfproef"),
        ("bsn", "12345", "9 cijfers"),
        ("address", "1234 SS 1", "1234 AB"),
        ("address", "0123 AB 1", "1234 AB 12"),
        ("kenteken", "ABCDEF", "kenteken"),
        ("email", "geen-adres", "e-mailadres"),
        ("phone", "12345", "telefoonnummer"),
        ("phone", "06-1234", "aantal cijfers"),
    ],
)
def test_invalid_input_gets_a_dutch_message(kind, value, message):
    with pytest.raises(ValidationError) as error:
        blind_index(kind, value)
    assert message in error.value.messages[0]


def test_bsn_with_eight_digits_gets_its_leading_zero():
    assert normalise_bsn("12345672") == "012345672"


def test_phone_is_e164():
    assert normalise_phone("06 12 34 56 78") == "+31612345678"
    assert normalise_phone("+44 20 7946 0958") == "+442079460958"


def test_pseudonyms_are_stable_within_a_context_and_unlinkable_across():
    subject = blind_index("kvk", "12345678")
    other = blind_index("kvk", "87654321")
    assert pseudonym("tafel:1|politie", subject) == pseudonym("tafel:1|politie", subject)
    assert pseudonym("tafel:1|politie", subject) != pseudonym("tafel:1|om", subject)
    assert pseudonym("tafel:1|politie", subject) != pseudonym("tafel:1|politie", other)
    assert pseudonym("tafel:1|politie", subject).startswith("P-")


@pytest.mark.parametrize(
    ("typed", "shown"),
    [
        ("vtx-12-b", "VTX-12-B"),  # sidecode 11
        ("1 abc 23", "1-ABC-23"),  # 8
        ("999xx9", "999-XX-9"),  # 14
        ("x-99-xxx", "X-99-XXX"),  # 12
        ("AB1234", "AB-12-34"),  # 1: a run of four digits split in the middle
        ("1234AB", "12-34-AB"),  # 2
        ("ABCD12", "AB-CD-12"),  # 5: and a run of four letters
        ("12ABCD", "12-AB-CD"),  # 6
        ("1-ABC-123", "1ABC123"),  # Belgian: seven characters, as stored
        ("A1B2C3", "A1B2C3"),  # no Dutch pattern: as stored
    ],
)
def test_a_kenteken_is_shown_with_the_dashes_of_a_dutch_plate(typed, shown):
    assert kenteken_display(normalise_kenteken(typed)) == shown
