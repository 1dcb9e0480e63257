from django.contrib.admin.apps import AdminConfig

#: Registered by django-otp, not shown: their change forms show an account's authenticator
#: secret and let a platform administrator add or remove second factors without an audit event.
#: A lost phone is reset on the organisation's beheer pages (accounts.services.user_reset_two_factor).
HIDDEN_FROM_ADMIN = ("otp_static.StaticDevice",)


class WeerbaarAdminConfig(AdminConfig):
    default_site = "config.admin_site.WeerbaarAdminSite"

    def ready(self):
        super().ready()  # autodiscovers every app's admin module
        from django.apps import apps
        from django.contrib import admin

        for label in HIDDEN_FROM_ADMIN:
            model = apps.get_model(label)
            if admin.site.is_registered(model):
                admin.site.unregister(model)
