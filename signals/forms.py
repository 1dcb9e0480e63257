from __future__ import annotations

import uuid

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone

from config.forms import TextareaField
from privacy.blind_index import normalise_address_text, normalise_kenteken, normalise_kvk, normalise_name
from signals.attachments import (
    MB,
    check_upload,
    max_file_bytes,
    max_files,
    max_total_bytes,
    safe_filename,
    scan_checked,
)
from signals.models import ON_BEHALF_CHANNELS, NoticedHow, SubjectKind
from signals.services import SignalData, SubjectData, reference_read

YES_NO = [("nee", "Nee"), ("ja", "Ja")]

# A date field (type="date") sends 2026-03-14 whatever the browser's language; typed by hand it is
# Dutch. The ISO form first: Django's Dutch formats put it last, after five failed attempts.
DATE_INPUT_FORMATS = ["%Y-%m-%d", "%d-%m-%Y", "%d-%m-%y", "%d/%m/%Y", "%d/%m/%y"]


class AcuteDangerForm(forms.Form):
    acuut = forms.ChoiceField(
        label="Is er nu acuut gevaar voor iemand?",
        choices=YES_NO,
        widget=forms.RadioSelect,
        required=True,
        error_messages={"required": "Kies of er nu acuut gevaar is."},
    )
    # Sent with the form, so "Verder" without an answer gives the message instead of the same page.
    stap = forms.CharField(widget=forms.HiddenInput, initial="1", required=False)


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput())
        # An empty file is refused by the form's check of each file (signals.attachments), with
        # its name and next to what is wrong with the others, not alone by Django's field.
        kwargs.setdefault("allow_empty_file", True)
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(item, initial) for item in data if item]
        return [single(data, initial)] if data else []


def _display_address(value: str) -> str:
    postcode, number, extra = normalise_address_text(value).split("|")
    return f"{postcode[:4]} {postcode[4:]} {number}{('-' + extra) if extra else ''}"


class SignalForm(forms.Form):
    submission_key = forms.UUIDField(widget=forms.HiddenInput)
    acute_danger = forms.BooleanField(required=False, widget=forms.HiddenInput)
    description = TextareaField(
        label="Wat is u opgevallen?",
        max_length=10000,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text="Beschrijf wat u zag of hoorde, zo feitelijk mogelijk. Namen en adressen kunt u hieronder apart invullen.",
        error_messages={"required": "Beschrijf wat u is opgevallen."},
    )
    phenomenon = forms.ModelChoiceField(
        label="Waar gaat het vermoedelijk over?",
        queryset=None,
        required=False,
        empty_label="Weet ik niet",
        # A choice the coordinator stopped using while the form was open.
        error_messages={
            "invalid_choice": "Dit fenomeen staat niet (meer) in de lijst. Kies een ander, of 'Weet ik niet'."
        },
    )
    address = forms.CharField(
        label="Adres (postcode en huisnummer)",
        required=False,
        max_length=30,
        help_text="Bijvoorbeeld 1234 AB 12. Laat leeg als er geen adres is.",
    )
    location = forms.CharField(
        label="Of beschrijf de plaats",
        required=False,
        max_length=300,
        help_text="Bijvoorbeeld: parkeerplaats achter het station.",
    )
    observed_on = forms.DateField(
        label="Wanneer was dit?",
        required=False,
        input_formats=DATE_INPUT_FORMATS,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="Ongeveer is goed genoeg. Laat leeg als u het niet weet.",
        error_messages={"invalid": "Vul een datum in, bijvoorbeeld 14-03-2026."},
    )
    noticed_how = forms.ChoiceField(
        label="Hoe kwam dit onder uw aandacht?",
        choices=NoticedHow.choices,
        widget=forms.RadioSelect,
        required=False,
    )
    attachments = MultipleFileField(
        label="Bijlagen (optioneel)",
        required=False,
        help_text="PDF, foto's, Office- of tekstbestanden.",
    )

    def __init__(self, *args, organisation_id: int, **kwargs):
        super().__init__(*args, **kwargs)
        from signals.selectors import phenomenon_choices

        # Files that passed the checks when the form was sent before (signals.held_files: the view
        # puts them here), shown with a box to untick; and the new files that pass them now, for
        # the view to hold when the form comes back.
        self.held: list = []
        self.held_gone: list = []  # held, but their stored file is gone
        self.checked_files: list = []

        self.fields["phenomenon"].queryset = phenomenon_choices(organisation_id=organisation_id)
        self.fields["attachments"].help_text = (
            f"PDF, foto's, Office- of tekstbestanden; hooguit {max_files()} bestanden, per bestand hooguit "
            f"{max_file_bytes() // MB} MB, samen hooguit {max_total_bytes() // MB} MB."
        )
        if not self.is_bound:
            self.initial.setdefault("submission_key", uuid.uuid4())

    def clean_address(self) -> str:
        value = self.cleaned_data["address"].strip()
        return _display_address(value) if value else ""

    def clean_observed_on(self):
        value = self.cleaned_data["observed_on"]
        if value and value > timezone.localdate():
            raise ValidationError("Deze datum ligt in de toekomst.")
        return value

    def held_kept(self) -> list:
        """The held files whose box was ticked when the form was sent."""
        from signals.held_files import held_ticked

        return held_ticked(self.held, self.data)

    def clean_attachments(self):
        from signals.held_files import HELD_FILE_HOURS, held_file_checked, held_ticked_missing

        uploads = self.cleaned_data["attachments"]
        kept = self.held_kept()
        choose_again = "Kies de nieuwe bestanden opnieuw: een browser onthoudt gekozen bestanden niet."
        if len(uploads) + len(kept) > max_files():
            count = f"U koos {len(uploads)} bestanden" + (f", en {len(kept)} waren al bewaard" if kept else "")
            raise ValidationError([f"{count}; u kunt er hooguit {max_files()} toevoegen.", choose_again])
        if sum(upload.size for upload in uploads) + sum(held.size for held in kept) > max_total_bytes():
            # Refused before any file is read into memory or scanned.
            raise ValidationError(
                [f"De bijlagen zijn samen groter dan {max_total_bytes() // (1024 * 1024)} MB.", choose_again]
            )
        checked, errors = [], []
        for upload in uploads:
            try:
                if upload.size > max_file_bytes():
                    raise ValidationError(
                        f"{safe_filename(upload.name)}: het bestand is groter dan {max_file_bytes() // (1024 * 1024)} MB."
                    )
                checked.append(scan_checked(check_upload(upload.name, upload.read())))
            except ValidationError as error:
                errors.extend(error.messages)
        self.checked_files = checked  # the view holds them if the form comes back
        held = []
        for kept_file in kept:
            content = held_file_checked(kept_file)
            if content is None:
                self.held_gone.append(kept_file)
            else:
                held.append(content)
        missing = held_ticked_missing(self.held, self.data)
        if (missing or self.held_gone) and not self._sent_before():
            errors.extend(
                f"{gone.filename}: dit bestand is niet meer bewaard. Kies het opnieuw." for gone in self.held_gone
            )
            if missing:
                errors.append(
                    f"{'Een bijlage die bewaard was, is' if missing == 1 else f'{missing} bijlagen die bewaard waren, zijn'} "
                    f"er niet meer: bewaarde bijlagen worden na {HELD_FILE_HOURS} uur weggegooid. "
                    f"Kies {'die' if missing == 1 else 'ze'} opnieuw."
                )
        if errors:
            raise ValidationError(errors)
        return [*held, *checked]

    def files_check_only(self) -> list[str]:
        """For the "Nog een betrokkene toevoegen" button: checks the chosen files and the ticked
        held ones as a send would (limits, content, scan), nothing else on the form. Returns the
        messages for what was refused; the new files that passed are in checked_files."""
        self.cleaned_data = {}
        field = self.fields["attachments"]
        try:
            self.cleaned_data["attachments"] = field.clean(self["attachments"].data, None)
            self.clean_attachments()
        except ValidationError as error:
            return error.messages
        return []

    def _sent_before(self) -> bool:
        """Whether a signal was stored with this form already (the first of a double click took
        the held files): then this send is a repeat, which the service answers, not an error."""
        from signals.models import Signal

        key = self.cleaned_data.get("submission_key")
        return key is not None and Signal.objects.filter(submission_key=key).exists()


class OnBehalfSignalForm(SignalForm):
    """A coordinator registers what someone else reported: the questions are about the reporter."""

    channel = forms.ChoiceField(
        label="Hoe kwam het signaal binnen?",
        choices=[(c.value, c.label) for c in ON_BEHALF_CHANNELS],
        widget=forms.RadioSelect,
        error_messages={"required": "Kies hoe het signaal binnenkwam."},
    )
    acute_danger = forms.BooleanField(
        label="Er is nu acuut gevaar voor iemand",
        required=False,
        help_text="Vink aan als de melder zegt dat iemand nu in gevaar is. Bel dan ook 112.",
    )
    noticed_how = forms.ChoiceField(
        label="Hoe kwam het onder de aandacht van de melder?",
        choices=[
            (NoticedHow.IN_JOB, "In het werk of de functie van de melder"),
            (NoticedHow.PRIVATELY, "Privé"),
            (NoticedHow.OTHER, "Anders"),
        ],
        widget=forms.RadioSelect,
        required=False,
    )
    field_order = ["channel", "acute_danger"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["description"].label = "Wat heeft de melder gezien of gehoord?"
        self.fields["description"].error_messages["required"] = "Beschrijf wat de melder is opgevallen."
        self.fields["observed_on"].label = "Wanneer was dit, volgens de melder?"


class SubjectForm(forms.Form):
    kind = forms.ChoiceField(label="Soort", choices=[("", "Kies…"), *SubjectKind.choices], required=False)
    name = forms.CharField(label="Naam (persoon of bedrijf)", required=False, max_length=200)
    date_of_birth = forms.DateField(
        label="Geboortedatum (als bekend)",
        required=False,
        input_formats=DATE_INPUT_FORMATS,
        widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={"invalid": "Vul een datum in, bijvoorbeeld 14-03-1980."},
    )
    kvk = forms.CharField(label="KvK-nummer", required=False, max_length=20)
    address = forms.CharField(label="Adres (postcode en huisnummer)", required=False, max_length=30)
    kenteken = forms.CharField(label="Kenteken", required=False, max_length=12)
    remarks = forms.CharField(
        label="Toelichting", required=False, max_length=500, help_text="Bijvoorbeeld: eigenaar, huurder, bestuurder."
    )

    def clean_kvk(self):
        value = self.cleaned_data["kvk"].strip()
        return normalise_kvk(value) if value else ""

    def clean_kenteken(self):
        value = self.cleaned_data["kenteken"].strip()
        return normalise_kenteken(value) if value else ""

    def clean_address(self):
        value = self.cleaned_data["address"].strip()
        return _display_address(value) if value else ""

    def clean_date_of_birth(self):
        value = self.cleaned_data["date_of_birth"]
        if value and value > timezone.localdate():
            raise ValidationError("Een geboortedatum ligt niet in de toekomst.")
        return value

    def clean(self):
        cleaned = super().clean()
        kind = cleaned.get("kind")
        filled = any(cleaned.get(f) for f in ("name", "date_of_birth", "kvk", "address", "kenteken", "remarks"))
        if not kind:
            if filled and not self.errors:
                self.add_error("kind", "Kies wat voor betrokkene dit is.")
            return cleaned
        required = {
            SubjectKind.PERSON: ("name", "Vul de naam van de persoon in."),
            SubjectKind.ADDRESS: ("address", "Vul postcode en huisnummer in."),
            SubjectKind.VEHICLE: ("kenteken", "Vul het kenteken in."),
        }
        if kind in required:
            field, message = required[kind]
            if not cleaned.get(field) and field not in self.errors:
                self.add_error(field, message)
        if (
            kind == SubjectKind.COMPANY
            and not cleaned.get("kvk")
            and not cleaned.get("name")
            and "kvk" not in self.errors
        ):
            self.add_error("name", "Vul de naam of het KvK-nummer van het bedrijf in.")
        # The name feeds the blind index of a person, and of a company without a KvK number.
        if cleaned.get("name") and (
            kind == SubjectKind.PERSON or (kind == SubjectKind.COMPANY and not cleaned.get("kvk"))
        ):
            try:
                normalise_name(cleaned["name"])
            except ValidationError as error:
                self.add_error("name", error)
        return cleaned

    def subject_data(self) -> SubjectData | None:
        data = self.cleaned_data
        if not data.get("kind"):
            return None
        return SubjectData(
            kind=data["kind"],
            name=data.get("name", "").strip(),
            date_of_birth=data.get("date_of_birth"),
            kvk=data.get("kvk", ""),
            address=data.get("address", ""),
            kenteken=data.get("kenteken", ""),
            remarks=data.get("remarks", "").strip(),
        )


MAX_SUBJECTS = 10
SubjectFormSet = forms.formset_factory(SubjectForm, extra=3, max_num=MAX_SUBJECTS, validate_max=True)
_OneMoreSubject = forms.formset_factory(SubjectForm, extra=1, max_num=MAX_SUBJECTS, validate_max=True)

#: The name of the form's "Nog een betrokkene toevoegen" button.
ADD_SUBJECT = "betrokkene_toevoegen"


def forms_with_another_subject(form_class, data, *, prefix: str = "betrokkene", **form_kwargs):
    """The "Nog een betrokkene toevoegen" button, without JavaScript: the same form again with what
    was typed as its starting values, unchecked (no error messages for a form the reporter has not
    sent yet), and one more empty subject block, up to MAX_SUBJECTS. A browser does not put chosen
    files back in a file field: the view holds them (views.with_another_subject)."""
    form = form_class(
        initial={name: data.get(name) for name in form_class.base_fields if name in data and name != "attachments"},
        **form_kwargs,
    )
    try:
        blocks = min(max(int(data.get(f"{prefix}-TOTAL_FORMS", 0)), 0), MAX_SUBJECTS)
    except ValueError:
        blocks = 0
    initial = [{name: data.get(f"{prefix}-{i}-{name}", "") for name in SubjectForm.base_fields} for i in range(blocks)]
    formset_class = (
        _OneMoreSubject if blocks < MAX_SUBJECTS else forms.formset_factory(SubjectForm, extra=0, max_num=MAX_SUBJECTS)
    )
    subjects = formset_class(initial=initial, prefix=prefix)
    if blocks < MAX_SUBJECTS:
        # Where the reporter goes on: the new block, not the top of a long page.
        subjects.forms[-1].fields["kind"].widget.attrs["autofocus"] = True
    return form, subjects


def signal_data(form: SignalForm, subjects) -> SignalData:
    data = form.cleaned_data
    return SignalData(
        description=data["description"].strip(),
        acute_danger=bool(data.get("acute_danger")),
        phenomenon=data.get("phenomenon"),
        address=data.get("address", ""),
        location=data.get("location", "").strip(),
        observed_on=data.get("observed_on"),
        noticed_how=data.get("noticed_how", ""),
        subjects=[s for s in (f.subject_data() for f in subjects) if s is not None],
        files=data.get("attachments", []),
    )


def add_service_errors(form: forms.Form, error: ValidationError) -> None:
    """Puts a service's ValidationError on the form: per field where it names one, else on top."""
    if hasattr(error, "error_dict"):
        for field, errors in error.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, error.messages)


class InboxFilterForm(forms.Form):
    """The coordinator's filters above the list of signals (GET: nothing personal in them)."""

    status = forms.ChoiceField(
        label="Status", required=False, error_messages={"invalid_choice": "Kies een status uit de lijst."}
    )
    fenomeen = forms.ModelChoiceField(
        label="Fenomeen",
        queryset=None,
        required=False,
        empty_label="Alle",
        error_messages={"invalid_choice": "Kies een fenomeen uit de lijst."},
    )
    behandelaar = forms.ChoiceField(label="Behandelaar", required=False)
    acuut = forms.BooleanField(label="Alleen met acuut gevaar", required=False)
    bericht = forms.BooleanField(label="Alleen met nieuw bericht van de melder", required=False)
    volgorde = forms.ChoiceField(
        label="Volgorde",
        required=False,
        choices=[("", "Nieuwste eerst"), ("oudste", "Oudste eerst")],
        error_messages={"invalid_choice": "Kies een volgorde uit de lijst."},
    )

    def __init__(self, *args, organisation_id: int, handlers=(), stale_handlers=(), **kwargs):
        super().__init__(*args, **kwargs)
        from signals.models import Phenomenon, SignalStatus
        from signals.selectors import NOBODY, OPEN

        self.fields["status"].choices = [
            ("", "Alle"),
            (OPEN, "Nog open (ontvangen of in behandeling)"),
            *SignalStatus.choices,
        ]
        self.fields["status"].initial = OPEN  # the list opens with what still needs work
        self.fields["fenomeen"].queryset = Phenomenon.objects.filter(organisation_id=organisation_id)
        self.fields["behandelaar"].choices = [
            ("", "Alle"),
            (NOBODY, "Nog niemand"),
            *handler_options(handlers, stale_handlers),
        ]
        self.fields["behandelaar"].error_messages["invalid_choice"] = "Kies een behandelaar uit de lijst."

    def criteria(self) -> dict:
        from signals.selectors import NOBODY

        data = self.cleaned_data
        handler = data["behandelaar"]
        return {
            "status": data["status"],
            "phenomenon_id": data["fenomeen"].pk if data["fenomeen"] else None,
            "acute_only": data["acuut"],
            "unread_only": data["bericht"],
            "handler": handler if handler in ("", NOBODY) else int(handler),
            "oldest_first": data["volgorde"] == "oudste",
        }


STALE_HANDLER = "{name} (geen actieve coördinator meer)"


def handler_options(handlers, stale_handlers=()) -> list[tuple[str, str]]:
    """The active coordinators, then handlers who no longer are (marked), as select options."""
    return [
        *((str(user.pk), user.display_name) for user in handlers),
        *((str(user.pk), STALE_HANDLER.format(name=user.display_name)) for user in stale_handlers),
    ]


class AssignForm(forms.Form):
    """Who handles the signal: a coordinator of the organisation, or nobody. A handler who no
    longer is an active coordinator stays selected (marked) until someone else is chosen."""

    behandelaar = forms.ChoiceField(label="Behandelaar", required=False)

    def __init__(self, *args, handlers=(), current=None, **kwargs):
        super().__init__(*args, **kwargs)
        handlers = list(handlers)
        stale = [current] if current is not None and current not in handlers else []
        self.fields["behandelaar"].choices = [("", "Nog niemand"), *handler_options(handlers, stale)]
        self.fields["behandelaar"].error_messages["invalid_choice"] = "Kies een coördinator uit de lijst."


class IdentifierSearchForm(forms.Form):
    """Search by identifier (POST: an identifier is personal data and never goes into a URL)."""

    zoek = forms.CharField(
        label="Zoek op kenmerk, naam, KvK-nummer, adres (postcode en huisnummer) of kenteken",
        max_length=120,
        # Names and identifiers stay out of the browser's form history on a shared workstation.
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
        error_messages={"required": "Vul in waarop u wilt zoeken."},
    )

    def clean_zoek(self):
        from signals.selectors import identifier_indexes

        text = self.cleaned_data["zoek"].strip()
        reference = reference_read(text)
        if reference:
            self._criteria = {"reference": reference}
            return text
        indexes = identifier_indexes(text)
        if not indexes:
            raise ValidationError("Dit herkennen we niet als kenmerk, naam, KvK-nummer, adres of kenteken.")
        self._criteria = {"subject_indexes": indexes}
        return text

    def criteria(self) -> dict:
        """What signal_inbox searches for (after is_valid): a signal's reference (S2026-00012), or
        the blind indexes of every reading of an identifier."""
        return self._criteria


class CloseSignalForm(forms.Form):
    """Closing a signal without a case: a reason from the list, and a note ("anders" needs one)."""

    reden = forms.ChoiceField(
        label="Reden van afsluiten", error_messages={"required": "Kies een reden.", "invalid_choice": "Kies een reden."}
    )
    toelichting = TextareaField(
        label="Toelichting",
        help_text="Verplicht bij 'Anders'. Alleen voor coördinatoren te zien; wordt versleuteld bewaard.",
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"max_length": "Gebruik hoogstens %(limit_value)d tekens."},
    )
    eerder = forms.CharField(
        label="Kenmerk van het eerdere signaal",
        help_text="Alleen bij 'Al eerder gemeld', als u het weet: bijvoorbeeld S2026-00012. Dit signaal verwijst dan naar het eerdere.",
        required=False,
        max_length=20,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
        error_messages={"max_length": "Een kenmerk is hoogstens %(limit_value)d tekens, bijvoorbeeld S2026-00012."},
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        from signals.models import ClosureReason

        self.fields["reden"].choices = [("", "Kies een reden"), *ClosureReason.choices]

    def clean(self):
        from signals.models import ClosureReason

        data = super().clean()
        note_given = bool(data.get("toelichting", "").strip()) or "toelichting" in self.errors  # too long is given
        if data.get("reden") == ClosureReason.OTHER and not note_given:
            self.add_error("toelichting", "Licht toe waarom u het signaal afsluit als u 'Anders' kiest.")
        return data
