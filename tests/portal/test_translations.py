"""The portal in English and Korean: the Korean catalogue covers every translatable
text of the source, pages follow the browser's language or the one a person chose,
and API error details come in the asked language."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import polib
import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import override_settings

from tests.tenants.factories import UserFactory

CATALOGUE = Path(settings.BASE_DIR) / "locale" / "ko" / "LC_MESSAGES" / "django.po"
# The same folders `make messages` leaves out (Makefile).
IGNORED = [".venv*", "kustomer_sandbox", "bench", "loadtest", "tests", "var", "staticfiles", "docs"]


@pytest.mark.unit
def test_the_korean_catalogue_translates_every_text_of_the_source(tmp_path):
    """makemessages over a copy of the source, merged into a copy of the committed
    catalogue: an entry left without Korean (a new text, or a changed one marked fuzzy)
    fails here; so does a compiled catalogue (.mo) that differs from the .po."""
    if not shutil.which("xgettext"):
        pytest.fail("GNU gettext is missing: run ./scripts/ensure_gettext.sh (make install does)")
    source = tmp_path / "src"
    shutil.copytree(settings.BASE_DIR, source, ignore=shutil.ignore_patterns(
        *IGNORED, ".git", "__pycache__", "*.pyc", "*.mo", "node_modules", "screenshots"))
    cwd = os.getcwd()
    os.chdir(source)
    try:
        with override_settings(LOCALE_PATHS=[source / "locale"]):
            call_command("makemessages", locale=["ko"], ignore_patterns=IGNORED, no_obsolete=True, verbosity=0)
    finally:
        os.chdir(cwd)
    merged = polib.pofile(str(source / "locale" / "ko" / "LC_MESSAGES" / "django.po"))
    missing = [e.msgid for e in merged.untranslated_entries()] + [e.msgid for e in merged.fuzzy_entries()]
    assert not missing, f"{len(missing)} texts have no Korean in locale/ko (make messages, translate, commit): {missing[:10]}"
    assert len(merged.translated_entries()) > 400
    committed = {(e.msgid, e.msgstr or e.msgstr_plural.get(0, "")) for e in polib.pofile(str(CATALOGUE)) if not e.obsolete}
    compiled = {(e.msgid, e.msgstr or e.msgstr_plural.get(0, "")) for e in polib.mofile(str(CATALOGUE.with_suffix(".mo")))
                if e.msgid}
    assert committed == compiled, "locale/ko/LC_MESSAGES/django.mo is not the compiled .po: make install"


@pytest.mark.django_db
def test_pages_follow_the_browsers_language(admin_client):
    korean = admin_client.get("/", HTTP_ACCEPT_LANGUAGE="ko-KR,ko;q=0.9,en;q=0.5").content.decode()
    assert '<html lang="ko">' in korean and "대시보드" in korean and "동기화 상태" in korean
    english = admin_client.get("/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9").content.decode()
    assert '<html lang="en">' in english and "Sync health" in english and "대시보드" not in english


@pytest.mark.django_db
def test_a_person_chooses_a_language_and_keeps_it(client, tenant, tenant_admin):
    client.force_login(tenant_admin)
    answer = client.post("/language/", {"language": "ko", "next": "/sync/events/"}, HTTP_ACCEPT_LANGUAGE="en")
    assert answer.status_code == 302 and answer["Location"] == "/sync/events/"
    assert "동기화 이벤트" in client.get("/sync/events/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    # A new session of the same person (another browser) gets their choice too.
    other_browser = type(client)()
    other_browser.force_login(tenant_admin)
    assert "동기화 이벤트" in other_browser.get("/sync/events/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    # Someone else still gets their browser's language.
    colleague = type(client)()
    colleague.force_login(UserFactory(username="acme-other", tenant=tenant))
    assert "Sync events" in colleague.get("/sync/events/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    # An unknown language or a foreign `next` changes nothing.
    assert client.post("/language/", {"language": "xx", "next": "https://evil.example/"})["Location"] == "/"


@pytest.mark.django_db
def test_api_error_details_in_the_asked_language(api):
    answer = api.post("/api/v1/events", {"id": "e-1"}, format="json", HTTP_ACCEPT_LANGUAGE="ko")
    assert answer.status_code == 400
    body = answer.json()
    assert body["detail"].startswith("입력이 올바르지 않습니다.")
    assert body["errors"]["type"] == ["이 필드는 필수 항목입니다."]
    english = api.post("/api/v1/events", {"id": "e-1"}, format="json").json()
    assert english["detail"].startswith("Invalid input.") and english["errors"]["type"] == ["This field is required."]
    missing = api.get("/api/v1/events", {"page": 9}, HTTP_ACCEPT_LANGUAGE="ko")
    assert missing.status_code == 404 and "페이지" in missing.json()["detail"]
