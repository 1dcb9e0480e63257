"""Filters of the audit viewer (GET forms; every field optional)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django import forms

from audit.labels import action_label

AMSTERDAM = ZoneInfo("Europe/Amsterdam")

FIRST_YEAR, LAST_YEAR = 1900, 2999
DATE_ERRORS = {"invalid": "Vul een geldige datum in, bijvoorbeeld 31-12-2025."}


def _date_field(label: str, help_text: str = "") -> forms.DateField:
    return forms.DateField(
        label=label,
        required=False,
        help_text=help_text,
        error_messages=DATE_ERRORS,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )


def start_of_day(day: date) -> datetime:
    """Midnight at the start of `day` in Amsterdam, as an aware datetime (DST-correct)."""
    return datetime.combine(day, time.min, tzinfo=AMSTERDAM)


def _within_range(day: date | None) -> date | None:
    # Far-off dates would overflow when converted to UTC for the query.
    if day is not None and not (FIRST_YEAR <= day.year <= LAST_YEAR):
        raise forms.ValidationError(f"Vul een datum tussen {FIRST_YEAR} en {LAST_YEAR} in.")
    return day


class AccessLogFilterForm(forms.Form):
    person = forms.TypedChoiceField(label="Persoon", required=False, coerce=int, empty_value=None)
    record_type = forms.ChoiceField(label="Soort gegevens", required=False)
    record_id = forms.CharField(label="Record-id", required=False, max_length=64)
    since = _date_field("Vanaf", "De eerste dag die meetelt.")
    until = _date_field("Tot en met", "De laatste dag die meetelt.")

    def __init__(self, *args, people, record_types, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["person"].choices = [("", "Iedereen"), *((p.pk, p.display_name) for p in people)]
        self.fields["record_type"].choices = [("", "Alle soorten"), *((t, t) for t in record_types)]
        self.fields["person"].error_messages["invalid_choice"] = "Kies een persoon uit de lijst."
        self.fields["record_type"].error_messages["invalid_choice"] = "Kies een soort gegevens uit de lijst."

    def clean_since(self) -> date | None:
        return _within_range(self.cleaned_data["since"])

    def clean_until(self) -> date | None:
        return _within_range(self.cleaned_data["until"])

    def clean_record_id(self) -> str:
        return self.cleaned_data["record_id"].strip()

    def clean(self):
        cleaned = super().clean()
        since, until = cleaned.get("since"), cleaned.get("until")
        if since and until and since > until:
            self.add_error("until", "Deze datum ligt vóór de begindatum (Vanaf).")
        return cleaned

    def selector_filters(self) -> dict:
        """The cleaned filters as keyword arguments of the selectors; call only when valid."""
        data = self.cleaned_data
        return {
            "person_id": data.get("person"),
            "record_type": data.get("record_type") or "",
            "record_id": data.get("record_id") or "",
            "since": start_of_day(data["since"]) if data.get("since") else None,
            # The selectors take an exclusive end; "tot en met" includes the whole last day.
            "until": start_of_day(data["until"] + timedelta(days=1)) if data.get("until") else None,
        }


class AuditEventFilterForm(AccessLogFilterForm):
    action = forms.ChoiceField(label="Actie", required=False)

    field_order = ["person", "action", "record_type", "record_id", "since", "until"]

    def __init__(self, *args, actions, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["action"].choices = [
            ("", "Alle acties"),
            *sorted(((a, action_label(a)) for a in actions), key=lambda choice: choice[1]),
        ]
        self.fields["action"].error_messages["invalid_choice"] = "Kies een actie uit de lijst."

    def selector_filters(self) -> dict:
        return {**super().selector_filters(), "action": self.cleaned_data.get("action") or ""}
