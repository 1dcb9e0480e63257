"""Organisation scoping: the one mechanism every read of organisation data goes through.

A model whose rows belong to an organisation gets a manager built on `OrganisationScopedQuerySet`
and is read with `Model.objects.for_user(user)`; object pages use `get_for_user_or_404`, so an
object of another organisation is a 404, never a 403 that would confirm it exists.
"""

from __future__ import annotations

from typing import TypeVar

from django.db import models
from django.http import Http404

M = TypeVar("M", bound=models.Model)


class OrganisationScopedQuerySet(models.QuerySet):
    #: The path from this model to its organisation; a related model can set "case__organisation".
    organisation_path = "organisation"

    def for_user(self, user) -> OrganisationScopedQuerySet:
        organisation_id = getattr(user, "organisation_id", None)
        if not getattr(user, "is_authenticated", False) or organisation_id is None:
            return self.none()
        return self.filter(**{f"{self.organisation_path}_id": organisation_id})


def get_for_user_or_404(queryset: models.QuerySet, user, **lookup) -> models.Model:
    if not isinstance(queryset, OrganisationScopedQuerySet):
        raise TypeError(f"{queryset.model.__name__} is not organisation-scoped")
    try:
        return queryset.for_user(user).get(**lookup)
    except (queryset.model.DoesNotExist, ValueError, TypeError):
        raise Http404 from None
