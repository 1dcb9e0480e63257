from django.contrib.admin.apps import AdminConfig


class WeerbaarAdminConfig(AdminConfig):
    default_site = "config.admin_site.WeerbaarAdminSite"
