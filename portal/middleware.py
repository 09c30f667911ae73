"""The language of a signed-in person who chose one (portal.models.UserLanguage) wins
over the browser's; LocaleMiddleware (earlier) already applied the browser's."""
from __future__ import annotations

from django.utils import translation

SESSION_KEY = "portal_language"


class UserLanguageMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        language = self._chosen(request)
        if language and language != request.LANGUAGE_CODE:
            translation.activate(language)
            request.LANGUAGE_CODE = language
        return self.get_response(request)

    @staticmethod
    def _chosen(request) -> str | None:
        user = getattr(request, "user", None)
        if not (user and user.is_authenticated) or request.path.startswith(("/api/", "/webhooks/")):
            return None
        # The session keeps the choice, so only the first page of a session reads the row.
        session = request.session
        if SESSION_KEY not in session:
            from portal.models import UserLanguage

            row = UserLanguage.objects.filter(user=user).only("language").first()
            session[SESSION_KEY] = row.language if row else ""
        return session[SESSION_KEY] or None
