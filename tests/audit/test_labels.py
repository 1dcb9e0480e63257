"""Every audit action the product writes has a Dutch label, and the viewer shows it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from django.urls import reverse

from accounts.roles import Role
from audit.labels import ACTION_LABELS, action_label
from tests.conftest import verified_client

ROOT = Path(__file__).resolve().parents[2]
APPS = ("accounts", "audit", "privacy", "signals", "config")
# The calls that write an audit event, and the two places that hand their caller's action on.
WRITERS = {"audit_event_record", "audit_event_fields", "record_create"}
PASS_THROUGH = {"audit/services.py", "privacy/records.py"}


def _literals(node: ast.expr) -> list[str] | None:
    """The action codes an `action=` argument can be: a string, or either side of `a if c else b`;
    None when it is anything else (a variable, a call), which the test refuses."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.IfExp):
        sides = [_literals(node.body), _literals(node.orelse)]
        return None if None in sides else [code for side in sides for code in side]
    return None


def _written_actions() -> tuple[set[str], list[str]]:
    found, unreadable = set(), []
    for app in APPS:
        for path in (ROOT / app).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if not isinstance(node, ast.Call):
                    continue
                name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
                for keyword in node.keywords if name in WRITERS else []:
                    if keyword.arg != "action":
                        continue
                    codes = _literals(keyword.value)
                    if codes is None and str(path.relative_to(ROOT)) not in PASS_THROUGH:
                        unreadable.append(f"{path.relative_to(ROOT)}:{node.lineno}")
                    elif codes is None:
                        continue
                    else:
                        found.update(codes)
    return found, unreadable


def test_every_action_the_product_writes_has_a_label():
    written, unreadable = _written_actions()
    assert unreadable == [], "write an action as a string literal, so its label can be checked"
    assert len(written) > 30  # the scan found the services' actions
    assert written - set(ACTION_LABELS) == set()
    # A label without an action written any more stays for the events of before; none yet.
    assert set(ACTION_LABELS) - written == set()


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
