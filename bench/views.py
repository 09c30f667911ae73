"""The reference of the status endpoint benchmark: a bare Django view that parses a
small JSON body and does one indexed UPDATE (the agent row by its unique
(tenant, email) key), with no authentication, serializer or decision. The status
endpoint does all of that and more; its throughput is compared with this one's."""
import json

from django.db import connection
from django.http import JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST


@csrf_exempt
@require_POST
def bare_update(request):
    body = json.loads(request.body)
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE statusmapping_agent SET cc_status_at = %s WHERE tenant_id = %s AND email = %s",
            [timezone.now(), int(body["tenant_id"]), body["agent_email"]],
        )
        updated = cursor.rowcount
    return JsonResponse({"updated": updated})
