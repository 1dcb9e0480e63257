"""An administrator corrects a colleague's name, e-mail address or role (/beheer/)."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from accounts.models import ActivationMail, ApiToken, User
from accounts.roles import Role
from accounts.services import api_token_create
from audit.models import AuditEvent
from tests.conftest import activation_path_in, verified_client

_STAND = re.compile(r'name="stand" value="([^"]+)"')


def _edit(client, user, **changes):
    """Opens the edit page, as the browser does, and sends it with `changes`."""
    url = reverse("beheer:user_edit", args=[user.pk])
    page = client.get(url).content.decode()
    data = {
        "first_name": user.first_name,
        "last_name": user.last_name,
        "email": user.email,
        "role": user.role,
        "stand": _STAND.search(page).group(1),
        **changes,
    }
    return client.post(url, data, follow=True)


@pytest.fixture
def admin(make_user):
    return make_user(role=Role.ADMIN, first_name="Bea", last_name="Beheer")


@pytest.fixture
def colleague(make_user, admin):
    return make_user(
        role=Role.EMPLOYEE,
        organisation=admin.organisation,
        first_name="Piet",
        last_name="Pietersen",
        email="piet@example.org",
    )


def test_an_administrator_corrects_name_and_address_and_the_event_holds_no_values(
    admin, colleague, django_capture_on_commit_callbacks
):
    client = verified_client(admin)
    colleague_client = verified_client(colleague)

    with django_capture_on_commit_callbacks(execute=True):
        response = _edit(client, colleague, last_name="Pieterse", email="p.pieterse@example.org")

    assert "De gegevens zijn opgeslagen." in response.content.decode()
    colleague.refresh_from_db()
    assert (colleague.last_name, colleague.email) == ("Pieterse", "p.pieterse@example.org")
    event = AuditEvent.objects.get(action="user.changed")
    assert event.actor_id == admin.pk and event.record_id == str(colleague.pk)
    assert event.data == {"fields": ["email", "last_name"]}
    assert "Pieterse" not in str(event.data) and "example.org" not in str(event.data)
    # Not a change of access: the colleague stays logged in. The old address is told, without
    # the new one and without a link.
    assert colleague_client.get(reverse("home")).status_code == 200
    assert [m.to for m in mail.outbox] == [["piet@example.org"]]
    assert "p.pieterse" not in mail.outbox[0].body and "http" not in mail.outbox[0].body
    assert "Het oude adres krijgt daarvan bericht." in response.content.decode()


def test_a_new_role_ends_the_sessions_and_tokens(admin, colleague):
    colleague_client = verified_client(colleague)
    api_token_create(user=colleague, name="koppeling", verified=True)

    response = _edit(verified_client(admin), colleague, role=Role.COORDINATOR)

    assert "logt opnieuw in met de nieuwe rol" in response.content.decode()
    assert User.objects.get(pk=colleague.pk).role == Role.COORDINATOR
    # Who gave whom which access, and when: the roles are in the event (codes, not personal data).
    event = AuditEvent.objects.get(action="user.changed")
    assert event.data == {"fields": ["role"], "role_before": "employee", "role_after": "coordinator"}
    assert colleague_client.get(reverse("home"))["Location"].startswith(reverse("accounts:login"))
    assert not ApiToken.objects.active().filter(user=colleague).exists()


@pytest.mark.parametrize(
    ("change", "new_address"),
    [({"email": "nieuw@example.org"}, "nieuw@example.org"), ({"role": Role.COORDINATOR}, "typo@exampel.org")],
    ids=["address", "role"],
)
def test_an_account_not_yet_activated_gets_a_new_link_after_a_new_address_or_role(
    admin, eager_tasks, django_capture_on_commit_callbacks, change, new_address
):
    """Both kill the link already sent (the token holds the address and the security stamp)."""
    client = verified_client(admin)
    new_user = {"username": "nieuw", "first_name": "N", "last_name": "Ieuw", "email": "typo@exampel.org"}
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("beheer:user_create"), {**new_user, "role": "employee"})
    user = User.objects.get(username="nieuw")
    old_link = activation_path_in(mail.outbox[0])

    with django_capture_on_commit_callbacks(execute=True):
        response = _edit(client, user, **change)

    assert "Er wordt een nieuwe activeringslink gemaild; de vorige werkt niet meer." in response.content.decode()
    assert [m.to for m in mail.outbox] == [["typo@exampel.org"], [new_address]]
    assert ActivationMail.objects.filter(user=user).count() == 2
    assert "Deze link werkt niet meer" in Client().get(old_link, follow=True).content.decode()
    assert "Kies uw wachtwoord" in Client().get(activation_path_in(mail.outbox[1]), follow=True).content.decode()


def test_refused_changes_change_nothing(admin, colleague):
    client = verified_client(admin)
    before = list(User.objects.order_by("pk").values_list("first_name", "last_name", "email", "role"))

    own_role = _edit(client, admin, role=Role.EMPLOYEE).content.decode()
    assert "U kunt uw eigen rol niet wijzigen" in own_role
    not_in_kind = _edit(client, colleague, role=Role.PARTNER).content.decode()
    assert "Selecteer een geldige keuze" in not_in_kind
    bad_address = _edit(client, colleague, email="piet-at-example.org", first_name="").content.decode()
    assert "Voer een geldig e-mailadres in" in bad_address and "piet-at-example.org" in bad_address
    nothing = _edit(client, colleague).content.decode()
    assert "Er is niets gewijzigd." in nothing

    assert list(User.objects.order_by("pk").values_list("first_name", "last_name", "email", "role")) == before
    assert not AuditEvent.objects.filter(action="user.changed").exists()


def test_two_administrators_do_not_overwrite_each_other_unseen(admin, colleague, make_user):
    other_admin = make_user(role=Role.ADMIN, organisation=admin.organisation)
    first, second = verified_client(admin), verified_client(other_admin)
    url = reverse("beheer:user_edit", args=[colleague.pk])
    stale = _STAND.search(second.get(url).content.decode()).group(1)
    _edit(first, colleague, email="piet.nieuw@example.org")

    data = {"first_name": "Piet", "last_name": "Pietersen", "email": "piet@example.org", "role": "employee"}
    response = second.post(url, {**data, "last_name": "Pieters", "stand": stale})

    page = response.content.decode()
    assert response.status_code == 200 and "gewijzigd nadat u de pagina opende" in page
    assert "piet.nieuw@example.org" in page  # the account as it is now
    assert 'value="Pieters"' in page  # what the second administrator typed is still there
    assert User.objects.get(pk=colleague.pk).last_name == "Pietersen"
    # Sent again, knowingly: it goes through.
    fresh = _STAND.search(page).group(1)
    second.post(url, {**data, "last_name": "Pieters", "stand": fresh})
    colleague.refresh_from_db()
    assert (colleague.last_name, colleague.email) == ("Pieters", "piet@example.org")


def test_a_form_without_its_stand_is_refused(admin, colleague):
    url = reverse("beheer:user_edit", args=[colleague.pk])
    data = {"first_name": "Piet", "last_name": "Anders", "email": "piet@example.org", "role": "employee"}
    response = verified_client(admin).post(url, data)
    assert response.status_code == 200 and "Het formulier is niet compleet" in response.content.decode()
    assert User.objects.get(pk=colleague.pk).last_name == "Pietersen"


def test_two_administrators_demoting_each_other_at_once_leave_one(admin, make_user):
    """Both requests load their actor before either change (as request.user is); the service reads
    both rows again under a lock, so the second finds it is no longer an administrator."""
    from django.core.exceptions import PermissionDenied, ValidationError

    from accounts.services import user_stand, user_update

    other = make_user(role=Role.ADMIN, organisation=admin.organisation)
    admin_seen, other_seen = User.objects.get(pk=admin.pk), User.objects.get(pk=other.pk)
    stand_of_other, stand_of_admin = user_stand(other_seen), user_stand(admin_seen)

    user_update(actor=admin_seen, user=other_seen, changes={"role": Role.EMPLOYEE}, seen=stand_of_other)
    with pytest.raises((PermissionDenied, ValidationError)):
        user_update(actor=other_seen, user=admin_seen, changes={"role": Role.EMPLOYEE}, seen=stand_of_admin)

    roles = dict(User.objects.filter(pk__in=[admin.pk, other.pk]).values_list("pk", "role"))
    assert roles == {admin.pk: Role.ADMIN, other.pk: Role.EMPLOYEE}


def test_two_administrators_blocking_each_other_at_once_leave_one(admin, make_user):
    from django.core.exceptions import PermissionDenied, ValidationError

    from accounts.services import user_set_active

    other = make_user(role=Role.ADMIN, organisation=admin.organisation)
    admin_seen, other_seen = User.objects.get(pk=admin.pk), User.objects.get(pk=other.pk)
    user_set_active(actor=admin_seen, user=other_seen, active=False)
    with pytest.raises((PermissionDenied, ValidationError)):
        user_set_active(actor=other_seen, user=admin_seen, active=False)
    assert User.objects.get(pk=admin.pk).is_active
