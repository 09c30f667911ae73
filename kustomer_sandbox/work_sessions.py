"""Agent routing rules: statuses and work sessions, as Kustomer's routing API describes them.

A work session is one agent's shift: created the first time the agent sets a status,
updated in place while they change statuses, ended (active false, signedOutAt set,
read-only) when they switch to a status of type `offline`; the next change starts a new
session. `routable` is true only for statusType `available`.
Shared by the API (`PUT /v1/routing/work-sessions/{id}`) and the control endpoint that
plays an agent changing their status in the Kustomer desktop.
"""
from __future__ import annotations

from .errors import ApiError
from .store import Org, new_object_id, now_iso


class WorkSessionEnded(ApiError):
    def __init__(self) -> None:
        super().__init__(409, "conflict", "Work session has ended", parameter="id",
                         detail="a session is read-only once its agent went offline")


def routing_team_for(org: Org, user_id: str, team_id: str | None = None) -> str | None:
    """The team a new session works as: the one asked for, else a routing-enabled team."""
    teams = org.teams_of_user(user_id)
    if team_id:
        return team_id
    for team in teams:
        settings = org.routing_settings.get(team["id"])
        if settings and settings["attributes"]["enabled"]:
            return team["id"]
    return teams[0]["id"] if teams else None


def work_session_start(org: Org, user_id: str, status: dict, team_id: str | None = None) -> dict:
    now = now_iso()
    session = {
        "id": new_object_id(),
        "user": user_id,
        "team": routing_team_for(org, user_id, team_id),
        "status": status["id"],
        "attributes": {
            "active": True,
            "statusType": status["attributes"]["statusType"],
            "routable": status["attributes"]["statusType"] == "available",
            "signedInAt": now,
            "signedOutAt": None,
            "statusUpdatedAt": now,
            "capacity": {"conversation": 3, "voice": 1},
            "createdAt": now,
            "updatedAt": now,
        },
    }
    org.work_sessions[session["id"]] = session
    return session


def work_session_change_status(org: Org, session: dict, status: dict, team_id: str | None = None) -> dict:
    """Point an active session to `status`; an offline status ends the session."""
    if not session["attributes"]["active"]:
        raise WorkSessionEnded()
    now = now_iso()
    status_type = status["attributes"]["statusType"]
    attributes = session["attributes"]
    session["status"] = status["id"]
    if team_id:
        session["team"] = team_id
    attributes.update({
        "statusType": status_type,
        "routable": status_type == "available",
        "statusUpdatedAt": now,
        "updatedAt": now,
    })
    if status_type == "offline":
        attributes.update({"active": False, "signedOutAt": now})
    return session


def agent_status_set(org: Org, user_id: str, status: dict, team_id: str | None = None) -> dict | None:
    """An agent picks `status` in the desktop: update, end or start their session.

    Returns the session that now reflects the agent, or None when an agent with no
    session goes offline (nothing to record).
    """
    session = org.active_work_session(user_id)
    if session is not None:
        return work_session_change_status(org, session, status, team_id)
    if status["attributes"]["statusType"] == "offline":
        return None
    return work_session_start(org, user_id, status, team_id)
