from __future__ import annotations

from django import forms
from django.contrib.auth import authenticate
from django.contrib.auth.signals import user_login_failed

from accounts.models import User
from accounts.roles import ROLES_BY_ORGANISATION_KIND, Role
from accounts.second_factor import has_second_factor, second_factor_match

LOGIN_ERROR = (
    "De combinatie van gebruikersnaam, wachtwoord en code klopt niet. Controleer uw gegevens en probeer het opnieuw."
)


class LoginForm(forms.Form):
    """Username, password and the code from the authenticator app (or a backup code) in one step.

    Every failure gives the same message, so nobody learns which part was wrong; a wrong code
    counts as a failed attempt for the lockout just like a wrong password.
    """

    username = forms.CharField(label="Gebruikersnaam", max_length=150)
    password = forms.CharField(label="Wachtwoord", strip=False, widget=forms.PasswordInput)
    otp_token = forms.CharField(
        label="Code uit uw authenticator-app of een reservecode",
        required=False,
        max_length=16,
        help_text="Nog geen app ingesteld? Laat dit veld leeg; u stelt de app na het inloggen in.",
    )

    def __init__(self, request, *args, **kwargs):
        self.request = request
        self.user: User | None = None
        self.device = None
        super().__init__(*args, **kwargs)
        self.fields["username"].widget.attrs.update(autocomplete="username")
        self.fields["password"].widget.attrs.update(autocomplete="current-password")
        self.fields["otp_token"].widget.attrs.update(
            autocomplete="one-time-code", inputmode="numeric", spellcheck="false"
        )

    def clean(self):
        cleaned = super().clean()
        username = cleaned.get("username")
        password = cleaned.get("password")
        if not username or not password:
            return cleaned
        user = authenticate(self.request, username=username, password=password)
        if user is None:
            raise forms.ValidationError(LOGIN_ERROR, code="invalid_login")
        token = (cleaned.get("otp_token") or "").replace(" ", "")
        if has_second_factor(user):
            device = second_factor_match(user, token) if token else None
            if device is None:
                user_login_failed.send(sender=__name__, credentials={"username": username}, request=self.request)
                raise forms.ValidationError(LOGIN_ERROR, code="invalid_login")
            self.device = device
        self.user = user
        return cleaned


class TOTPConfirmForm(forms.Form):
    token = forms.CharField(
        label="Code uit de app",
        max_length=8,
        help_text="De zescijferige code die de app nu toont.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["token"].widget.attrs.update(autocomplete="one-time-code", inputmode="numeric")

    def clean_token(self):
        token = self.cleaned_data["token"].replace(" ", "")
        if not token.isdigit() or len(token) != 6:
            raise forms.ValidationError("Vul de zes cijfers in die de app toont.")
        return token


class ApiTokenForm(forms.Form):
    name = forms.CharField(
        label="Waarvoor gebruikt u dit token?", max_length=100, help_text="Bijvoorbeeld: koppeling zaaksysteem."
    )


class UserCreateForm(forms.Form):
    username = forms.CharField(label="Gebruikersnaam", max_length=150)
    first_name = forms.CharField(label="Voornaam", max_length=150)
    last_name = forms.CharField(label="Achternaam", max_length=150)
    email = forms.EmailField(
        label="E-mailadres",
        help_text="Naar dit adres gaat een link waarmee de gebruiker een wachtwoord kiest.",
    )
    role = forms.ChoiceField(label="Rol")

    def __init__(self, *args, organisation, **kwargs):
        super().__init__(*args, **kwargs)
        allowed = ROLES_BY_ORGANISATION_KIND.get(organisation.kind, frozenset())
        self.fields["role"].choices = [("", "Kies een rol")] + [
            (value, label) for value, label in Role.choices if value in allowed
        ]


class UserEditForm(forms.Form):
    """An administrator corrects a colleague's name, e-mail address or role. The hidden `stand`
    holds what the page showed, so two administrators do not overwrite each other unseen."""

    first_name = forms.CharField(label="Voornaam", max_length=150)
    last_name = forms.CharField(label="Achternaam", max_length=150)
    email = forms.EmailField(
        label="E-mailadres",
        help_text="Heeft de gebruiker nog geen wachtwoord gekozen, dan gaat er een nieuwe activeringslink naar dit adres.",
    )
    role = forms.ChoiceField(label="Rol", help_text="Een andere rol beëindigt de sessies van de gebruiker.")
    stand = forms.CharField(
        widget=forms.HiddenInput,
        error_messages={"required": "Het formulier is niet compleet. Open de pagina opnieuw en probeer het nog eens."},
    )

    def __init__(self, *args, account: User, **kwargs):
        from accounts.services import user_stand

        kwargs.setdefault(
            "initial",
            {
                "first_name": account.first_name,
                "last_name": account.last_name,
                "email": account.email,
                "role": account.role,
                "stand": user_stand(account),
            },
        )
        super().__init__(*args, **kwargs)
        allowed = ROLES_BY_ORGANISATION_KIND.get(account.organisation.kind, frozenset())
        self.fields["role"].choices = [(value, label) for value, label in Role.choices if value in allowed]
