from __future__ import annotations

from django.urls import reverse

from accounts.roles import Action, user_can

# The main navigation: (label, url name, action needed). Modules add their entries here.
NAVIGATION = [
    ("Start", "home", Action.VIEW_HOME),
    ("Gebruikers", "beheer:user_list", Action.MANAGE_USERS),
    ("Organisatie", "beheer:organisation", Action.VIEW_ORGANISATION),
    ("API", "api_docs", Action.USE_API),
    ("Mijn account", "accounts:security", Action.MANAGE_OWN_ACCOUNT),
]


def navigation(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"navigation": []}
    current = request.path_info
    items = []
    for label, url_name, action in NAVIGATION:
        if user_can(user, action):
            url = reverse(url_name)
            active = current == url if url == "/" else current.startswith(url)
            items.append({"label": label, "url": url, "active": active})
    return {"navigation": items}
