from django.urls import path

from signals import views

app_name = "signals"

urlpatterns = [
    path("meldingen/", views.my_signals, name="mine"),
    path("meldingen/nieuw/", views.signal_submit, name="submit"),
    path("meldingen/<int:pk>/ontvangen/", views.signal_submitted, name="submitted"),
    path("signalen/", views.inbox, name="inbox"),
    path("signalen/nieuw/", views.register_on_behalf, name="register"),
    path("signalen/fenomenen/", views.phenomena, name="phenomena"),
    path("signalen/fenomenen/<int:pk>/actief/", views.phenomenon_toggle, name="phenomenon_toggle"),
    path("signalen/<int:pk>/", views.detail, name="detail"),
    path("signalen/<int:pk>/bijlagen/<int:attachment_pk>/", views.attachment_download, name="attachment"),
]
