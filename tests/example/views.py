from django.http import HttpResponse

from accounts.decorators import require_action
from accounts.roles import Action
from accounts.scoping import get_for_user_or_404
from audit.services import access_log_record
from tests.example.models import Dossier


@require_action(Action.HANDLE_SIGNALS)
def dossier_detail(request, pk: int):
    dossier = get_for_user_or_404(Dossier.objects.select_related("data_key"), request.user, pk=pk)
    access_log_record(user=request.user, record_type="example.dossier", record_id=dossier.pk, page="dossier_detail")
    return HttpResponse(dossier.title, content_type="text/plain; charset=utf-8")
