"""Refuse oversized API and webhook bodies before anything reads them.

DRF's JSON parser reads the request stream directly, which bypasses Django's
DATA_UPLOAD_MAX_MEMORY_SIZE check; this middleware applies the same limit by
Content-Length (and to chunked bodies by reading at most limit + 1 bytes).
"""
from django.utils.translation import gettext as _
from django.conf import settings
from django.http import JsonResponse

_GUARDED_PREFIXES = ("/api/", "/webhooks/")


class RequestSizeLimitMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path.startswith(_GUARDED_PREFIXES) and request.method in ("POST", "PUT", "PATCH"):
            limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
            try:
                length = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = 0
            if length > limit:
                return _too_large(limit)
            if not length and request.META.get("HTTP_TRANSFER_ENCODING", "").lower() == "chunked":
                body = request.read(limit + 1)
                if len(body) > limit:
                    return _too_large(limit)
                request._body = body  # what the view reads
        return self.get_response(request)


def _too_large(limit: int) -> JsonResponse:
    return JsonResponse(
        {"detail": _("Request body too large: the limit is %(limit)d bytes.") % {"limit": limit}, "errors": {}},
        status=413,
    )
