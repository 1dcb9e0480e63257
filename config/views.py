from __future__ import annotations

import logging

from csp.decorators import csp_update
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import JsonResponse
from django.shortcuts import render
from django.utils.decorators import method_decorator
from django.views.decorators.cache import never_cache
from drf_spectacular.views import SpectacularSwaggerSplitView

from accounts.decorators import require_action
from accounts.roles import Action, Role, user_can

logger = logging.getLogger(__name__)

# What each role comes here for, in the words of the home page.
ROLE_INTRODUCTION = {
    # What is there today; a module still to come is named as such, not promised as a page.
    Role.EMPLOYEE: "Hier meldt u signalen van ondermijning en volgt u uw eigen meldingen.",
    Role.OFFICE_HOLDER: (
        "Hier meldt u signalen van ondermijning, ook van intimidatie of beïnvloeding van uzelf als bestuurder, "
        "en volgt u uw eigen meldingen."
    ),
    Role.COORDINATOR: (
        "Hier beoordeelt u binnenkomende signalen, vraagt u vertrouwelijke melders om aanvulling en registreert "
        "u signalen die per telefoon, brief of Meld Misdaad Anoniem binnenkwamen."
    ),
    Role.MANAGER: (
        "Hier meldt u signalen van ondermijning en volgt u uw eigen meldingen. Het register van agressie en geweld "
        "tegen medewerkers komt in een volgende versie van Weerbaar."
    ),
    Role.PARTNER: "De agenda's van de overleggen waarvoor u wordt uitgenodigd, komen in een volgende versie van Weerbaar.",
    Role.NORM_OWNER: "Het implementatieoverzicht van de norm komt in een volgende versie van Weerbaar.",
    Role.REVIEWER: "De voortgang op de norm van de organisaties in uw regio komt in een volgende versie van Weerbaar.",
    Role.PRIVACY_OFFICER: "Hier controleert u de audittrail en de bewaartermijnen.",
    Role.ADMIN: "Hier beheert u de accounts en rollen van uw organisatie.",
}


@require_action(Action.VIEW_HOME)
def home(request):
    user = request.user
    shortcuts = []
    if user_can(user, Action.SUBMIT_SIGNAL):
        shortcuts.append(("Signaal melden", "signals:submit", "Meld wat u opviel: vertrouwelijk, kort en veilig."))
        shortcuts.append(("Mijn meldingen", "signals:mine", "Uw eigen meldingen en hun status."))
    if user_can(user, Action.HANDLE_SIGNALS):
        shortcuts.append(("Signalen", "signals:inbox", "Binnengekomen signalen van het meldpunt."))
        shortcuts.append(
            ("Signaal registreren", "signals:register", "Een signaal dat per telefoon, brief of MMA binnenkwam.")
        )
    if user_can(user, Action.MANAGE_USERS):
        shortcuts.append(
            ("Gebruikers beheren", "beheer:user_list", "Accounts aanmaken, blokkeren, tweestapsverificatie wissen.")
        )
    if user_can(user, Action.VIEW_ORGANISATION):
        shortcuts.append(("Organisatie", "beheer:organisation", "Gegevens van uw organisatie en regio."))
    if user_can(user, Action.MANAGE_RETENTION_POLICY):
        shortcuts.append(
            ("Bewaartermijnen instellen", "privacy:policy_list", "Hoe lang elk soort gegevens wordt bewaard.")
        )
    if user_can(user, Action.VIEW_AUDIT_TRAIL):
        shortcuts.append(
            ("Audittrail", "audit:event_list", "Wie deed wat met welke gegevens, en wie bekeek wat. Met export.")
        )
        shortcuts.append(
            (
                "Bewaartermijnen",
                "audit:retention",
                "Wat binnenkort wordt vernietigd, uitstellen, en wat al vernietigd is.",
            )
        )
    shortcuts.append(("Mijn account", "accounts:security", "Tweestapsverificatie, reservecodes en API-tokens."))
    return render(
        request,
        "home.html",
        {"introduction": ROLE_INTRODUCTION.get(user.role, ""), "shortcuts": shortcuts},
    )


@never_cache
def health(request):
    """Database, broker and cache state for the load balancer and monitoring: 200 when healthy,
    else 503."""
    checks = {"database": _check_database(), "broker": _check_broker(), "cache": _check_cache()}
    healthy = all(state in {"ok", "in-process"} for state in checks.values())
    return JsonResponse({"status": "ok" if healthy else "error", **checks}, status=200 if healthy else 503)


def _check_database() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception:  # any failure means unhealthy; the reason goes to the log, not the response
        logger.exception("health: database check failed")
        return "error"
    return "ok"


def _check_cache() -> str:
    """The shared cache holds the rate limits of the public pages: without it they answer 500."""
    from django.core.cache import cache

    try:
        cache.set("weerbaar:health", "ok", timeout=10)
        if cache.get("weerbaar:health") != "ok":
            raise RuntimeError("cache read back nothing")
    except Exception:
        logger.warning("health: cache unusable")
        return "error"
    return "ok"


def _check_broker() -> str:
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return "in-process"
    from config.celery import app

    try:
        with app.connection_for_write(settings.CELERY_BROKER_URL) as conn:
            conn.ensure_connection(max_retries=1, interval_start=0, timeout=2)
    except Exception:
        logger.warning("health: broker unreachable")
        return "error"
    return "ok"


@method_decorator(login_required, name="dispatch")
# Swagger UI draws its icons as data: images; nothing else on any page may.
@method_decorator(csp_update({"img-src": ["data:"]}), name="dispatch")
class ApiDocsView(SpectacularSwaggerSplitView):
    """Swagger UI from local files (no CDN), its start-up script served as a file and its page
    style as a stylesheet (templates/api_docs.html), for the CSP."""

    template_name = "api_docs.html"


def _error(request, status: int, title: str, message: str):
    return render(request, "error.html", {"title": title, "message": message, "status": status}, status=status)


def bad_request(request, exception=None):
    return _error(request, 400, "Ongeldig verzoek", "Uw verzoek kon niet worden verwerkt.")


def permission_denied(request, exception=None):
    return _error(request, 403, "Geen toegang", "U heeft geen toegang tot deze pagina.")


def method_not_allowed(request):
    return _error(
        request,
        405,
        "Deze pagina werkt zo niet",
        "Deze actie gaat via een knop op de pagina zelf, niet via een link of een bladwijzer.",
    )


def page_not_found(request, exception=None):
    if request.path.startswith("/api/"):  # an API client reads JSON, as from the API's own 404s
        from django.http import JsonResponse

        return JsonResponse({"detail": API_NOT_FOUND}, status=404)
    return _error(request, 404, "Pagina niet gevonden", "Deze pagina bestaat niet of u heeft er geen toegang toe.")


API_NOT_FOUND = "Niet gevonden, of u heeft er geen toegang toe."


def api_exception_handler(exc, context):
    """DRF's handler, with a Dutch 404 that names no model (get_object_or_404 says "No User
    matches the given query.")."""
    from django.http import Http404
    from rest_framework import exceptions
    from rest_framework.views import exception_handler

    if isinstance(exc, Http404):
        exc = exceptions.NotFound(API_NOT_FOUND)
    return exception_handler(exc, context)


def server_error(request):
    # Rendered without the request: whatever broke (the session, the user) must not break this page.
    from django.http import HttpResponseServerError
    from django.template import loader

    context = {"title": "Er ging iets mis", "message": "Er ging iets mis aan onze kant. Probeer het later opnieuw."}
    return HttpResponseServerError(loader.get_template("error.html").render(context))


def csrf_failure(request, reason=""):
    return _error(
        request,
        403,
        "Formulier verlopen",
        "Het formulier was verlopen of is al verstuurd. Ga terug, laad de pagina opnieuw en probeer het nog eens.",
    )
