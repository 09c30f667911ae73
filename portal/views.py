"""Site-wide pages: the tenant home and the health check."""
from __future__ import annotations

from django.db import connection
from django.http import JsonResponse
from django.shortcuts import render

from integrations.models import KustomerConnection
from portal.pages import tenant_page


@tenant_page
def home(request):
    kustomer = KustomerConnection.objects.filter(tenant=request.tenant).first()
    return render(request, "home.html", {"kustomer": kustomer})


def healthz(request):
    """Liveness for load balancers: the process answers and the database is reachable."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})
