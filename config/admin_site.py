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
        from django.contrib.auth.views import redirect_to_login

        return redirect_to_login(request.get_full_path())
