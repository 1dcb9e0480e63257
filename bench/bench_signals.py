"""The meldpunt (issue 4).

- Submitting the employee form (/meldingen/nieuw/) with two subjects, as the browser does: a
  multipart POST with the page's CSRF token and a fresh submission_key each run, through the full
  middleware stack. One run covers the form and formset validation, encryption, the blind indexes,
  the history rows, the audit event and the notification task queued on commit; against the
  baseline row of bench_baseline. Target: throughput ratio >= 0.5.
- The same form with one 5 MB PDF attached (checked by content, encrypted, written to storage).
  Target: median <= 150 ms. Its baseline is the form without the attachment, so its ratio says
  what the file adds.
- The same POST to a view that only parses and validates it (the same SignalForm and subjects
  form set, behind the same decorator) and redirects, storing nothing: what the form handling
  alone costs against the baseline, and so what is left of the ratio target for storing.

The notification task goes to Celery's in-memory transport: a real publish (serialised, routed,
queued) without a broker to wait on. The embedded development set-up would instead run the task
eagerly, in the request, which is not what a production submit pays.
"""

from __future__ import annotations

import contextlib
import random
import re
import uuid
from collections.abc import Iterator

import bench_baseline
from _harness import Benchmark, Harness, Operation
from bench_baseline import BASELINE
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.test.utils import override_settings
from django.urls import path, reverse
from django.views.decorators.http import require_POST

from accounts.decorators import require_action
from accounts.roles import Action
from config import urls as project_urls

FORM_ONLY = "signal: the same POST parsed and validated only (nothing stored)"
FORM_ONLY_URL = "/bench/signals/validate/"
SUBMIT_FORM = (
    "signal: submit the form with two subjects (validation, encryption, blind index, history, audit event, task queued)"
)
UPLOAD_5MB = "signal: upload a 5 MB attachment (the same form with one PDF)"
FILE_SIZE = 5 * 1024 * 1024

_CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def pdf_bytes(size: int) -> bytes:
    """A PDF of `size` bytes that passes the upload check: the header, one stream of incompressible
    bytes (as a scan or a photo would be), and %%EOF at the end."""

    def head(length: int) -> bytes:
        return b"%PDF-1.4\n1 0 obj\n<< /Length " + str(length).encode() + b" >>\nstream\n"

    tail = b"\nendstream\nendobj\ntrailer\n<< >>\n%%EOF\n"
    length = size - len(head(size)) - len(tail)
    content = head(length) + random.Random(4).randbytes(length) + tail
    if len(content) != size:
        raise RuntimeError(f"built a PDF of {len(content)} bytes, not {size}")
    return content


def _queued_messages() -> int:
    from kombu.transport.memory import Channel

    return sum(queue.qsize() for queue in Channel.queues.values())


@contextlib.contextmanager
def _queue_tasks_in_memory() -> Iterator[None]:
    from kombu.transport.memory import Channel

    from config.celery import app

    previous = app.conf.task_always_eager, app.conf.broker_url
    app.conf.task_always_eager = False
    app.conf.broker_url = "memory://localhost//"
    try:
        yield
    finally:
        app.conf.task_always_eager, app.conf.broker_url = previous
        Channel.queues.clear()


@require_action(Action.SUBMIT_SIGNAL)
@require_POST
def validate_only(request: HttpRequest) -> HttpResponse:
    """The submit view's form handling without the service: the same forms, then a redirect."""
    from signals.forms import SignalForm, SubjectFormSet, signal_data

    form = SignalForm(request.POST, request.FILES, organisation_id=request.user.organisation_id)
    subjects = SubjectFormSet(request.POST, prefix="betrokkene")
    if not (form.is_valid() and subjects.is_valid()):
        return HttpResponse("invalid", status=400, content_type="text/plain")
    signal_data(form, subjects)  # what the view hands the service
    return redirect("signals:submitted", pk=1)


# The baseline's URLs too: it runs in turns with this row, under whichever URLconf was set last.
urlpatterns = [path(FORM_ONLY_URL.lstrip("/"), validate_only), *bench_baseline.urlpatterns]
handler400 = project_urls.handler400
handler403 = project_urls.handler403
handler404 = project_urls.handler404
handler500 = project_urls.handler500


@contextlib.contextmanager
def _form_submitter(harness: Harness, *, attachment: bytes | None, url: str | None = None) -> Iterator[Operation]:
    from signals.models import Attachment, CoordinatorNotification, Signal, Subject
    from signals.selectors import phenomenon_choices

    with _queue_tasks_in_memory():
        client = harness.verified_client(enforce_csrf_checks=True)
        form_url = reverse("signals:submit")
        page = client.get(form_url, {"acuut": "nee"})
        match = _CSRF_INPUT.search(page.content.decode())
        if page.status_code != 200 or match is None:
            raise RuntimeError(f"{form_url} gave {page.status_code} without a form to submit")
        url = url or form_url
        phenomenon = phenomenon_choices(organisation_id=harness.user.organisation_id).get(name="Horeca")
        fields = {
            "csrfmiddlewaretoken": match.group(1),
            "acute_danger": "False",
            "description": "De winkel op de hoek heeft nooit klanten maar verlengt elk jaar de vergunning.",
            "phenomenon": str(phenomenon.pk),
            "address": "1234 ab 12",
            "location": "",
            "observed_on": "2026-03-14",
            "noticed_how": "in_job",
            "betrokkene-TOTAL_FORMS": "3",
            "betrokkene-INITIAL_FORMS": "0",
            "betrokkene-MIN_NUM_FORMS": "0",
            "betrokkene-MAX_NUM_FORMS": "10",
            "betrokkene-0-kind": "person",
            "betrokkene-0-name": "Jan de Vries",
            "betrokkene-0-date_of_birth": "1980-05-17",
            "betrokkene-1-kind": "company",
            "betrokkene-1-name": "Snackbar De Hoek BV",
            "betrokkene-1-kvk": "1234 5678",
            "betrokkene-2-kind": "",
        }

        def submit() -> HttpResponse:
            data = {**fields, "submission_key": str(uuid.uuid4())}
            if attachment is not None:
                data["attachments"] = SimpleUploadedFile("scan.pdf", attachment, content_type="application/pdf")
            response = client.post(url, data)
            if response.status_code != 302 or not response["Location"].endswith("/ontvangen/"):
                raise RuntimeError(f"{url} answered {response.status_code}, expected a redirect to the receipt")
            return response

        before, queued = Signal.objects.count(), _queued_messages()
        submit()
        if url != form_url:  # the validating view: nothing may be stored or queued
            if Signal.objects.count() != before or _queued_messages() != queued:
                raise RuntimeError(f"{url} stored or queued something")
            yield submit
            return
        signal = Signal.objects.order_by("-pk").first()
        files = 0 if attachment is None else 1
        if (
            Signal.objects.count() != before + 1
            or Subject.objects.filter(signal=signal).count() != 2
            or Attachment.objects.filter(signal=signal).count() != files
            or not CoordinatorNotification.objects.filter(signal=signal).exists()
        ):
            raise RuntimeError("the form did not store the signal with its subjects, file and notification")
        if _queued_messages() != queued + 1:
            raise RuntimeError("the notification task was not queued")
        yield submit


@contextlib.contextmanager
def submit_form(harness: Harness) -> Iterator[Operation]:
    with _form_submitter(harness, attachment=None) as submit:
        yield submit


@contextlib.contextmanager
def upload_5mb(harness: Harness) -> Iterator[Operation]:
    from signals.attachments import check_upload

    content = pdf_bytes(FILE_SIZE)
    check_upload("scan.pdf", content)  # the file the bench sends must be one the form accepts
    with _form_submitter(harness, attachment=content) as submit:
        yield submit


@contextlib.contextmanager
def form_only(harness: Harness) -> Iterator[Operation]:
    with override_settings(ROOT_URLCONF=__name__), _form_submitter(harness, attachment=None, url=FORM_ONLY_URL) as post:
        yield post


BENCHMARKS = [
    Benchmark(name=FORM_ONLY, baseline=BASELINE, prepare=form_only),
    Benchmark(name=SUBMIT_FORM, baseline=BASELINE, prepare=submit_form),
    Benchmark(name=UPLOAD_5MB, baseline=SUBMIT_FORM, prepare=upload_5mb, runs=30, warmup=3),
]
