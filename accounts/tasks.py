from __future__ import annotations

from celery import shared_task
from django.conf import settings
from django.contrib.sessions.models import Session
from django.utils import timezone

from accounts.models import User
from config.mail import send_mail


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def send_activation_mail(user_id: int) -> None:
    """Mails the activation link. The body holds the link only: no name, no organisation."""
    from accounts.services import activation_path

    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is None or not user.email or user.has_usable_password():
        return  # already activated or gone: sending again would be pointless
    base = settings.WEERBAAR_BASE_URL.rstrip("/")
    send_mail(
        subject="Uw account voor Weerbaar",
        message=(
            "Er is een account voor u aangemaakt in Weerbaar.\n\n"
            f"Kies uw wachtwoord via deze link (eenmalig te gebruiken):\n{base}{activation_path(user)}\n\n"
            "Daarna stelt u een authenticator-app in voor tweestapsverificatie."
        ),
        from_email=None,
        recipient_list=[user.email],
    )


@shared_task
def clear_expired_sessions() -> int:
    """Removes expired sessions from the database (hourly in the beat schedule)."""
    deleted, _ = Session.objects.filter(expire_date__lt=timezone.now()).delete()
    return deleted
