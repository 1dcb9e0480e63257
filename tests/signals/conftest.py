"""Fixtures shared by the meldpunt's tests: a reporter and a coordinator of the organisation."""

from __future__ import annotations

import pytest

from accounts.roles import Role


@pytest.fixture
def employee(make_user, organisation):
    return make_user(role=Role.EMPLOYEE, organisation=organisation)


@pytest.fixture
def coordinator(make_user, organisation):
    return make_user(role=Role.COORDINATOR, organisation=organisation, email="coordinator@example.org")
