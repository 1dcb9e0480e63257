from __future__ import annotations

import factory
from django_otp.plugins.otp_static.models import StaticDevice

from accounts.models import AuthenticatorApp, Organisation, Region, User
from accounts.roles import ROLES_BY_ORGANISATION_KIND, OrganisationKind, Role

PASSWORD = "correct-horse-battery-staple"


class RegionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Region
        django_get_or_create = ("name",)

    name = "RIEC Noord-Holland"


class OrganisationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organisation

    name = factory.Sequence(lambda n: f"Gemeente Test {n}")
    kind = OrganisationKind.MUNICIPALITY
    region = factory.SubFactory(RegionFactory)


def organisation_kind_for(role: str) -> str:
    for kind in (
        OrganisationKind.MUNICIPALITY,
        OrganisationKind.PROVINCE,
        OrganisationKind.PARTNER,
        OrganisationKind.RIEC,
    ):
        if role in ROLES_BY_ORGANISATION_KIND[kind]:
            return kind
    raise ValueError(role)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"gebruiker{n}")
    first_name = "Test"
    last_name = factory.Sequence(lambda n: f"Persoon {n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.org")
    role = Role.EMPLOYEE
    organisation = factory.SubFactory(
        OrganisationFactory, kind=factory.LazyAttribute(lambda o: organisation_kind_for(o.factory_parent.role))
    )
    password = factory.django.Password(PASSWORD)


def add_totp(user: User) -> AuthenticatorApp:
    return AuthenticatorApp.objects.create(user=user, name="authenticator-app", confirmed=True)


def add_static_code(user: User, code: str = "backup123") -> str:
    from accounts.second_factor import backup_codes_store

    device, _ = StaticDevice.objects.get_or_create(user=user, name="reservecodes", defaults={"confirmed": True})
    backup_codes_store(device, [code])
    return code


def totp_now(device: AuthenticatorApp) -> str:
    from django_otp.oath import totp

    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits, drift=device.drift):06d}"


PDF_BYTES = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def make_signal(
    actor, *, description: str = "Winkel zonder klanten", subjects=None, files=None, organisation_id=None, **fields
):
    """A signal submitted through the service: by `actor` on the web form, or without an account
    (actor None) on the confidential form of `organisation_id`."""
    import uuid

    from signals.attachments import check_upload
    from signals.models import Channel
    from signals.services import SignalData, signal_submit

    channel = fields.pop("channel", Channel.WEB_FORM if actor is not None else Channel.CONFIDENTIAL_FORM)
    data = SignalData(
        description=description,
        subjects=list(subjects or []),
        files=[check_upload(name, content) for name, content in (files or [])],
        **fields,
    )
    return signal_submit(
        actor=actor,
        organisation_id=organisation_id or actor.organisation_id,
        channel=channel,
        submission_key=uuid.uuid4(),
        data=data,
    )
