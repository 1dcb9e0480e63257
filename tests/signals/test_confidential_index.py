import pytest
from django.urls import reverse

from tests.factories import OrganisationFactory

pytestmark = pytest.mark.django_db


def test_the_index_lists_only_organisations_with_the_public_form_on(client):
    on = OrganisationFactory(name="Gemeente Aan", confidential_reporting_enabled=True)
    OrganisationFactory(name="Gemeente Uit", confidential_reporting_enabled=False)

    page = client.get(reverse("signals:confidential_index")).content.decode()

    assert "Gemeente Aan" in page and "Gemeente Uit" not in page
    assert reverse("signals:confidential_submit", kwargs={"organisation_id": on.pk}) in page
    assert reverse("signals:confidential_follow_up") in page


def test_the_login_page_points_to_it(client):
    assert reverse("signals:confidential_index") in client.get(reverse("accounts:login")).content.decode()
