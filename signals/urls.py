from django.urls import path

from signals import confidential_views, views

app_name = "signals"

urlpatterns = [
    path("meldingen/", views.my_signals, name="mine"),
    path("meldingen/nieuw/", views.signal_submit, name="submit"),
    path("meldingen/<int:pk>/", views.my_signal, name="mine_detail"),
    path("meldingen/<int:pk>/ontvangen/", views.signal_submitted, name="submitted"),
    path("signalen/", views.inbox, name="inbox"),
    path("signalen/nieuw/", views.register_on_behalf, name="register"),
    path("signalen/fenomenen/", views.phenomena, name="phenomena"),
    path("signalen/fenomenen/<int:pk>/actief/", views.phenomenon_toggle, name="phenomenon_toggle"),
    path("signalen/<int:pk>/", views.detail, name="detail"),
    path("signalen/<int:pk>/in-behandeling/", views.start_triage, name="start_triage"),
    path("signalen/<int:pk>/afsluiten/", views.close, name="close"),
    path("signalen/<int:pk>/behandelaar/", views.assign, name="assign"),
    path("signalen/<int:pk>/heropenen/", views.reopen, name="reopen"),
    path("signalen/<int:pk>/bijlagen/<int:attachment_pk>/", views.attachment_download, name="attachment"),
    # Confidential reporting without an account: public pages, then the coordinator's.
    path("melden/", confidential_views.confidential_index, name="confidential_index"),
    path("melden/<int:organisation_id>/", confidential_views.confidential_submit, name="confidential_submit"),
    path("melden/ontvangen/", confidential_views.confidential_submitted, name="confidential_submitted"),
    path("melden/volgen/", confidential_views.confidential_follow_up, name="confidential_follow_up"),
    path(
        "melden/volgen/melding/",
        confidential_views.confidential_follow_up_signal,
        name="confidential_follow_up_signal",
    ),
    path("melden/volgen/afmelden/", confidential_views.confidential_follow_up_end, name="confidential_follow_up_end"),
    path("melden/volgen/actief/", confidential_views.confidential_keep_alive, name="confidential_keep_alive"),
    path("signalen/<int:pk>/berichten/", confidential_views.confidential_messages, name="confidential_messages"),
    path("signalen/<int:pk>/melder/", confidential_views.confidential_reporter, name="confidential_reporter"),
]
