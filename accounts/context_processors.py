from __future__ import annotations

from django.urls import reverse

from accounts.roles import Action, user_can

# The main navigation: (label, url name, action needed). Modules add their entries here.
NAVIGATION = [
    ("Start", "home", Action.VIEW_HOME),
    ("Signaal melden", "signals:submit", Action.SUBMIT_SIGNAL),
    ("Mijn meldingen", "signals:mine", Action.SUBMIT_SIGNAL),
    ("Signalen", "signals:inbox", Action.HANDLE_SIGNALS),
    ("Gebruikers", "beheer:user_list", Action.MANAGE_USERS),
    ("Organisatie", "beheer:organisation", Action.VIEW_ORGANISATION),
    ("Bewaartermijnen instellen", "privacy:policy_list", Action.MANAGE_RETENTION_POLICY),
    ("Audit", "audit:event_list", Action.VIEW_AUDIT_TRAIL),
    ("Bewaartermijnen", "audit:retention", Action.VIEW_AUDIT_TRAIL),
    ("Mijn account", "accounts:security", Action.MANAGE_OWN_ACCOUNT),
]


def navigation(request):
    """The main menu, and the link to the API's documentation, which is for whoever builds a
    connection to Weerbaar (an application administrator, a supplier), not daily work: it is in
    the page's footer, not among the menu items."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"navigation": [], "api_docs_url": None}
    current = request.path_info
    items = [
        {"label": label, "url": reverse(url_name), "active": False}
        for label, url_name, action in NAVIGATION
        if user_can(user, action)
    ]
    # One item is current: the one whose address is the longest start of this page's
    # (/audit/bewaartermijnen/ is "Bewaartermijnen", not also "Audit").
    matching = [
        item for item in items if current == item["url"] or (item["url"] != "/" and current.startswith(item["url"]))
    ]
    if matching:
        max(matching, key=lambda item: len(item["url"]))["active"] = True
    api_docs_url = reverse("api_docs") if user_can(user, Action.USE_API) else None
    return {"navigation": items, "api_docs_url": api_docs_url}


def session_timeout(request):
    """The idle timeout, for the forms that say how long one can pause before the session ends."""
    from django.conf import settings

    minutes = settings.SESSION_IDLE_TIMEOUT_MINUTES
    return {"idle_minutes": minutes, "keep_alive_seconds": keep_alive_seconds(minutes)}


def keep_alive_seconds(idle_minutes: int) -> int:
    """How often static/js/keep-alive.js may renew a session while someone types: every five
    minutes, or twice per idle timeout when that is shorter."""
    return max(10, min(300, idle_minutes * 30))
