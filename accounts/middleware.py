from __future__ import annotations

from django.http import JsonResponse
from django.shortcuts import redirect
from django.urls import reverse

from accounts.roles import role_requires_two_factor

# Paths a logged-in user without a verified second factor may still reach.
_OPEN_PREFIXES = ("/static/", "/health/")


class TwoFactorRequiredMiddleware:
    """A user whose role needs 2FA (or who has enrolled) reaches nothing but the enrolment page
    and logout until their session is verified with a second factor."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and self._needs_verification(request, user):
            path = request.path_info
            allowed = (
                reverse("accounts:two_factor_setup"),
                reverse("accounts:logout"),
                reverse("accounts:login"),
            )
            if not path.startswith(_OPEN_PREFIXES) and path not in allowed:
                if path.startswith("/api/") and path != reverse("api_docs"):
                    return JsonResponse({"detail": "Tweestapsverificatie is vereist voor deze sessie."}, status=403)
                return redirect("accounts:two_factor_setup")
        return self.get_response(request)

    @staticmethod
    def _needs_verification(request, user) -> bool:
        if user.is_verified():
            return False
        # Token-authenticated API calls are verified by the token itself (see api_auth).
        if request.path_info.startswith("/api/") and "HTTP_AUTHORIZATION" in request.META:
            return False
        return user.is_superuser or role_requires_two_factor(user.role)
