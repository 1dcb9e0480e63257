"""What each audit action means, in Dutch, for the people who read the trail (the FG, the
administrator). The code stays the record; the label is how the viewer shows it. Every action the
product writes has one (tests/audit/test_labels.py finds them in the source)."""

from __future__ import annotations

ACTION_LABELS = {
    "api_token.created": "API-sleutel aangemaakt",
    "api_token.revoked": "API-sleutel ingetrokken",
    "attachment.scanned": "Bijlage op virussen gescand",
    "organisation.confidential_reporting_switched": "Vertrouwelijk melden zonder account aan- of uitgezet",
    "phenomenon.activated": "Fenomeen weer in gebruik genomen",
    "phenomenon.added": "Fenomeen toegevoegd",
    "phenomenon.deactivated": "Fenomeen uit gebruik genomen",
    "retention.policy_changed": "Bewaartermijn gewijzigd",
    "retention.postponed": "Vernietiging uitgesteld",
    "retention.purged": "Vernietigd na afloop van de bewaartermijn",
    "signal.assigned": "Behandelaar van signaal gewijzigd",
    "signal.closed": "Signaal afgesloten",
    "signal.question_sent": "Vraag aan de melder gesteld",
    "signal.receipt_issued": "Ontvangstcode uitgegeven",
    "signal.reopened": "Signaal heropend",
    "signal.reporter_contact_recorded": "Contactgegevens van de melder vastgelegd",
    "signal.reporter_identity_disclosed": "Gegevens van de melder opgevraagd",
    "signal.reporter_message_added": "Bericht van de melder ontvangen",
    "signal.submitted": "Signaal gemeld of geregistreerd",
    "signal.triage_started": "Signaal in behandeling genomen",
    "subjects.reindexed": "Betrokkenen opnieuw geïndexeerd",
    "user.activated": "Account gedeblokkeerd",
    "user.activated_password_set": "Account geactiveerd (wachtwoord gekozen)",
    "user.activation_resent": "Activeringslink opnieuw verstuurd",
    "user.backup_codes_renewed": "Reservecodes vernieuwd",
    "user.blocked": "Account geblokkeerd",
    "user.changed": "Account gewijzigd",
    "user.changed_by_platform_admin": "Account gewijzigd door platformbeheer",
    "user.created": "Account aangemaakt",
    "user.created_by_platform_admin": "Account aangemaakt door platformbeheer",
    "user.password_set_by_platform_admin": "Wachtwoord ingesteld door platformbeheer",
    "user.two_factor_enrolled": "Tweestapsverificatie ingesteld",
    "user.two_factor_reset": "Tweestapsverificatie gewist",
    "user.unlocked": "Account ontgrendeld na te veel pogingen",
}


def action_label(action: str) -> str:
    """The Dutch label of an action, or the code itself for one without (a test app's)."""
    return ACTION_LABELS.get(action, action)
