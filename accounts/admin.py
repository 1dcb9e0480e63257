from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.db import transaction

from accounts.models import Organisation, Region, User


@admin.register(Region)
class RegionAdmin(admin.ModelAdmin):
    search_fields = ["name"]


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "region"]
    list_filter = ["kind", "region"]
    search_fields = ["name"]


@admin.register(User)
class WeerbaarUserAdmin(UserAdmin):
    list_display = ["username", "organisation", "role", "is_active", "is_superuser"]
    list_filter = ["organisation", "role", "is_active", "is_superuser"]
    list_select_related = ["organisation"]
    fieldsets = (
        *UserAdmin.fieldsets,
        ("Organisatie en rol", {"fields": ("organisation", "role")}),
    )

    def save_model(self, request, obj, form, change):
        from accounts.services import user_save_by_platform_admin

        user_save_by_platform_admin(actor=request.user, user=obj, changed=list(form.changed_data), created=not change)

    def user_change_password(self, request, id, form_url=""):
        # The password form saves the account, then logs the change (log_change below): in one
        # transaction, so the audit event goes in with the new password or neither does.
        with transaction.atomic():
            return super().user_change_password(request, id, form_url)

    def log_change(self, request, obj, message):
        entry = super().log_change(request, obj, message)
        match = request.resolver_match
        if isinstance(obj, User) and match is not None and match.url_name == "auth_user_password_change":
            from accounts.services import user_password_set_by_platform_admin

            user_password_set_by_platform_admin(actor=request.user, user=obj)
        return entry

    def has_delete_permission(self, request, obj=None) -> bool:
        # Accounts are deactivated, never deleted: deleting one would blank "who did it" in every
        # history row it wrote (simple-history's SET_NULL), and the audit trail may not change.
        return False
