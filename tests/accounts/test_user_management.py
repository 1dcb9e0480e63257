from __future__ import annotations

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from accounts.models import User
from accounts.roles import OrganisationKind, Role
from tests.conftest import activation_path_in, verified_client
from tests.factories import OrganisationFactory, UserFactory

NEW_USER = {
    "username": "nieuwe.collega",
    "first_name": "Nina",
    "last_name": "Nieuw",
    "email": "nina@example.org",
    "role": Role.COORDINATOR,
}


NEW_PASSWORD = "een-lang-nieuw-wachtwoord"


def _choose_password(path: str, password: str = NEW_PASSWORD):
    """Opens the activation link in a fresh browser and chooses a password, as the new user does."""
    client = Client()
    form = client.get(path, follow=True)
    assert "Kies uw wachtwoord" in form.content.decode()
    return client.post(form.redirect_chain[-1][0], {"new_password1": password, "new_password2": password})


def test_admin_creates_account_and_activation_mail_holds_a_link_only(
    make_user, django_capture_on_commit_callbacks, eager_tasks
):
    admin = make_user(role=Role.ADMIN)
    with django_capture_on_commit_callbacks(execute=True):
        response = verified_client(admin).post(reverse("beheer:user_create"), NEW_USER)

    user = User.objects.get(username="nieuwe.collega")
    assert response["Location"] == reverse("beheer:user_detail", kwargs={"pk": user.pk})
    assert user.organisation_id == admin.organisation_id
    assert not user.has_usable_password()
    assert len(mail.outbox) == 1
    body = mail.outbox[0].body
    assert "Nina" not in body and "Nieuw" not in body and admin.organisation.name not in body
    assert mail.outbox[0].to == ["nina@example.org"]

    path = activation_path_in(mail.outbox[0])
    assert _choose_password(path)["Location"] == reverse("accounts:login")
    user.refresh_from_db()
    assert user.check_password("een-lang-nieuw-wachtwoord")
    assert "Deze link werkt niet meer" in Client().get(path, follow=True).content.decode()


def test_an_activation_link_dies_when_the_account_is_blocked(
    make_user, django_capture_on_commit_callbacks, eager_tasks
):
    """The mail went to the wrong address, so the beheerder blocks the account: the link in it
    no longer sets a password, not after unblocking either; a new mail does."""
    admin = make_user(role=Role.ADMIN)
    beheer = verified_client(admin)
    with django_capture_on_commit_callbacks(execute=True):
        beheer.post(reverse("beheer:user_create"), NEW_USER)
    user = User.objects.get(username="nieuwe.collega")
    first_link = activation_path_in(mail.outbox[0])

    beheer.post(reverse("beheer:user_set_active", kwargs={"pk": user.pk}), {"active": "0"})
    assert "Deze link werkt niet meer" in Client().get(first_link, follow=True).content.decode()
    beheer.post(reverse("beheer:user_set_active", kwargs={"pk": user.pk}), {"active": "1"})
    assert "Deze link werkt niet meer" in Client().get(first_link, follow=True).content.decode()
    user.refresh_from_db()
    assert not user.has_usable_password()

    with django_capture_on_commit_callbacks(execute=True):
        beheer.post(reverse("beheer:user_activation_resend", kwargs={"pk": user.pk}))
    assert _choose_password(activation_path_in(mail.outbox[-1]))["Location"] == reverse("accounts:login")


def test_an_organisation_does_not_change_kind_under_roles_it_would_not_have(make_user, organisation):
    from django.core.exceptions import ValidationError

    coordinator = make_user(role=Role.COORDINATOR, organisation=organisation)
    organisation.kind = OrganisationKind.PARTNER
    with pytest.raises(ValidationError) as refused:
        organisation.full_clean()
    assert "kind" in refused.value.message_dict
    # Through the Django admin: the same message, and nothing changes.
    superuser = UserFactory(role="", organisation=None, is_superuser=True, is_staff=True)
    client = verified_client(superuser)
    url = reverse("admin:accounts_organisation_change", args=[organisation.pk])
    form = client.get(url).context["adminform"].form
    data = {name: form[name].value() or "" for name in form.fields}
    data["kind"] = OrganisationKind.PARTNER
    data["confidential_reporting_enabled"] = ""
    response = client.post(url, data)
    assert response.status_code == 200
    assert "kent de rol van 1 account(s)" in response.content.decode()
    organisation.refresh_from_db()
    assert organisation.kind == OrganisationKind.MUNICIPALITY
    assert verified_client(coordinator).get(reverse("signals:inbox")).status_code == 200


def test_role_must_fit_the_organisation(make_user):
    partner_org = OrganisationFactory(kind=OrganisationKind.PARTNER, partner_type="politie")
    admin = make_user(role=Role.ADMIN, organisation=partner_org)

    response = verified_client(admin).post(reverse("beheer:user_create"), NEW_USER)

    assert response.status_code == 200
    assert "Selecteer een geldige keuze" in response.content.decode()
    assert 'value="nieuwe.collega"' in response.content.decode()  # what was typed is kept
    assert not User.objects.filter(username="nieuwe.collega").exists()


def test_duplicate_username_is_refused_with_a_message(make_user):
    admin = make_user(role=Role.ADMIN)
    make_user(username="nieuwe.collega")
    response = verified_client(admin).post(reverse("beheer:user_create"), NEW_USER)
    assert "Deze gebruikersnaam is al in gebruik" in response.content.decode()
    assert User.objects.filter(username="nieuwe.collega").count() == 1


def test_admin_cannot_block_themselves(make_user):
    admin = make_user(role=Role.ADMIN)
    client = verified_client(admin)
    response = client.post(reverse("beheer:user_set_active", kwargs={"pk": admin.pk}), {"active": "0"}, follow=True)
    assert "U kunt uw eigen account niet blokkeren" in response.content.decode()
    admin.refresh_from_db()
    assert admin.is_active


def test_blocked_user_cannot_log_in(make_user):
    admin = make_user(role=Role.ADMIN)
    employee = make_user(role=Role.EMPLOYEE, organisation=admin.organisation)
    verified_client(admin).post(reverse("beheer:user_set_active", kwargs={"pk": employee.pk}), {"active": "0"})
    from tests.factories import PASSWORD

    response = Client().post(reverse("accounts:login"), {"username": employee.username, "password": PASSWORD})
    assert response.status_code == 200


@pytest.mark.parametrize("count", [3, 25])
def test_user_list_costs_a_constant_number_of_queries(make_user, django_assert_num_queries, count):
    admin = make_user(role=Role.ADMIN)
    for _ in range(count):
        make_user(role=Role.EMPLOYEE, organisation=admin.organisation)
    client = verified_client(admin)
    client.get(reverse("beheer:user_list"))  # warm the session

    # session, user with organisation, OTP device, the list (one query with its 2FA state),
    # session save (inside a savepoint: three statements)
    with django_assert_num_queries(7):
        response = client.get(reverse("beheer:user_list"))
    assert len(response.context["users"]) == count + 1


@pytest.mark.django_db(transaction=True)  # the mail is queued on a real commit, before the page is answered
def test_with_the_broker_down_the_account_stands_and_the_mail_can_be_sent_again(make_user, broker_down):
    from audit.models import AuditEvent

    admin = make_user(role=Role.ADMIN)
    client = verified_client(admin)
    response = client.post(reverse("beheer:user_create"), NEW_USER, follow=True)

    user = User.objects.get(username="nieuwe.collega")
    page = response.content.decode()
    assert "de activeringsmail kon nu niet in de wachtrij" in page and "Activeringsmail opnieuw versturen" in page
    assert "Wacht op verzending" in page
    assert mail.outbox == []

    again = client.post(reverse("beheer:user_activation_resend", args=[user.pk]), follow=True)
    assert "De activeringsmail kon nu niet in de wachtrij." in again.content.decode()
    assert AuditEvent.objects.filter(action="user.activation_resent", record_id=str(user.pk)).count() == 1


@pytest.mark.django_db(transaction=True)
def test_the_activation_mail_is_sent_again_once_only_to_an_account_not_yet_activated(make_user, eager_tasks):
    from audit.models import AuditEvent

    admin = make_user(role=Role.ADMIN)
    client = verified_client(admin)
    client.post(reverse("beheer:user_create"), NEW_USER)
    user = User.objects.get(username="nieuwe.collega")

    response = client.post(reverse("beheer:user_activation_resend", args=[user.pk]), follow=True)

    page = response.content.decode()
    assert "Er wordt een nieuwe activeringslink naar de gebruiker gemaild" in page and "Verstuurd op" in page
    assert [m.to for m in mail.outbox] == [["nina@example.org"], ["nina@example.org"]]
    assert AuditEvent.objects.filter(
        action="user.activation_resent", record_id=str(user.pk), actor_id=admin.pk
    ).exists()

    user.set_password("een-lang-nieuw-wachtwoord")
    user.save()
    page = client.get(reverse("beheer:user_detail", args=[user.pk])).content.decode()
    assert "Activeringsmail opnieuw versturen" not in page
    refused = client.post(reverse("beheer:user_activation_resend", args=[user.pk]), follow=True)
    assert "Dit account is al geactiveerd" in refused.content.decode() and len(mail.outbox) == 2
