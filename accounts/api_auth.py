"""API authentication: personal tokens (hashed at rest) and sessions verified with a second factor."""

from __future__ import annotations

from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions, permissions

from accounts.models import ApiToken
from accounts.roles import Action, role_requires_two_factor, user_can
from accounts.second_factor import has_second_factor


class HashedTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Token"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Ongeldige Authorization-header.")
        raw = header[1].decode(errors="ignore")
        token = (
            ApiToken.objects.active()
            .select_related("user", "user__organisation")
            .filter(digest=ApiToken.digest_for(raw))
            .first()
        )
        if token is None or not token.user.is_active:
            raise exceptions.AuthenticationFailed("Ongeldig of ingetrokken token.")
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=timezone.now())
        # A token is created only from a session verified with a second factor.
        token.user.is_verified = lambda: True
        return token.user, token

    def authenticate_header(self, request):
        return self.keyword


ROLE_HAS_NO_ACCESS = "Uw rol geeft geen toegang tot deze gegevens."


class IsVerifiedUser(permissions.BasePermission):
    message = "U moet ingelogd zijn met tweestapsverificatie."

    def has_permission(self, request, view) -> bool:
        user = request.user
        if not user or not user.is_authenticated:
            return False
        if not user_can(user, Action.USE_API):
            self.message = ROLE_HAS_NO_ACCESS  # this instance serves one request
            return False
        if isinstance(request.auth, ApiToken):
            # Tokens are made only from verified sessions and revoked when 2FA is reset; a role
            # that needs 2FA still needs an enrolled device behind the token.
            return not role_requires_two_factor(user.role) or has_second_factor(user)
        return user.is_verified() or not role_requires_two_factor(user.role)


def require_action(action: Action) -> type[permissions.BasePermission]:
    class _HasAction(IsVerifiedUser):
        def has_permission(self, request, view) -> bool:
            if not super().has_permission(request, view):
                return False
            if not user_can(request.user, action):
                self.message = ROLE_HAS_NO_ACCESS
                return False
            return True

    _HasAction.__name__ = f"Can_{action.value}"
    return _HasAction


class HashedTokenScheme(OpenApiAuthenticationExtension):
    """Documents the token scheme in the OpenAPI schema."""

    target_class = "accounts.api_auth.HashedTokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "Persoonlijk API-token, aan te maken onder 'Mijn account': `Token <token>`.",
        }
