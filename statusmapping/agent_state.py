"""The agent's status state as the status engine reads and writes it: one read, then one
compare-and-set that stores the new state and the history record together.

Why not a row lock: `SELECT … FOR UPDATE` inside a transaction costs four round trips
to PostgreSQL (BEGIN, the lock, the writes, COMMIT) on the hottest endpoint of the
product. Instead the decision is made on a plain read, and the write succeeds only if
the agent's state is still exactly what the decision read:

    WITH moved AS (UPDATE agent SET <new state> WHERE id = … AND <state> = <as read>
                   RETURNING id)
    INSERT INTO statuschange (…) SELECT …, moved.id FROM moved

One statement, so PostgreSQL runs it atomically in autocommit. If another change of the
same agent committed in between (another event, the watcher, a two-way push recording
what it sent), the UPDATE matches nothing, nothing is inserted, and the caller reads
again and decides again: concurrent events of one agent are decided one after the other
on the latest state and none is lost. A repeated event id fails on the history's unique
key, and the statement's UPDATE goes with it.

Other databases (SQLite, for `make run`) do the same compare-and-set as an UPDATE and an
INSERT in one transaction.
"""
from __future__ import annotations

import dataclasses
from contextlib import nullcontext
from datetime import datetime
from functools import cache

import psycopg
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.models import F

from statusmapping.models import AdapterInstance, Agent, StatusChange


@dataclasses.dataclass(frozen=True, slots=True)
class AgentRow:
    """An agent's id and the columns a status decision depends on (attribute names as
    on `Agent`, so the engine reads either)."""

    id: int
    cc_status_id: int | None
    cc_status_at: datetime | None
    kustomer_status_id: str
    kustomer_status_at: datetime | None
    held_cc_status_id: int | None
    held_kustomer_status_id: str
    held_at: datetime | None
    push_kustomer_status_id: str
    kustomer_choice_id: str | None
    flap_window_at: datetime | None
    flap_changes: int
    damped_until: datetime | None
    damped_cc_status_id: int | None
    damped_kustomer_status_id: str


#: The compared and written columns (every field of AgentRow but the id).
STATE_FIELDS: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(AgentRow) if f.name != "id")


def agent_row_read(*, tenant_id: int, email: str, live_since: datetime | None = None
                   ) -> tuple[AgentRow | None, set[str]]:
    """The agent's state now (no lock), or None for an unknown email; with `live_since`,
    also the ids of their adapter instances seen since then (R-S6), in the same read."""
    db = connections[DEFAULT_DB_ALIAS]  # once: each `connection.x` is a context-local lookup
    if db.vendor == "postgresql":
        if live_since is None:
            row = _prepared_fetchone(db, _sql()["read"], [tenant_id, email])
        else:
            row = _prepared_fetchone(db, _sql()["read_live"], [live_since, tenant_id, email])
        if row is None:
            return None, set()
        return AgentRow(*row[:len(STATE_FIELDS) + 1]), set(row[len(STATE_FIELDS) + 1] or ()) if live_since else set()
    row = Agent.objects.filter(tenant_id=tenant_id, email=email).values_list("id", *STATE_FIELDS).first()
    if row is None:
        return None, set()
    live: set[str] = set()
    if live_since is not None:
        live = set(AdapterInstance.objects.filter(agent_id=row[0], last_seen_at__gte=live_since)
                   .values_list("instance_id", flat=True))
    return AgentRow(*row), live


def agent_change_commit(*, read: AgentRow, new: AgentRow, push_requested_at: datetime | None,
                        updated_at: datetime, change: StatusChange) -> bool:
    """Store `new` as the agent's state and insert `change` (its history record), only if
    the state is still `read`. False: it moved on, nothing was written (decide again).
    Raises IntegrityError when `change.event_id` is already recorded (nothing written)."""
    change.agent_id = read.id
    changed = new != read
    db = connections[DEFAULT_DB_ALIAS]
    if db.vendor != "postgresql":
        with transaction.atomic():
            values = {name: getattr(new, name) for name in STATE_FIELDS} if changed else {}
            if push_requested_at is not None:
                values["push_requested_at"] = push_requested_at
            if values:
                values["updated_at"] = updated_at
            moved = Agent.objects.filter(
                pk=read.id, **{name: getattr(read, name) for name in STATE_FIELDS}
            ).update(**(values or {"updated_at": F("updated_at")}))  # unchanged: still claim the row
            if not moved:
                return False
            change.save(force_insert=True)
        return True
    sql = _sql()
    params: list = [getattr(new, name) for name in STATE_FIELDS]
    params += [push_requested_at is not None, push_requested_at, changed, updated_at, read.id]
    params += [getattr(read, name) for name in STATE_FIELDS]
    params += [field.get_db_prep_save(field.pre_save(change, add=True), db) for field in _change_fields()]
    # Inside an outer transaction (tests, a caller's atomic block) a failed statement
    # would abort it: a savepoint keeps the failure to this statement. In autocommit,
    # as on the request path, the statement is its own transaction.
    with transaction.atomic() if db.in_atomic_block else nullcontext():
        row = _prepared_fetchone(db, sql["commit"], params)
    if row is None:
        return False
    change.pk = row[0]
    change._state.adding = False
    change._state.db = db.alias
    return True


def _prepared_fetchone(db, sql: str, params: list):
    """Run one of this module's statements as a server-side prepared statement.

    Django's cursors bind parameters on the client: PostgreSQL then parses and plans
    each statement anew, with its values spelled out as literals. These two statements
    run on every status event, so they go through a server-side binding cursor of the
    same connection (same transaction), which psycopg prepares once per connection."""
    db.ensure_connection()
    with db.wrap_database_errors, psycopg.Cursor(db.connection) as cursor:
        cursor.execute(sql, params, prepare=True)
        return cursor.fetchone()


@cache
def _change_fields() -> tuple:
    # Every stored column of StatusChange but the id and the agent (taken from `moved`),
    # in the order of the INSERT in _sql(). Once per process, not once per event.
    return tuple(f for f in StatusChange._meta.concrete_fields if not f.primary_key and f.attname != "agent_id")


@cache
def _sql() -> dict[str, str]:
    qn = connections[DEFAULT_DB_ALIAS].ops.quote_name
    agent, change = Agent._meta, StatusChange._meta
    columns = {f.attname: qn(f.column) for f in agent.concrete_fields}
    column = {name: columns[name] for name in STATE_FIELDS}
    change_fields = _change_fields()
    select = f"SELECT {qn(agent.pk.column)}, {', '.join(column[n] for n in STATE_FIELDS)}"
    where = (f"FROM {qn(agent.db_table)} "
             f"WHERE {qn(agent.get_field('tenant').column)} = %s AND {qn(agent.get_field('email').column)} = %s")
    instance = AdapterInstance._meta
    live = (
        f"ARRAY(SELECT {qn(instance.get_field('instance_id').column)} FROM {qn(instance.db_table)} "
        f"WHERE {qn(instance.get_field('agent').column)} = {qn(agent.db_table)}.{qn(agent.pk.column)} "
        f"AND {qn(instance.get_field('last_seen_at').column)} >= %s)"
    )
    push_at, updated = qn(agent.get_field("push_requested_at").column), qn(agent.get_field("updated_at").column)
    commit = (
        f"WITH moved AS ("
        f"UPDATE {qn(agent.db_table)} SET {', '.join(f'{column[n]} = %s' for n in STATE_FIELDS)}, "
        f"{push_at} = CASE WHEN %s THEN %s ELSE {push_at} END, "
        f"{updated} = CASE WHEN %s THEN %s ELSE {updated} END "
        f"WHERE {qn(agent.pk.column)} = %s AND "
        + " AND ".join(f"{column[n]} IS NOT DISTINCT FROM %s" for n in STATE_FIELDS)
        + f" RETURNING {qn(agent.pk.column)}) "
        f"INSERT INTO {qn(change.db_table)} ({', '.join(qn(f.column) for f in change_fields)}, "
        f"{qn(change.get_field('agent').column)}) "
        f"SELECT {', '.join('%s' for _ in change_fields)}, moved.{qn(agent.pk.column)} FROM moved "
        f"RETURNING {qn(change.pk.column)}"
    )
    return {"read": f"{select} {where}", "read_live": f"{select}, {live} {where}", "commit": commit}
