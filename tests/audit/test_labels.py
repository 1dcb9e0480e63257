"""Every audit action the product writes has a Dutch label, and the viewer shows it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.urls import reverse

from accounts.roles import Role
from audit.labels import ACTION_LABELS, action_label
from tests.conftest import verified_client

ROOT = Path(__file__).resolve().parents[2]
APPS = ("accounts", "audit", "privacy", "signals", "config")
# action="a.b", and both sides of action="a.b" if ... else "c.d".
ACTION_LITERAL = re.compile(r'action=("[a-z_]+\.[a-z_]+"(?:\s+if\s+[^"]+?\s+else\s+"[a-z_]+\.[a-z_]+")?)')


def _written_actions() -> set[str]:
    found = set()
    for app in APPS:
        for path in (ROOT / app).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            for match in ACTION_LITERAL.finditer(path.read_text(encoding="utf-8")):
                found.update(re.findall(r'"([a-z_]+\.[a-z_]+)"', match.group(1)))
    return found


def test_every_action_the_product_writes_has_a_label():
    written = _written_actions()
    assert len(written) > 30  # the scan found the services' actions
    assert written - set(ACTION_LABELS) == set()
    assert set(ACTION_LABELS) - written == set(), "labels of actions no longer written"


@pytest.mark.django_db
def test_the_viewer_shows_the_label_and_filters_by_it(make_user, organisation):
    from signals.services import signal_start_triage
    from tests.factories import make_signal

    officer = make_user(role=Role.PRIVACY_OFFICER, organisation=organisation)
    coordinator = make_user(role=Role.COORDINATOR, organisation=organisation)
    signal = make_signal(make_user(role=Role.EMPLOYEE, organisation=organisation))
    signal_start_triage(actor=coordinator, signal_id=signal.pk)
    client = verified_client(officer)

    page = client.get(reverse("audit:event_list"), {"action": "signal.triage_started"}).content.decode()

    assert "Signaal in behandeling genomen" in page and '<code class="hint">signal.triage_started</code>' in page
    assert '<option value="signal.triage_started" selected>Signaal in behandeling genomen</option>' in page
    assert action_label("dossier.created") == "dossier.created"
