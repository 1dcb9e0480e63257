"""The baseline: a minimal view behind the full middleware stack that inserts one row.

Every other operation is compared with this one: it is what any authenticated, 2FA-verified
POST costs before the product does anything of its own (session load and save, user and OTP
device lookup, CSRF check, security headers, CSP, axes) plus one INSERT.

This module is also the URLconf while the benchmark runs: the project's URLs plus the bench view.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from _harness import Benchmark, Harness, Operation
from django.db import connection, models
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.test.utils import override_settings
from django.urls import include, path
from django.views.decorators.http import require_GET, require_POST

from config import urls as project_urls

BASELINE = "baseline: minimal view + insert (full middleware)"
INSERT_URL = "/bench/baseline/insert/"
CSRF_URL = "/bench/baseline/csrf/"


class BenchRow(models.Model):
    """A table of the benchmark's own, created and dropped around the run (not a migrated app)."""

    value = models.CharField(max_length=100)

    class Meta:
        app_label = "bench_baseline"

    def __str__(self) -> str:
        return self.value


@require_POST
def insert_row(request: HttpRequest) -> HttpResponse:
    BenchRow.objects.create(value=request.POST.get("value", ""))
    return HttpResponse("ok", content_type="text/plain")


@require_GET
def csrf_token(request: HttpRequest) -> HttpResponse:
    """Hands the client a CSRF token the way a rendered form would, so the POSTs pass a real check."""
    return HttpResponse(get_token(request), content_type="text/plain")


urlpatterns = [
    path(INSERT_URL.lstrip("/"), insert_row),
    path(CSRF_URL.lstrip("/"), csrf_token),
    path("", include(project_urls)),
]
handler400 = project_urls.handler400
handler403 = project_urls.handler403
handler404 = project_urls.handler404
handler500 = project_urls.handler500


@contextlib.contextmanager
def minimal_view_insert(harness: Harness) -> Iterator[Operation]:
    with override_settings(ROOT_URLCONF=__name__):
        with connection.schema_editor() as editor:
            editor.create_model(BenchRow)
        try:
            _check_two_factor_middleware_is_active(harness)
            client = harness.verified_client(enforce_csrf_checks=True)
            token = client.get(CSRF_URL).content.decode()

            def post_one_row() -> HttpResponse:
                response = client.post(INSERT_URL, {"value": "bench"}, headers={"x-csrftoken": token})
                if response.status_code != 200:
                    raise RuntimeError(f"{INSERT_URL} answered {response.status_code}, expected 200")
                return response

            if "Content-Security-Policy" not in post_one_row().headers or not BenchRow.objects.exists():
                raise RuntimeError("the bench view did not insert its row, or the middleware did not run")
            yield post_one_row
        finally:
            with connection.schema_editor() as editor:
                editor.delete_model(BenchRow)


def _check_two_factor_middleware_is_active(harness: Harness) -> None:
    """Without a verified second factor the same POST must be turned away, or we measure too little."""
    from django.test import Client

    client = Client()
    client.force_login(harness.user)
    response = client.post(INSERT_URL, {"value": "bench"})
    if response.status_code != 302:
        raise RuntimeError(f"an unverified session got {response.status_code} from {INSERT_URL}; expected a redirect")


BENCHMARKS = [Benchmark(name=BASELINE, baseline=BASELINE, prepare=minimal_view_insert)]
