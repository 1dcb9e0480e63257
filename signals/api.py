"""The meldpunt over the API: the employee form's intake as JSON, and the caller's list of signals.

Validation is the web form's (signals.forms): DRF parses the JSON types, then SignalForm and
SubjectForm decide with their own rules and Dutch messages, so the API accepts and refuses exactly
what the form does. Writes go through signals.services.signal_submit, reads through
signals.selectors.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DatabaseError
from django.forms import Form
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiResponse,
    PolymorphicProxySerializer,
    extend_schema,
    extend_schema_view,
)
from rest_framework import serializers, status, viewsets
from rest_framework.exceptions import ParseError
from rest_framework.fields import SkipField
from rest_framework.parsers import JSONParser
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.validators import ProhibitSurrogateCharactersValidator

from accounts.api_auth import require_action
from accounts.roles import Action, user_can
from audit.services import access_log_record
from signals import selectors, services
from signals.forms import MAX_SUBJECTS, SignalForm, SubjectForm, signal_data
from signals.models import COARSE_STATUS, Channel, NoticedHow, Signal, SignalStatus, SubjectKind

logger = logging.getLogger(__name__)

SAVE_FAILED = (
    "Er ging iets mis bij het opslaan. De melding is niet opgeslagen. Probeer het over een paar minuten opnieuw."
)
# SubjectForm says this when a subject has details but no kind; in JSON the kind is required.
SUBJECT_KIND_MISSING = "Kies wat voor betrokkene dit is."
DATE_FORMAT_HELP = "Een datum als JJJJ-MM-DD, bijvoorbeeld 2026-03-14."


class _NoSurrogates(ProhibitSurrogateCharactersValidator):
    # DRF's Dutch catalogue lacks this one ("Surrogate characters are not allowed: U+D800.").
    message = "De tekst bevat een teken dat niet bestaat (U+{code_point:X}); controleer of hij als UTF-8 is verstuurd."


class _Text(serializers.CharField):
    # DRF's Dutch catalogue lacks this one ("Not a valid string.").
    default_error_messages = {"invalid": "Vul hier tekst in (geen true/false, lijst of object)."}

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.validators = [
            _NoSurrogates() if type(v) is ProhibitSurrogateCharactersValidator else v for v in self.validators
        ]


class _YesNo(serializers.BooleanField):
    default_error_messages = {"invalid": "Geef true of false."}  # DRF: "Must be a valid boolean."


class _DutchJSONParser(JSONParser):
    """DRF says "JSON parse error - ..." with the decoder's English details; say it in Dutch."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except ParseError:
            raise ParseError(
                "De inhoud is geen geldige JSON; controleer aanhalingstekens, komma's en haakjes."
            ) from None
        # JSON may escape half a UTF-16 pair (\ud800), which is no character: refused here, for
        # every field (a choice field would echo it in its message, which then fails to render),
        # with the message under the field as the serializers put theirs.
        if (found := _first_surrogate(data)) is not None:
            path, code_point = found
            error = [_NoSurrogates.message.format(code_point=code_point)]
            for step in reversed(path):
                error = {str(step): error}
            raise serializers.ValidationError(error if path else {"non_field_errors": error})
        return data


def _first_surrogate(value, path=()) -> tuple[tuple, int] | None:
    """(where, the code point) of the first lone surrogate in parsed JSON, or None."""
    if isinstance(value, str):
        code_point = next((ord(c) for c in value if 0xD800 <= ord(c) <= 0xDFFF), None)
        return None if code_point is None else (path, code_point)
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, item in items:
        found = _first_surrogate(key, path) if isinstance(key, str) else None
        if found is None:
            found = _first_surrogate(item, (*path, key))
        if found is not None:
            return found
    return None


class _FormValidatedSerializer(serializers.Serializer):
    """Parses the JSON types field by field, then lets a Django form of signals.forms validate
    the parsed values. Every field gets its errors in one answer: a type error from DRF, else the
    form's message for that field."""

    def build_form(self, parsed: dict[str, Any]) -> Form:
        raise NotImplementedError

    def result(self, form: Form, parsed: dict[str, Any]) -> Any:
        raise NotImplementedError

    def to_internal_value(self, data):
        if not isinstance(data, Mapping):
            message = self.error_messages["invalid"].format(datatype=type(data).__name__)
            raise serializers.ValidationError({api_settings.NON_FIELD_ERRORS_KEY: [message]}, code="invalid")
        parsed: dict[str, Any] = {}
        errors: dict[str, Any] = {}
        for field in self._writable_fields:
            try:
                parsed[field.field_name] = field.run_validation(field.get_value(data))
            except serializers.ValidationError as exc:
                errors[field.field_name] = exc.detail
            except SkipField:
                pass
        form = self.build_form(parsed)
        if not form.is_valid():
            for name, messages in form.errors.items():
                key = name if name in self.fields else api_settings.NON_FIELD_ERRORS_KEY
                errors.setdefault(key, list(messages))
        if errors:
            raise serializers.ValidationError(errors)
        return self.result(form, parsed)


def _form_value(value: Any) -> Any:
    """A parsed value as the form's widgets would receive it."""
    if value is None:
        return ""
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


class SubjectSerializer(_FormValidatedSerializer):
    """A person, company, address or vehicle the signal is about, with SubjectForm's rules."""

    kind = serializers.ChoiceField(
        choices=SubjectKind.choices,
        help_text="Persoon (naam verplicht), bedrijf (naam of KvK-nummer), adres (postcode en huisnummer) "
        "of voertuig (kenteken).",
        error_messages={"required": SUBJECT_KIND_MISSING, "null": SUBJECT_KIND_MISSING},
    )
    name = _Text(required=False, allow_blank=True, max_length=200, help_text="Naam (persoon of bedrijf).")
    date_of_birth = serializers.DateField(
        required=False,
        allow_null=True,
        help_text="Geboortedatum van een persoon, als bekend; niet in de toekomst.",
        error_messages={"invalid": DATE_FORMAT_HELP},
    )
    kvk = _Text(
        required=False, allow_blank=True, max_length=20, help_text="KvK-nummer: 8 cijfers (spaties en punten mogen)."
    )
    address = _Text(
        required=False, allow_blank=True, max_length=30, help_text="Postcode en huisnummer, zoals 1234 AB 12."
    )
    kenteken = _Text(required=False, allow_blank=True, max_length=12, help_text="Kenteken, zoals AB-123-C.")
    remarks = _Text(
        required=False, allow_blank=True, max_length=500, help_text="Toelichting, bijvoorbeeld: eigenaar, huurder."
    )

    def build_form(self, parsed: dict[str, Any]) -> Form:
        return SubjectForm(data={name: _form_value(value) for name, value in parsed.items()})

    def result(self, form: Form, parsed: dict[str, Any]) -> services.SubjectData:
        return form.subject_data()


_DESCRIPTION_REQUIRED = SignalForm.base_fields["description"].error_messages["required"]


class SignalSubmitSerializer(_FormValidatedSerializer):
    """The employee's report, with the web form's rules. Attachments are not part of the JSON
    intake: they are added through the web form."""

    submission_key = serializers.UUIDField(
        error_messages={"invalid": "De submission_key is een UUID, zoals 1b6f0a0e-3c1d-4a8e-9a57-0d5a3c7b2f11."},
        help_text="Een UUID die de client per melding kiest. Dezelfde sleutel nog eens insturen (bijvoorbeeld "
        "na een time-out) geeft dezelfde melding terug, met status 200 in plaats van 201.",
    )
    description = _Text(
        max_length=10000,
        help_text="Wat is er opgevallen? Zo feitelijk mogelijk.",
        error_messages={
            "required": _DESCRIPTION_REQUIRED,
            "blank": _DESCRIPTION_REQUIRED,
            "null": _DESCRIPTION_REQUIRED,
        },
    )
    acute_danger = _YesNo(
        default=False, help_text="Is er acuut gevaar? Bel dan ook 112: de melding alleen is niet genoeg."
    )
    phenomenon = serializers.IntegerField(
        required=False,
        allow_null=True,
        help_text="Id van een fenomeen dat de organisatie in gebruik heeft; leeg als de melder het niet weet.",
    )
    address = _Text(
        required=False, allow_blank=True, max_length=30, help_text="Postcode en huisnummer, zoals 1234 AB 12."
    )
    location = _Text(
        required=False,
        allow_blank=True,
        max_length=300,
        help_text="Of een omschrijving van de plaats, zoals: parkeerplaats achter het station.",
    )
    observed_on = serializers.DateField(
        required=False,
        allow_null=True,
        help_text="Wanneer was dit (ongeveer); niet in de toekomst.",
        error_messages={"invalid": DATE_FORMAT_HELP},
    )
    noticed_how = serializers.ChoiceField(
        choices=NoticedHow.choices, required=False, allow_blank=True, help_text="Hoe kwam dit onder de aandacht?"
    )
    subjects = SubjectSerializer(
        many=True,
        required=False,
        max_length=MAX_SUBJECTS,
        help_text=f"Betrokkenen: hooguit {MAX_SUBJECTS}.",
        error_messages={"max_length": "Geef hooguit {max_length} betrokkenen op."},
    )

    def build_form(self, parsed: dict[str, Any]) -> Form:
        fields = {name: _form_value(value) for name, value in parsed.items() if name != "subjects"}
        return SignalForm(data=fields, organisation_id=self.context["request"].user.organisation_id)

    def result(self, form: Form, parsed: dict[str, Any]) -> dict[str, Any]:
        data = dataclasses.replace(signal_data(form, []), subjects=parsed.get("subjects", []))
        return {"submission_key": form.cleaned_data["submission_key"], "data": data}


class OwnSignalSerializer(serializers.Serializer):
    """What a reporter sees of their own signal: nothing internal."""

    reference = serializers.CharField(read_only=True, help_text="Kenmerk, zoals S2026-00012.")
    created_at = serializers.DateTimeField(read_only=True)
    phenomenon = serializers.CharField(source="phenomenon.name", read_only=True, allow_null=True)
    status = serializers.ChoiceField(
        source="coarse_status",
        choices=[(value, value) for value in dict.fromkeys(COARSE_STATUS.values())],
        read_only=True,
        help_text="Ontvangen, in behandeling of afgerond.",
    )
    new_question = serializers.BooleanField(
        source="unread_question",
        read_only=True,
        default=False,
        help_text="Er staat een vraag van de coördinator klaar die u nog niet las (bij Mijn meldingen); "
        "bij een nieuwe melding altijd false.",
    )


class OrganisationSignalSerializer(OwnSignalSerializer):
    """A coordinator's row of the organisation's signals. The description and the subjects stay
    out of the list: they are read, and logged, on the signal's page."""

    new_question = None  # the reporter's own marker
    id = serializers.IntegerField(read_only=True)
    handler = serializers.CharField(
        source="handler.display_name", read_only=True, allow_null=True, help_text="De behandelaar, of null."
    )
    new_message = serializers.BooleanField(
        source="unread_message",
        read_only=True,
        help_text="Er is een bericht van de melder dat nog geen coördinator opende.",
    )
    channel = serializers.ChoiceField(choices=Channel.choices, read_only=True)
    internal_status = serializers.ChoiceField(source="status", choices=SignalStatus.choices, read_only=True)
    acute_danger = serializers.BooleanField(read_only=True)
    subject_count = serializers.IntegerField(read_only=True)
    attachment_count = serializers.IntegerField(read_only=True)


_SUBMIT_EXAMPLE = OpenApiExample(
    "Melding met twee betrokkenen",
    request_only=True,
    value={
        "submission_key": "1b6f0a0e-3c1d-4a8e-9a57-0d5a3c7b2f11",
        "description": "De winkel op de hoek heeft nooit klanten maar verlengt elk jaar de vergunning.",
        "acute_danger": False,
        "address": "1234 AB 12",
        "observed_on": "2026-03-14",
        "noticed_how": "in_job",
        "subjects": [
            {"kind": "person", "name": "Jan de Vries", "date_of_birth": "1980-05-17"},
            {"kind": "company", "name": "Snackbar De Hoek BV", "kvk": "1234 5678"},
        ],
    },
)


@extend_schema_view(
    list=extend_schema(
        summary="Mijn meldingen, of de meldingen van de organisatie",
        description="Een melder krijgt de eigen meldingen: kenmerk, datum, fenomeen en grove status, niets "
        "interns. Een coördinator krijgt alle meldingen van de eigen organisatie, met kanaal, interne status, "
        "acuut gevaar en aantallen betrokkenen en bijlagen; de inhoud staat niet in de lijst.",
        responses=PolymorphicProxySerializer(
            component_name="SignalListItem",
            serializers=[OwnSignalSerializer, OrganisationSignalSerializer],
            resource_type_field_name=None,
        ),
    ),
    create=extend_schema(
        summary="Een melding doen",
        description="Dezelfde melding als met het meldformulier, met dezelfde controles en meldingen per veld. "
        "Bijlagen kunnen niet via de API: voeg ze toe via het meldformulier. De `submission_key` maakt "
        "opnieuw insturen veilig: dezelfde sleutel geeft dezelfde melding terug (200).",
        request=SignalSubmitSerializer,
        responses={
            201: OpenApiResponse(OwnSignalSerializer, description="De melding is opgeslagen."),
            200: OpenApiResponse(OwnSignalSerializer, description="Deze submission_key was al ontvangen."),
            400: OpenApiResponse(description="Per veld wat er niet klopt, in het Nederlands."),
            403: OpenApiResponse(description="Deze rol kan geen melding doen."),
            503: OpenApiResponse(description="Opslaan mislukte; niets is opgeslagen. Probeer het later opnieuw."),
        },
        examples=[_SUBMIT_EXAMPLE],
    ),
)
class SignalViewSet(viewsets.GenericViewSet):
    """Signals of undermining crime (meldpunt). No detail route: a reporter's own signal is in the
    list, a coordinator reads a signal on its (access-logged) page."""

    queryset = Signal.objects.none()  # for the schema; requests go through the selectors
    serializer_class = OwnSignalSerializer
    parser_classes = [_DutchJSONParser]  # the intake is JSON; files go through the web form

    def get_permissions(self):
        if self.action == "create":
            return [require_action(Action.SUBMIT_SIGNAL)()]
        return [(require_action(Action.SUBMIT_SIGNAL) | require_action(Action.HANDLE_SIGNALS))()]

    def list(self, request):
        if user_can(request.user, Action.HANDLE_SIGNALS):
            queryset = selectors.signal_inbox(actor=request.user)
            serializer_class: type[serializers.Serializer] = OrganisationSignalSerializer
            access_log_record(user=request.user, record_type="signals.signal", record_id="", page="api:signal-list")
        else:
            queryset = selectors.signal_list_for_reporter(user=request.user)
            serializer_class = OwnSignalSerializer
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(serializer_class(page, many=True).data)

    def create(self, request):
        serializer = SignalSubmitSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        key = serializer.validated_data["submission_key"]
        try:
            signal = services.signal_submit(
                actor=request.user,
                organisation_id=request.user.organisation_id,
                channel=Channel.WEB_FORM,
                submission_key=key,
                data=serializer.validated_data["data"],
            )
        except DjangoValidationError as error:
            detail = error.message_dict if hasattr(error, "error_dict") else {"non_field_errors": error.messages}
            raise serializers.ValidationError(detail) from None
        except DatabaseError as error:
            # The type only: a database error's details can quote the values of the row.
            logger.error("signal_submit failed: %s", type(error).__name__)
            return Response({"detail": SAVE_FAILED}, status=status.HTTP_503_SERVICE_UNAVAILABLE)
        # A repeat (the same submission_key) answers 200 with the signal stored first.
        answer = status.HTTP_200_OK if signal.repeated_submission else status.HTTP_201_CREATED
        if signal.repeated_submission:
            # As the list shows it now: a question may be waiting for a signal stored before.
            signal = selectors.signal_list_for_reporter(user=request.user).get(pk=signal.pk)
        return Response(OwnSignalSerializer(signal).data, status=answer)
