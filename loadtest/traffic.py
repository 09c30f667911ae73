"""A contact-center day as the public API sees it: pure generation, no I/O.

`generate_day` turns (agents, event count, seed) into an ordered list of `Send`s: the
requests the telephony side and the agents' adapters make over a day, each with the
second (from the start of the run) it is due. Every session is a scenario a real
contact center produces: IVR calls answered and ended (with recordings, sometimes
transferred), abandoned calls, voicemails later read and called back or closed, mobile
and web chats with custom data and transcripts, mobile SDK calls with SmartActions and
CSAT, outbound calls, click-to-call, short calls followed by a callback, "call me back
after the call", and the agents' status changes that go with them (on call, wrap-up,
breaks, Kustomer-side changes).

The same seed gives the same day (ids, phones, times), so a benchmark or the fault
suite can compare runs, and the fault suite can check what the sandbox holds against
what was sent.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Callable

import phonenumbers

from loadtest.policy_day import EXTRA_SCENARIOS

EVENTS_PATH = "/api/v1/events"
STATUS_PATH = "/api/v1/agent-status/events"
HEARTBEAT_PATH = "/api/v1/adapter/heartbeat"
CLICK_TO_CALL_PATH = "/api/v1/click-to-call"

MENUS = ("Billing > Refunds", "Billing > Invoices", "Orders > Where is my order", "Orders > Returns",
         "Technical support", "Sales", None)
QUEUES = {"Billing": ("Billing > Refunds", "Billing > Invoices"),
          "Orders": ("Orders > Where is my order", "Orders > Returns"),
          "Support": ("Technical support",), "Sales": ("Sales",)}
LANGUAGES = ("en", "en", "en", "es", "fr", "ko")
FIRST = ("Ann", "Bo", "Chloé", "Dmitri", "Eun-ji", "Farah", "Gustavo", "Hiroshi", "Ines", "José", "Kwame", "Lena",
         "Mateo", "Nora", "Olu", "Priya", "Quinn", "Rafael", "Sofía", "Tomás", "Uma", "Viktor", "Wen", "Yara", "Zoë")
LAST = ("Lee", "Kim", "García", "Müller", "Okafor", "Nguyen", "Rossi", "Dubois", "Kowalski", "Silva", "Yamada",
        "O'Brien", "Øster", "Park", "Haddad")
CHAT_LINES = (
    ("customer", "Hi, my order hasn't arrived yet."),
    ("agent", "Sorry to hear that! Could you give me the order number?"),
    ("customer", "It's A-{n}. Ordered last week."),
    ("agent", "Thanks. It left our warehouse yesterday; tracking shows delivery tomorrow."),
    ("customer", "Great, thank you 🙏"),
    ("agent", "You're welcome. Anything else?"),
    ("customer", "No, that's all. Merci !"),
)
SMART_ACTIONS = ("verify_photo", "collect_signature", "verify_id", "share_screenshot")
CC_BREAK_STATUSES = ("Break", "Lunch", "Meeting", "Training")

# Scenario weights of an ordinary day (sessions, not events).
SCENARIO_WEIGHTS = {
    "ivr_call": 30,
    "ivr_call_transferred": 6,
    "abandoned_call": 8,
    "voicemail": 6,
    "mobile_chat": 10,
    "web_chat": 9,
    "mobile_call": 7,
    "outbound_call": 7,
    "click_to_call": 4,
    "short_call_callback": 5,
    "after_call_callback": 4,
}
# Operator cases (SPEC §7), only when asked for (`generate_day(shared_phones=...,
# without_end=...)`): each then happens at least once in the day.
OPERATOR_SCENARIO_WEIGHTS = {"shared_number_call": 5, "call_without_end": 5}
# Scenarios whose requests are safe to deliver twice (click-to-call starts a new
# session each time it is called: it is a command, not an event).
IDEMPOTENT_SCENARIOS = tuple(s for s in SCENARIO_WEIGHTS if s != "click_to_call")


@dataclass
class Send:
    """One request of the day. ``at``: seconds from the start of the run it is due.
    ``key``: requests with the same key must be sent in order (one customer's events,
    one agent's status changes). ``fill``: a step that depends on an earlier answer
    (the session id click-to-call returns) completes the body before it is sent."""

    at: float
    kind: str  # event | status | heartbeat | click_to_call | ccaip
    path: str
    body: dict[str, Any]
    key: str
    label: str  # event type, or "agent-status", "heartbeat", "click-to-call"
    scenario: str = ""
    depends_on: str | None = None  # the click-to-call Send id whose answer fills this one
    ref: str | None = None  # this Send's id for dependants
    fill: Callable[[dict[str, Any], dict[str, Any]], None] | None = field(default=None, repr=False)
    auth: tuple[str, str] | None = field(default=None, repr=False)  # basic auth (CCAI Platform deliveries)

    @property
    def event_id(self) -> str | None:
        return self.body.get("id") if self.kind in ("event", "status") else None


@dataclass
class DayPlan:
    sends: list[Send]
    customers: set[str]  # customer keys: E.164 phones and "app:<identifier>"
    sessions: set[str]
    scenarios: dict[str, int]

    @property
    def event_count(self) -> int:
        return sum(1 for s in self.sends if s.kind in ("event", "click_to_call"))

    @property
    def status_count(self) -> int:
        return sum(1 for s in self.sends if s.kind == "status")


class _Day:
    def __init__(self, *, rng: random.Random, agents: list[str], start: datetime, run_id: str, file_base: str | None,
                 kustomer_status_ids: list[str], with_status: bool, with_heartbeats: bool) -> None:
        self.rng = rng
        self.agents = agents
        self.start = start
        self.run_id = run_id
        self.file_base = file_base.rstrip("/") if file_base else None
        self.kustomer_status_ids = kustomer_status_ids
        self.with_status = with_status
        self.with_heartbeats = with_heartbeats
        self.sends: list[Send] = []
        self.customers: set[str] = set()
        self.sessions: set[str] = set()
        self.phone_pool: list[tuple[str, str]] = []  # (E.164, name) of returning callers
        self.app_pool: list[tuple[str, str, str | None]] = []  # (identifier, name, phone)
        self.shared_phones: list[str] = []  # numbers several Kustomer customers hold (R-O1)
        self.seq = 0

    # -- ids and people ---------------------------------------------------------------------
    def next_id(self, prefix: str) -> str:
        self.seq += 1
        return f"{prefix}-{self.run_id}-{self.seq:06d}"

    def name(self) -> str:
        return f"{self.rng.choice(FIRST)} {self.rng.choice(LAST)}"

    def new_phone(self) -> str:
        while True:
            area = self.rng.choice(("415", "212", "312", "646", "617", "206", "303", "512", "702", "919"))
            number = f"+1{area}{self.rng.randint(200, 999)}{self.rng.randint(0, 9999):04d}"
            parsed = phonenumbers.parse(number)
            if phonenumbers.is_valid_number(parsed):
                return number

    def caller(self, returning: float = 0.3) -> tuple[str, str]:
        """A phone caller: sometimes one who called before (R-U1 joins their open
        conversation), usually a new one (R-C1 creates the customer)."""
        if self.phone_pool and self.rng.random() < returning:
            return self.rng.choice(self.phone_pool)
        person = (self.new_phone(), self.name())
        self.phone_pool.append(person)
        return person

    def app_user(self, returning: float = 0.3) -> tuple[str, str, str | None]:
        if self.app_pool and self.rng.random() < returning:
            return self.rng.choice(self.app_pool)
        user = (f"app-{self.run_id}-{len(self.app_pool) + 1:05d}", self.name(),
                self.new_phone() if self.rng.random() < 0.5 else None)
        self.app_pool.append(user)
        return user

    def agent(self, other_than: str | None = None) -> str:
        choices = [a for a in self.agents if a != other_than] or self.agents
        return self.rng.choice(choices)

    def file_url(self, folder: str, name: str) -> str | None:
        return f"{self.file_base}/{folder}/{name}" if self.file_base else None

    # -- building requests ------------------------------------------------------------------
    def time(self, at: float) -> str:
        return (self.start + timedelta(seconds=at)).isoformat().replace("+00:00", "Z")

    def event(self, at: float, type_: str, *, session: dict[str, Any], end_user: dict[str, Any], scenario: str,
              agent: str | None = None, data: dict[str, Any] | None = None) -> Send:
        body = {
            "id": self.next_id("evt"),
            "type": type_,
            "occurred_at": self.time(at),
            "session": dict(session),
            "end_user": dict(end_user),
            "agent": {"email": agent} if agent else None,
            "data": data or {},
        }
        key = f"app:{end_user['identifier']}" if end_user.get("identifier") else end_user["phone"]
        self.customers.add(key)
        self.sessions.add(session["id"])
        send = Send(at=at, kind="event", path=EVENTS_PATH, body=body, key=f"customer:{key}", label=type_,
                    scenario=scenario)
        self.sends.append(send)
        return send

    def status(self, at: float, agent: str, status: str, kind: str = "manual") -> None:
        if not self.with_status:
            return
        body = {"id": self.next_id("st"), "source": "contact_center", "agent_email": agent, "status": status,
                "kind": kind, "occurred_at": self.time(at)}
        self.sends.append(Send(at=at, kind="status", path=STATUS_PATH, body=body, key=f"agent:{agent}",
                               label="agent-status", scenario="status"))

    def kustomer_status(self, at: float, agent: str) -> None:
        if not self.with_status or not self.kustomer_status_ids:
            return
        body = {"id": self.next_id("st"), "source": "kustomer", "agent_email": agent,
                "kustomer_status_id": self.rng.choice(self.kustomer_status_ids), "occurred_at": self.time(at),
                "instance_id": f"tab-{agent.split('@')[0]}"}
        self.sends.append(Send(at=at, kind="status", path=STATUS_PATH, body=body, key=f"agent:{agent}",
                               label="agent-status", scenario="status"))

    def session(self, *, channel: str, source: str, menu: str | None = None, recording: bool = False,
                session_id: str | None = None) -> dict[str, Any]:
        queue = next((q for q, menus in QUEUES.items() if menu in menus), None)
        return {"id": session_id or self.next_id("s"), "channel": channel, "source": source, "menu": menu,
                "queue": queue, "language": self.rng.choice(LANGUAGES), "recording_enabled": recording}

    # -- scenarios --------------------------------------------------------------------------
    def ivr_call(self, t: float, *, transferred: bool = False, scenario: str = "ivr_call") -> float:
        phone, name = self.caller()
        agent = self.agent()
        recording = self.rng.random() < 0.7 and self.file_base is not None
        menu = self.rng.choice(MENUS)
        session = self.session(channel="voice", source="ivr", menu=menu, recording=recording)
        user = {"phone": self._local_format(phone), "identifier": None, "name": name, "email": None}
        self.status(t, agent, "On call")
        self.event(t, "call.answered", session=session, end_user=user, agent=agent, scenario=scenario)
        talk = self.rng.randint(30, 600)
        if transferred:
            to = self.agent(other_than=agent)
            mid = t + talk / 2
            self.event(mid, "session.transferred", session=session, end_user=user, agent=agent, scenario=scenario,
                       data={"to_agent_email": to})
            self.status(mid + 0.5, agent, "Wrap-up", "system_next")
            self.status(mid + 0.6, to, "On call")
            agent = to
        end = t + talk
        data = {"duration_seconds": talk, "hold_seconds": self.rng.randint(0, 60),
                "wait_seconds": self.rng.randint(0, 120)}
        if recording:
            data["recording_url"] = self.file_url("recordings", f"{session['id']}.mp3")
        self.event(end, "session.ended", session=session, end_user=user, agent=agent, scenario=scenario, data=data)
        self.status(end + 0.5, agent, "Wrap-up", "system_next")
        self.status(end + 30, agent, "Available", "system_next")
        return end

    def _local_format(self, e164: str) -> str:
        """Telephony systems send numbers in many formats; the API reads them all."""
        national = e164[2:]
        style = self.rng.random()
        if style < 0.5:
            return e164
        if style < 0.8:
            return f"({national[:3]}) {national[3:6]}-{national[6:]}"
        return f"1-{national[:3]}-{national[3:6]}-{national[6:]}"

    def abandoned_call(self, t: float) -> float:
        phone, name = self.caller(returning=0.2)
        session = self.session(channel="voice", source="ivr", menu=self.rng.choice(MENUS))
        user = {"phone": phone, "identifier": None, "name": None, "email": None}
        self.event(t, "call.abandoned", session=session, end_user=user, scenario="abandoned_call",
                   data={"wait_seconds": self.rng.randint(5, 400)})
        return t

    def voicemail(self, t: float) -> float:
        if self.file_base is None:
            return self.abandoned_call(t)
        phone, name = self.caller(returning=0.4)
        session = self.session(channel="voice", source="ivr", menu=self.rng.choice(MENUS))
        user = {"phone": phone, "identifier": None, "name": name, "email": None}
        self.event(t, "voicemail.received", session=session, end_user=user, scenario="voicemail",
                   data={"recording_url": self.file_url("voicemail", f"{session['id']}.wav"),
                         "duration_seconds": self.rng.randint(5, 120)})
        agent = self.agent()
        later = t + self.rng.randint(60, 900)
        self.event(later, "voicemail.updated", session=session, end_user=user, agent=agent, scenario="voicemail",
                   data={"action": "read"})
        final = self.rng.choice(("called_back", "closed"))
        self.event(later + self.rng.randint(30, 600), "voicemail.updated", session=session, end_user=user,
                   agent=agent, scenario="voicemail", data={"action": final})
        return later

    def chat(self, t: float, *, source: str) -> float:
        identifier, name, phone = self.app_user()
        email = None
        if source == "web_sdk":
            email = f"{identifier}@customers.example.com"
        agent = self.agent()
        session = self.session(channel="chat", source=source, menu=self.rng.choice(MENUS))
        user = {"phone": phone, "identifier": identifier, "name": name, "email": email}
        scenario = "mobile_chat" if source == "mobile_sdk" else "web_chat"
        custom = {"orderId": f"A-{self.rng.randint(1000, 99999)}", "plan": self.rng.choice(("free", "pro", "기업"))}
        sends = [self.event(t, "session.started", session=session, end_user=user, scenario=scenario,
                            data={"custom_data": custom})]
        self.status(t + 5, agent, "In-chat")
        sends.append(self.event(t + 5, "call.answered", session=session, end_user=user, agent=agent,
                                scenario=scenario))
        if self.rng.random() < 0.5:
            # After the end user's second line (t + 50): the chat a tenant delays until two
            # end-user messages (SPEC R-P5) gets its record here.
            sends.append(self.event(t + 55, "custom_data.received", session=session, end_user=user, agent=agent,
                                    scenario=scenario, data={"custom_data": {"cartValue": self.rng.randint(5, 500),
                                                                             "appVersion": "4.2.0"}}))
        n = self.rng.randint(1000, 99999)
        lines = [{"at": self.time(t + 10 + 20 * i), "from": (name if who == "customer" else agent),
                  "text": text.format(n=n)} for i, (who, text) in enumerate(CHAT_LINES[: self.rng.randint(3, 7)])]
        end = t + 10 + 20 * len(lines)
        sends.append(self.event(end, "session.ended", session=session, end_user=user, agent=agent, scenario=scenario,
                                data={"duration_seconds": int(end - t), "wait_seconds": 5, "transcript": lines}))
        self.status(end + 1, agent, "Available", "system_next")
        if self.rng.random() < 0.6:
            sends.append(self.event(end + 20, "csat.submitted", session=session, end_user=user, scenario=scenario,
                                    data={"rating": self.rng.randint(1, 5),
                                          "comment": self.rng.choice(("", "Quick and kind.", "Très bien", "느렸어요",
                                                                      None))}))
        # Each chat event says how many messages the end user had sent by then (R-P5).
        said = [t + 10 + 20 * i for i, (who, _text) in enumerate(CHAT_LINES[: len(lines)]) if who == "customer"]
        for send in sends:
            send.body["session"]["end_user_message_count"] = sum(1 for at in said if at <= send.at)
        return end

    def mobile_call(self, t: float) -> float:
        identifier, name, phone = self.app_user()
        agent = self.agent()
        session = self.session(channel="voice", source="mobile_sdk", menu=self.rng.choice(MENUS))
        user = {"phone": phone, "identifier": identifier, "name": name, "email": None}
        self.event(t, "session.started", session=session, end_user=user, scenario="mobile_call",
                   data={"custom_data": {"device": self.rng.choice(("iOS 19", "Android 16"))}})
        self.status(t + 8, agent, "On call")
        self.event(t + 8, "call.answered", session=session, end_user=user, agent=agent, scenario="mobile_call")
        action = self.rng.choice(SMART_ACTIONS)
        if self.rng.random() < 0.75:
            files = []
            if self.file_base and self.rng.random() < 0.7:
                files = [{"name": f"{action}.png", "url": self.file_url("smartactions", f"{session['id']}.png"),
                          "content_type": "image/png"}]
            self.event(t + 60, "smart_action.completed", session=session, end_user=user, agent=agent,
                       scenario="mobile_call", data={"action": action, "result": {"verified": True, "score": 0.97},
                                                     "files": files})
        else:
            self.event(t + 60, "smart_action.failed", session=session, end_user=user, agent=agent,
                       scenario="mobile_call", data={"action": action, "error": "fingerprint access not enabled"})
        end = t + self.rng.randint(90, 400)
        self.event(end, "session.ended", session=session, end_user=user, agent=agent, scenario="mobile_call",
                   data={"duration_seconds": int(end - t - 8), "hold_seconds": 0, "wait_seconds": 8})
        self.status(end + 1, agent, "Available", "system_next")
        if self.rng.random() < 0.7:
            self.event(end + 15, "csat.submitted", session=session, end_user=user, scenario="mobile_call",
                       data={"rating": self.rng.randint(3, 5), "comment": "Thanks!"})
        return end

    def outbound_call(self, t: float) -> float:
        phone, name = self.caller(returning=0.6)
        agent = self.agent()
        recording = self.rng.random() < 0.5 and self.file_base is not None
        session = self.session(channel="voice", source="outbound", recording=recording)
        user = {"phone": phone, "identifier": None, "name": name, "email": None}
        self.status(t, agent, "On call")
        self.event(t, "call.outbound_started", session=session, end_user=user, agent=agent, scenario="outbound_call",
                   data={"kustomer_customer_id": None})
        talk = self.rng.randint(20, 300)
        data = {"duration_seconds": talk}
        if recording:
            data["recording_url"] = self.file_url("recordings", f"{session['id']}.mp3")
        self.event(t + talk, "session.ended", session=session, end_user=user, agent=agent,
                   scenario="outbound_call", data=data)
        self.status(t + talk + 1, agent, "Available", "system_next")
        return t + talk

    def click_to_call(self, t: float) -> float:
        phone, name = self.caller(returning=0.7)
        agent = self.agent()
        ref = self.next_id("ctc")
        key = f"customer:{phone}"
        self.customers.add(phone)
        self.sends.append(Send(at=t, kind="click_to_call", path=CLICK_TO_CALL_PATH, key=key, label="click-to-call",
                               scenario="click_to_call", ref=ref,
                               body={"agent_email": agent, "phone": phone, "kustomer_customer_id": None}))
        talk = self.rng.randint(20, 200)
        ended = self.event(t + talk, "session.ended", scenario="click_to_call", agent=agent,
                           session=self.session(channel="voice", source="outbound", session_id="(from click-to-call)"),
                           end_user={"phone": phone, "identifier": None, "name": name, "email": None},
                           data={"duration_seconds": talk})
        self.sessions.discard("(from click-to-call)")
        ended.depends_on = ref

        def fill(body: dict[str, Any], answer: dict[str, Any]) -> None:
            body["session"]["id"] = answer["session_id"]

        ended.fill = fill
        return t + talk

    def callback(self, t: float, *, short: bool) -> float:
        phone, name = self.caller(returning=0.2)
        agent = self.agent()
        scenario = "short_call_callback" if short else "after_call_callback"
        first = self.session(channel="voice", source="ivr", menu=self.rng.choice(MENUS))
        user = {"phone": phone, "identifier": None, "name": name, "email": None}
        self.event(t, "call.answered", session=first, end_user=user, agent=agent, scenario=scenario)
        talk = self.rng.randint(3, 9) if short else self.rng.randint(60, 300)
        self.event(t + talk, "session.ended", session=first, end_user=user, agent=agent, scenario=scenario,
                   data={"duration_seconds": talk})
        back = self.session(channel="voice", source="outbound")
        at = t + talk + self.rng.randint(5, 60)
        self.event(at, "callback.requested", session=back, end_user=user, agent=agent, scenario=scenario,
                   data={"reason": "short_call" if short else "after_call", "previous_session_id": first["id"]})
        self.event(at + 90, "session.ended", session=back, end_user=user, agent=agent, scenario=scenario,
                   data={"duration_seconds": 90})
        return at + 90

    def shared_number_call(self, t: float) -> float:
        """A call from a number several Kustomer customers hold (SPEC R-O1): it waits
        for an admin's choice, its end waits behind it."""
        phone = self.rng.choice(self.shared_phones)
        agent = self.agent()
        session = self.session(channel="voice", source="ivr", menu=self.rng.choice(MENUS))
        user = {"phone": phone, "identifier": None, "name": None, "email": None}
        self.event(t, "call.answered", session=session, end_user=user, agent=agent, scenario="shared_number_call")
        talk = self.rng.randint(30, 300)
        self.event(t + talk, "session.ended", session=session, end_user=user, agent=agent,
                   scenario="shared_number_call", data={"duration_seconds": talk})
        return t + talk

    def call_without_end(self, t: float) -> float:
        """An answered call whose hang-up never arrives (SPEC R-O2): closed out later."""
        phone, name = self.caller(returning=0.0)
        session = self.session(channel="voice", source="ivr", menu=self.rng.choice(MENUS))
        user = {"phone": phone, "identifier": None, "name": name, "email": None}
        self.event(t, "call.answered", session=session, end_user=user, agent=self.agent(), scenario="call_without_end")
        return t

    def run_scenario(self, name: str, t: float) -> None:
        {
            "shared_number_call": lambda: self.shared_number_call(t),
            "call_without_end": lambda: self.call_without_end(t),
            "ivr_call": lambda: self.ivr_call(t),
            "ivr_call_transferred": lambda: self.ivr_call(t, transferred=True, scenario="ivr_call_transferred"),
            "abandoned_call": lambda: self.abandoned_call(t),
            "voicemail": lambda: self.voicemail(t),
            "mobile_chat": lambda: self.chat(t, source="mobile_sdk"),
            "web_chat": lambda: self.chat(t, source="web_sdk"),
            "mobile_call": lambda: self.mobile_call(t),
            "outbound_call": lambda: self.outbound_call(t),
            "click_to_call": lambda: self.click_to_call(t),
            "short_call_callback": lambda: self.callback(t, short=True),
            "after_call_callback": lambda: self.callback(t, short=False),
        }.get(name, lambda: EXTRA_SCENARIOS[name](self, t))()


def generate_day(
    *,
    agents: list[str],
    events: int,
    seed: int,
    start: datetime,
    run_id: str,
    file_base: str | None = None,
    kustomer_status_ids: list[str] | None = None,
    with_status: bool = True,
    with_heartbeats: bool = True,
    scenarios: tuple[str, ...] | None = None,
    day_seconds: float = 8 * 3600.0,
    shared_phones: list[str] | None = None,
    without_end: bool = False,
    weights: dict[str, int] | None = None,
) -> DayPlan:
    """The day's requests, in the order they are due (``Send.at`` ascending).

    ``events``: how many contact-center events (``POST /api/v1/events`` and
    click-to-call) to make, about (whole sessions: the last one may add a few).
    ``weights``: the scenario mix (default SCENARIO_WEIGHTS; a tenant with call logging
    policies also meets the sessions they are about: loadtest.policy_day).
    ``day_seconds``: the span the sessions start in, in the day's own seconds; the
    caller compresses it to the rate it sends at (`schedule`).
    ``shared_phones``: numbers several Kustomer customers hold (the caller seeds them):
    calls from them are added; ``without_end``: calls whose end never arrives too."""
    if not agents:
        raise ValueError("give at least one agent")
    rng = random.Random(seed)
    day = _Day(rng=rng, agents=agents, start=start, run_id=run_id, file_base=file_base,
               kustomer_status_ids=list(kustomer_status_ids or []), with_status=with_status,
               with_heartbeats=with_heartbeats)
    day.shared_phones = list(shared_phones or [])
    operator = {n: w for n, w in OPERATOR_SCENARIO_WEIGHTS.items()
                if (n == "shared_number_call" and day.shared_phones) or (n == "call_without_end" and without_end)}
    base = weights or SCENARIO_WEIGHTS  # e.g. policy_day.POLICY_SCENARIO_WEIGHTS
    allowed = scenarios or tuple(base) + tuple(operator)
    every = {**base, **operator}
    names = [n for n in every if n in allowed and every[n] > 0]
    weights = [every[n] for n in names]
    counts: dict[str, int] = {}
    # Sessions start through the day; about 3.7 events per session on average.
    expected_sessions = max(1, round(events / 3.7))
    gap = day_seconds / expected_sessions
    t = 0.0
    # Each agent signs in at the start of the day (and their adapters start to beat).
    for agent in agents:
        day.status(0.0, agent, "Available", "manual")
        if with_heartbeats:
            day.sends.append(Send(at=0.0, kind="heartbeat", path=HEARTBEAT_PATH, key=f"agent:{agent}",
                                  label="heartbeat", scenario="status",
                                  body={"agent_email": agent, "instance_id": f"tab-{agent.split('@')[0]}"}))
    while sum(1 for s in day.sends if s.kind in ("event", "click_to_call")) < events:
        name = rng.choices(names, weights)[0]
        counts[name] = counts.get(name, 0) + 1
        day.run_scenario(name, t)
        # Breaks and Kustomer-side status changes happen between calls.
        if with_status and rng.random() < 0.15:
            agent = day.agent()
            day.status(t + 1, agent, rng.choice(CC_BREAK_STATUSES))
            day.status(t + rng.randint(300, 1800), agent, "Available")
        if with_status and rng.random() < 0.2:
            day.kustomer_status(t + 2, day.agent())
        t += rng.expovariate(1.0 / gap)
    for name in operator:  # asked for: at least once
        if name in allowed and not counts.get(name):
            counts[name] = 1
            day.run_scenario(name, t)
    day.sends.sort(key=lambda s: (s.at, s.kind != "click_to_call"))
    return DayPlan(sends=day.sends, customers=day.customers, sessions=day.sessions, scenarios=counts)


def schedule(plan: DayPlan, *, rate: float, start: datetime) -> list[tuple[float, Send]]:
    """When each request goes out at ``rate`` requests per second (0: as fast as
    possible): the day is compressed so requests leave evenly, in the day's order, and
    each event's ``occurred_at`` becomes the moment it is due (so the times the API
    sees are now, in the order things happened, whatever the compression)."""
    step = 1.0 / rate if rate > 0 else 0.0
    out = []
    for index, send in enumerate(plan.sends):
        offset = index * step
        if "occurred_at" in send.body:
            # 1 ms apart at least: events of one session keep a strict order.
            moment = start + timedelta(seconds=max(offset, index * 0.001))
            send.body["occurred_at"] = moment.isoformat().replace("+00:00", "Z")
        out.append((offset, send))
    return out
