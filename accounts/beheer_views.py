"""The administrator's pages: accounts of their own organisation."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from accounts import selectors, services
from accounts.decorators import require_action
from accounts.forms import UserCreateForm, UserEditForm
from accounts.roles import Action, user_can


@require_action(Action.MANAGE_USERS)
def user_list(request):
    return render(request, "beheer/user_list.html", {"users": selectors.user_list(actor=request.user)})


@require_action(Action.MANAGE_USERS)
def user_detail(request, pk: int):
    user = selectors.user_get(actor=request.user, pk=pk)
    return render(
        request,
        "beheer/user_detail.html",
        {"account": user, "activation_mail": selectors.activation_mail_summary(user)},
    )


@require_action(Action.MANAGE_USERS)
def user_create(request):
    form = UserCreateForm(request.POST or None, organisation=request.user.organisation)
    if request.method == "POST" and form.is_valid():
        try:
            user = services.user_create(actor=request.user, **form.cleaned_data)
        except ValidationError as error:
            for field, field_errors in error.message_dict.items():
                form.add_error(field if field in form.fields else None, field_errors)
        else:
            if not user.email:
                messages.success(
                    request, "Het account is aangemaakt. Zonder e-mailadres krijgt de gebruiker geen activeringslink."
                )
            elif user.activation_queued:
                messages.success(
                    request,
                    "Het account is aangemaakt. De activeringsmail wordt verstuurd; hieronder ziet u of dat gelukt is.",
                )
            else:
                messages.warning(
                    request,
                    "Het account is aangemaakt, maar de activeringsmail kon nu niet in de wachtrij. Weerbaar "
                    "verstuurt hem zodra dat weer kan; u kunt hem hieronder ook opnieuw versturen.",
                )
            return redirect("beheer:user_detail", pk=user.pk)
    return render(request, "beheer/user_create.html", {"form": form})


@require_action(Action.MANAGE_USERS)
def user_edit(request, pk: int):
    user = selectors.user_get(actor=request.user, pk=pk)
    form = UserEditForm(request.POST or None, account=user)
    changed_meanwhile = False
    if request.method == "POST" and form.is_valid():
        changes = {field: form.cleaned_data[field] for field in services.USER_EDITABLE}
        try:
            changed = services.user_update(
                actor=request.user, user=user, changes=changes, seen=form.cleaned_data["stand"]
            )
        except ValidationError as error:
            if getattr(error, "code", None) == "changed_meanwhile":
                # What was typed stays; the page shows the account as it is now beside it, and the
                # next save is made knowing that.
                user = selectors.user_get(actor=request.user, pk=pk)
                data = request.POST.copy()
                data["stand"] = services.user_stand(user)
                form = UserEditForm(data, account=user)
                form.is_valid()
                changed_meanwhile = error.messages[0]
            else:
                for field, field_errors in error.message_dict.items():
                    form.add_error(field if field in form.fields else None, field_errors)
        else:
            if not changed:
                messages.info(request, "Er is niets gewijzigd.")
            else:
                done = "De gegevens zijn opgeslagen."
                activated = user.has_usable_password()
                if "role" in changed and activated:
                    done += " De gebruiker is afgemeld en logt opnieuw in met de nieuwe rol."
                if ("role" in changed or "email" in changed) and not activated and user.is_active and user.email:
                    done += " Er wordt een nieuwe activeringslink gemaild; de vorige werkt niet meer."
                if "email" in changed and activated:
                    done += " Het oude adres krijgt daarvan bericht."
                messages.success(request, done)
            return redirect("beheer:user_detail", pk=user.pk)
    return render(
        request, "beheer/user_edit.html", {"account": user, "form": form, "changed_meanwhile": changed_meanwhile}
    )


@require_POST
@require_action(Action.MANAGE_USERS)
def user_reset_two_factor(request, pk: int):
    user = selectors.user_get(actor=request.user, pk=pk)
    services.user_reset_two_factor(actor=request.user, user=user)
    messages.success(
        request,
        "De tweestapsverificatie is gewist. De gebruiker stelt bij de volgende keer inloggen een nieuwe app in.",
    )
    return redirect("beheer:user_detail", pk=user.pk)


@require_POST
@require_action(Action.MANAGE_USERS)
def user_activation_resend(request, pk: int):
    user = selectors.user_get(actor=request.user, pk=pk)
    try:
        queued = services.user_activation_resend(actor=request.user, user=user)
    except ValidationError as error:
        messages.error(request, error.messages[0])
    else:
        if queued:
            messages.success(
                request,
                "Er wordt een nieuwe activeringslink naar de gebruiker gemaild; hieronder ziet u of dat gelukt is.",
            )
        else:
            messages.warning(
                request,
                "De activeringsmail kon nu niet in de wachtrij. Weerbaar verstuurt hem zodra dat weer kan.",
            )
    return redirect("beheer:user_detail", pk=user.pk)


@require_POST
@require_action(Action.MANAGE_USERS)
def user_unlock(request, pk: int):
    user = selectors.user_get(actor=request.user, pk=pk)
    services.user_unlock(actor=request.user, user=user)
    messages.success(request, "De blokkade na mislukte inlogpogingen is opgeheven.")
    return redirect("beheer:user_detail", pk=user.pk)


@require_POST
@require_action(Action.MANAGE_USERS)
def user_set_active(request, pk: int):
    user = selectors.user_get(actor=request.user, pk=pk)
    active = request.POST.get("active") == "1"
    try:
        services.user_set_active(actor=request.user, user=user, active=active)
    except ValidationError as error:
        messages.error(request, error.messages[0])
    else:
        messages.success(request, "Het account is weer actief." if active else "Het account is geblokkeerd.")
    return redirect("beheer:user_detail", pk=user.pk)


@require_action(Action.VIEW_ORGANISATION)
def organisation(request):
    organisation = selectors.organisation_get(actor=request.user)
    public_form = settings.WEERBAAR_BASE_URL.rstrip("/") + reverse(
        "signals:confidential_submit", kwargs={"organisation_id": organisation.pk}
    )
    return render(
        request,
        "beheer/organisation.html",
        {
            "organisation": organisation,
            "public_form": public_form,
            "may_switch": user_can(request.user, Action.MANAGE_CONFIDENTIAL_REPORTING),
        },
    )


@require_POST
@require_action(Action.MANAGE_CONFIDENTIAL_REPORTING)
def organisation_confidential_reporting(request):
    wanted = request.POST.get("aan")
    if wanted not in ("0", "1"):
        messages.error(request, "Kies met de knop of vertrouwelijk melden aan of uit moet.")
        return redirect("beheer:organisation")
    # The state the button asked for, not the opposite of now: a double click stays one change.
    services.organisation_confidential_reporting_set(actor=request.user, enabled=wanted == "1")
    if wanted == "1":
        messages.success(request, "Vertrouwelijk melden zonder account staat aan. Publiceer het adres hieronder.")
    else:
        messages.success(
            request,
            "Vertrouwelijk melden zonder account staat uit: het formulier neemt geen nieuwe meldingen meer aan. "
            "Wie al een ontvangstcode heeft, kan zijn melding blijven volgen.",
        )
    return redirect("beheer:organisation")
