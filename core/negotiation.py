"""The API's content negotiation (REST_FRAMEWORK DEFAULT_CONTENT_NEGOTIATION_CLASS; its
own module because DRF imports it while loading its views)."""
from __future__ import annotations

from rest_framework.negotiation import DefaultContentNegotiation


class SingleRendererNegotiation(DefaultContentNegotiation):
    """A view with one renderer (every API view outside DEBUG: JSON) answers with it
    without reading the Accept header: there is nothing to choose, and parsing Accept
    was half of DRF's own time on the status event endpoint. A client asking for
    another type gets JSON rather than a 406. Views with several renderers (the schema,
    the browsable API in DEBUG) negotiate as DRF does."""

    def select_renderer(self, request, renderers, format_suffix=None):
        if len(renderers) == 1 and not format_suffix:
            return renderers[0], renderers[0].media_type
        return super().select_renderer(request, renderers, format_suffix)
