"""Forms of the retention pages. Plain forms, not model forms: a model form would change the
policy before the service compares old and new, and the service is the only writer."""

from __future__ import annotations

from datetime import date, datetime, time

from django import forms
from django.utils import timezone

from config.forms import TextareaField
from privacy.services import AMSTERDAM, MAX_REASON_LENGTH, POSTPONE_LIMIT_MESSAGE, postpone_limit

MAX_TERM_MONTHS = 1200  # a hundred years; longer is permanent retention, which this product does not do
MAX_REMINDER_DAYS = 365


class RetentionPostponeForm(forms.Form):
    until = forms.DateField(
        label="Nieuwe datum",
        help_text="Tot en met deze dag blijven de gegevens bewaard.",
        error_messages={
            "required": "Vul de datum in tot wanneer de gegevens bewaard blijven.",
            "invalid": "Vul een geldige datum in, bijvoorbeeld 31-12-2026.",
        },
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    reason = TextareaField(
        label="Reden",
        max_length=MAX_REASON_LENGTH,
        help_text="Waarom moet vernietiging wachten? Bijvoorbeeld een lopend bezwaar of een rechtszaak. "
        "Noem geen namen; de reden wordt versleuteld bewaard en met het record vernietigd.",
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={
            "required": "Geef een reden waarom vernietiging moet wachten.",
            "max_length": f"Houd de reden kort: hooguit {MAX_REASON_LENGTH} tekens.",
        },
    )

    def clean_until(self) -> date:
        until = self.cleaned_data["until"]
        if until <= timezone.localdate(timezone=AMSTERDAM):
            raise forms.ValidationError("De nieuwe datum moet na vandaag liggen.")
        if until > postpone_limit():
            raise forms.ValidationError(POSTPONE_LIMIT_MESSAGE)
        return until

    def until_datetime(self) -> datetime:
        """The end of the chosen day (23:59 in Amsterdam), as the service expects."""
        return datetime.combine(self.cleaned_data["until"], time(23, 59), tzinfo=AMSTERDAM)


class RetentionPolicyForm(forms.Form):
    term_months = forms.IntegerField(
        label="Bewaartermijn (maanden)",
        min_value=1,
        max_value=MAX_TERM_MONTHS,
        help_text="Bijvoorbeeld 60 voor vijf jaar.",
        error_messages={
            "required": "Vul de bewaartermijn in maanden in.",
            "invalid": "Vul een heel aantal maanden in.",
            "min_value": "Een bewaartermijn is minstens 1 maand.",
            "max_value": f"Een bewaartermijn is hoogstens {MAX_TERM_MONTHS} maanden.",
        },
    )
    starts_at = forms.CharField(
        label="Termijn loopt vanaf",
        max_length=200,
        help_text="Het moment waarop de termijn begint, bijvoorbeeld: afsluiting van de casus.",
        error_messages={"required": "Vul in vanaf welk moment de termijn loopt."},
    )
    selectielijst_category = forms.CharField(
        label="Categorie selectielijst",
        max_length=300,
        required=False,
        help_text="De categorie van de Selectielijst gemeenten waarop uw archivaris dit soort gegevens heeft afgebeeld.",
    )
    reminder_days = forms.IntegerField(
        label="Herinnering (dagen vooraf)",
        min_value=0,
        max_value=MAX_REMINDER_DAYS,
        help_text="Zoveel dagen voor de vernietiging krijgt de functionaris gegevensbescherming een herinnering.",
        error_messages={
            "required": "Vul het aantal dagen in.",
            "invalid": "Vul een heel aantal dagen in.",
            "min_value": "Het aantal dagen kan niet negatief zijn.",
            "max_value": f"Een herinnering komt hoogstens {MAX_REMINDER_DAYS} dagen vooraf.",
        },
    )
