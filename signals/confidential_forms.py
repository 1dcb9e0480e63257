"""Forms of confidential reporting without an account."""

from __future__ import annotations

import uuid

from django import forms

from config.forms import TextareaField
from privacy.blind_index import normalise_email, normalise_phone
from signals.confidential_services import ANONYMOUS_CHANNEL, MESSAGE_MAX_LENGTH, REASON_MIN_LENGTH, ContactData
from signals.forms import OnBehalfSignalForm, SignalForm
from signals.models import Channel

CONTACT_FIELDS = ("reporter_name", "reporter_email", "reporter_phone")


class _ContactFields(forms.Form):
    """Optional name and contact details of the reporter, stored apart from the signal."""

    reporter_name = forms.CharField(
        label="Uw naam",
        required=False,
        max_length=200,
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    reporter_email = forms.CharField(
        label="Uw e-mailadres",
        required=False,
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    reporter_phone = forms.CharField(
        label="Uw telefoonnummer",
        required=False,
        max_length=30,
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel"}),
        help_text="Bijvoorbeeld 06-12345678.",
    )

    def signal_fields(self):
        return [field for field in self.visible_fields() if field.name not in CONTACT_FIELDS]

    def contact_fields(self):
        return [field for field in self.visible_fields() if field.name in CONTACT_FIELDS]

    def clean_reporter_name(self) -> str:
        return " ".join(self.cleaned_data["reporter_name"].split())

    def clean_reporter_email(self) -> str:
        value = self.cleaned_data["reporter_email"].strip()
        return normalise_email(value) if value else ""

    def clean_reporter_phone(self) -> str:
        value = self.cleaned_data["reporter_phone"].strip()
        return normalise_phone(value) if value else ""

    def contact_data(self) -> ContactData:
        data = self.cleaned_data
        return ContactData(
            name=data.get("reporter_name", ""),
            email=data.get("reporter_email", ""),
            phone=data.get("reporter_phone", ""),
        )


class ConfidentialSignalForm(_ContactFields, SignalForm):
    """The employee's form, plus optional contact details that are stored apart from the signal."""


class RegisterOnBehalfForm(_ContactFields, OnBehalfSignalForm):
    """The coordinator's registration of a signal received by phone, letter, e-mail or in person,
    with the reporter's name and contact details if they gave them (never for Meld Misdaad
    Anoniem, which is anonymous)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reporter_name"].label = "Naam van de melder"
        self.fields["reporter_email"].label = "E-mailadres van de melder"
        self.fields["reporter_phone"].label = "Telefoonnummer van de melder"
        for name in CONTACT_FIELDS:
            self.fields[name].widget.attrs["autocomplete"] = "off"  # not the coordinator's own details

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("channel") == Channel.MELD_MISDAAD_ANONIEM and self.contact_data().given():
            self.add_error("reporter_name", ANONYMOUS_CHANNEL)
        return cleaned


class ReceiptCodeForm(forms.Form):
    code = forms.CharField(
        label="Uw ontvangstcode",
        max_length=60,
        help_text="24 tekens in groepjes van vier. Streepjes, spaties, hoofd- of kleine letters maken niet uit.",
        error_messages={"required": "Vul uw ontvangstcode in."},
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false", "autocapitalize": "characters"}),
    )
    # An answer sent after the access had lapsed: carried through this form and put back in the
    # answer form once the code is right, for the reporter to send; `draft_for` is the answer
    # form's keyed digest of its report, so a draft is filled in only for the report it was for.
    draft = forms.CharField(required=False, strip=False, widget=forms.HiddenInput)
    draft_key = forms.UUIDField(required=False, widget=forms.HiddenInput)
    draft_for = forms.CharField(required=False, max_length=64, widget=forms.HiddenInput)

    def __init__(self, *args, draft: str = "", draft_key=None, draft_for: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        if draft:
            self.initial.update(draft=draft, draft_key=draft_key, draft_for=draft_for)
        if draft or (self.is_bound and self.data.get("draft")):
            field = self.fields["draft"]
            field.widget = forms.Textarea(attrs={"readonly": True, "rows": 6})
            field.label = "Uw tekst (nog niet verstuurd)"
            field.help_text = "Na uw code staat deze tekst klaar om te versturen. U kunt hem ook kopiëren."

    def carried_draft(self) -> dict:
        """The draft to carry into the next code form (the typed code itself is never echoed)."""
        data = self.cleaned_data if hasattr(self, "cleaned_data") else {}
        return {
            key: data.get(key) or default for key, default in (("draft", ""), ("draft_key", None), ("draft_for", ""))
        }


class _OnceForm(forms.Form):
    """A form whose double submit is one message: a key of its own, made when the page is shown."""

    submission_key = forms.UUIDField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial.setdefault("submission_key", uuid.uuid4())


class _ReporterTextForm(_OnceForm):
    """The reporter's answer or addition."""

    text = TextareaField(
        label="Uw antwoord of aanvulling",
        max_length=MESSAGE_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 6}),
        error_messages={
            "required": "Schrijf uw bericht.",
            "max_length": f"Een bericht is hooguit {MESSAGE_MAX_LENGTH} tekens.",
        },
    )


class ReporterMessageForm(_ReporterTextForm):
    """The reporter without an account, after entering the receipt code."""

    # signals.confidential_views.report_digest of the report the form is shown for.
    melding = forms.CharField(required=False, max_length=64, widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["text"].help_text = "Schrijf geen gegevens over uzelf die u niet wilt delen."


class OwnSignalMessageForm(_ReporterTextForm):
    """The employee who reported, at Mijn meldingen."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["text"].help_text = "Alleen de coördinatoren van het meldpunt lezen uw bericht, bij uw melding."


class ReporterQuestionForm(_OnceForm):
    text = TextareaField(
        label="Uw vraag aan de melder",
        max_length=MESSAGE_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text="De melder leest uw vraag pas als hij of zij met de ontvangstcode terugkomt; de melder krijgt geen bericht.",
        error_messages={
            "required": "Schrijf uw vraag aan de melder.",
            "max_length": f"Een vraag is hooguit {MESSAGE_MAX_LENGTH} tekens.",
        },
    )


class IdentityRequestForm(_OnceForm):
    reason = TextareaField(
        label="Waarom heeft u de gegevens van de melder nodig?",
        min_length=REASON_MIN_LENGTH,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="Uw reden en uw naam worden vastgelegd. De functionaris gegevensbescherming kan dit nagaan.",
        error_messages={
            "required": "Geef een reden waarom u de gegevens nodig heeft.",
            "min_length": f"Geef een reden van minstens {REASON_MIN_LENGTH} tekens waarom u de gegevens nodig heeft.",
        },
    )
