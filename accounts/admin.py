from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

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

    def has_delete_permission(self, request, obj=None) -> bool:
        # Accounts are deactivated, never deleted: deleting one would blank "who did it" in every
        # history row it wrote (simple-history's SET_NULL), and the audit trail may not change.
        return False
