"""Issue 22: a file that cannot be fetched never holds a customer's line.

Three recordings that stopped answering kept their events "processing" with
"file fetch: fetch failed: ConnectionError" for as long as anyone watched, with no next
attempt shown, holding back every later event of the same customer. Now the record
lands without the file, the file is retried on its own with backoff (pending, with its
next attempt on the event's page), and after its limit the event ends failed for that
file only, with Retry.
"""
from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.utils import timezone

from conversations import services
from conversations.models import Event, EventAction
from conversations.services.late_files import ATTACH_FILE, late_file_next_attempt_at
from tests.conversations.e2e_helpers import attachment_ids, event
from tests.customfields.conftest import connect

pytestmark = pytest.mark.django_db
RECORDING = b"ID3\x03late-recording" * 30


class _Files(BaseHTTPRequestHandler):
    mode = "down"  # down: 503 | stall: no answer for 5 s | up: the file

    def do_GET(self):  # noqa: N802 - http.server hook
        if type(self).mode == "stall":
            time.sleep(5)
        if type(self).mode != "up":
            self.send_response(503)
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", "audio/mpeg")
        self.send_header("Content-Length", str(len(RECORDING)))
        self.end_headers()
        self.wfile.write(RECORDING)

    def log_message(self, *args):
        pass


@pytest.fixture
def files():
    _Files.mode = "down"
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Files)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture
def queued_late_tries(monkeypatch):
    """The late file's task, as a worker would get it (after its countdown): recorded."""
    from conversations import tasks

    sent = []
    monkeypatch.setattr(tasks.late_file_fetch_task, "apply_async",
                        lambda args, countdown=0, **kw: sent.append((args[0], countdown)))
    return sent


def _send(api, body, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post("/api/v1/events", body, format="json")
    assert response.status_code == 202, response.content
    return Event.objects.get(event_id=body["id"])


def test_the_stalled_fetch_never_holds_the_customers_line(
        tenant, sandbox_org, api, admin_client, files, queued_late_tries, settings, django_capture_on_commit_callbacks):
    connect(tenant, base_url=sandbox_org.base_url, api_key=sandbox_org.api_key)
    settings.SYNC_FETCH_INLINE_DEADLINE_SECONDS = 1.0
    _Files.mode = "stall"
    answered = _send(api, event("call.answered", "s-late", agent=None, recording=True), django_capture_on_commit_callbacks)
    started = time.monotonic()
    ended = _send(api, event("session.ended", "s-late", agent=None, recording=True,
                             data={"duration_seconds": 75, "recording_url": f"{files}/rec/s-late.mp3"}),
                  django_capture_on_commit_callbacks)
    assert time.monotonic() - started < 4.5  # the inline fetch gave up at its 1 s deadline, not the file's 5 s
    # The record landed without the file; the customer's next event is applied at once.
    assert ended.state == "done" and answered.state == "done"
    conversation_id = ended.kustomer_conversation_id
    [call_ended] = [m for m in sandbox_org.messages(conversation_id) if m["attributes"]["preview"].startswith("Call ended")]
    assert attachment_ids(call_ended) == []
    later = _send(api, event("call.answered", "s-late-2", agent=None), django_capture_on_commit_callbacks)
    assert later.state == "done"

    # The file waits on its own: pending, with its next attempt and the reason, on the event's page.
    late = EventAction.objects.get(event=ended, kind=ATTACH_FILE)
    assert late.state == "pending" and "no answer from 127.0.0.1 within 1s" in late.error
    assert [pk for pk, _ in queued_late_tries] == [late.pk] and queued_late_tries[0][1] > 0
    page = admin_client.get(f"/sync/events/{ended.pk}/").content.decode()
    next_at = timezone.localtime(late_file_next_attempt_at(late)).strftime("%Y-%m-%d %H:%M:%S")
    assert 'data-late-file="s-late.mp3"' in page and next_at in page and "no answer from 127.0.0.1" in page

    # It keeps failing: backoff grows, then the event ends failed for that file only.
    _Files.mode = "down"
    waits = []
    for _ in range(settings.SYNC_LATE_FILE_MAX_ATTEMPTS):
        outcome = services.late_file_fetch(action_pk=late.pk)
        if outcome.startswith("waits"):
            waits.append(queued_late_tries[-1][1])
    assert outcome == "failed" and waits == sorted(waits) and len(waits) == settings.SYNC_LATE_FILE_MAX_ATTEMPTS - 1
    ended.refresh_from_db()
    assert ended.state == "failed" and "attachment s-late.mp3" in ended.error and "gave up after" in ended.error
    assert EventAction.objects.filter(event=ended).exclude(kind=ATTACH_FILE).exclude(state="done").count() == 0
    assert "Retry" in admin_client.get(f"/sync/events/{ended.pk}/").content.decode()

    # The file server is back: Retry tries the file again; it lands as a note with the file, once.
    _Files.mode = "up"
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(f"/sync/events/{ended.pk}/retry/")
    ended.refresh_from_db()
    assert ended.state == "done"
    late.refresh_from_db()
    assert late.state == "pending" and late.attempts == 0
    assert services.late_file_fetch(action_pk=late.pk) == "attached"
    assert services.late_file_fetch(action_pk=late.pk) == "nothing to do"
    notes = [n for n in sandbox_org.notes(conversation_id) if "s-late.mp3" in n["attributes"]["body"]]
    assert len(notes) == 1
    with sandbox_org.server.state.lock:
        [att] = list(sandbox_org.org.notes[notes[0]["id"]]["attachments"])
    assert sandbox_org.attachment_content(att) == RECORDING
    ended.refresh_from_db()
    assert notes[0]["id"] in ended.kustomer_ids["note_ids"] and att in ended.kustomer_ids["attachment_ids"]
    assert ended.finished_at is not None and ended.finished_at <= timezone.now()


def test_a_late_file_whose_task_was_lost_is_sent_again_by_the_sweeper(tenant, queued_late_tries):
    from datetime import timedelta

    ev = Event.objects.create(tenant=tenant, event_id="e-lost-file", type="session.ended", occurred_at=timezone.now(),
                              session_id="s", customer_key="+14155550123", raw_body="{}", body_hash="0" * 64,
                              payload={}, state="done", kustomer_conversation_id="c1")
    due = EventAction.objects.create(event=ev, index=10_100, kind=ATTACH_FILE, params={"url": "u", "name": "a.mp3"},
                                     result={"next_attempt_at": (timezone.now() - timedelta(minutes=10)).isoformat()})
    EventAction.objects.create(event=ev, index=10_101, kind=ATTACH_FILE, params={"url": "u", "name": "b.mp3"},
                               result={"next_attempt_at": (timezone.now() + timedelta(minutes=10)).isoformat()})
    assert services.events_sweep(older_than=timedelta(minutes=2), queued_before=timezone.now()) == 1
    assert [pk for pk, _ in queued_late_tries] == [due.pk]
    assert services.events_sweep(older_than=timedelta(minutes=2), queued_before=timezone.now()) == 0
