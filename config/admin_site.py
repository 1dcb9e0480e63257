from django.contrib import admin


class WeerbaarAdminSite(admin.AdminSite):
    """The Django admin is for platform administrators only (superusers with a verified second
    factor); organisation administrators use the product's own beheer pages, which are scoped to
    their organisation."""

    site_header = "Weerbaar platformbeheer"
    site_title = "Weerbaar platformbeheer"

    def has_permission(self, request) -> bool:
        user = request.user
        return bool(user.is_active and user.is_superuser and user.is_verified())

    def login(self, request, extra_context=None):
        """The product's login serves the admin too. Who is in already goes on: a platform
        administrator to the admin, anyone else (logged in and verified) gets the 403 page;
        sending them to the login would send them straight back here."""
        from django.contrib.auth.views import redirect_to_login
        from django.core.exceptions import PermissionDenied
        from django.shortcuts import redirect
        from django.urls import reverse
        from django.utils.http import url_has_allowed_host_and_scheme

        if self.has_permission(request):
            target = request.GET.get("next", "")
            if not url_has_allowed_host_and_scheme(target, {request.get_host()}, require_https=request.is_secure()):
                target = reverse("admin:index", current_app=self.name)
            return redirect(target)
        if request.user.is_authenticated and request.user.is_verified():
            raise PermissionDenied
        return redirect_to_login(request.get_full_path())
