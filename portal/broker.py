"""The single-machine broker: kombu's SQLAlchemy transport on an SQLite file, made fit
for a demo day.

Measured against `make simulate` (200 events at 10/s), kombu's stock transport applied
0.8-1.2 events/s, for two reasons of its own:
- a virtual transport sleeps `polling_interval` (1 s) whenever it finds nothing it may
  take, and with prefetch 1 and late acks it finds nothing after every task (its one
  slot is taken until the ack): about a second lost per task;
- a delivered message is only marked invisible, never deleted, so the table and every
  poll's scan grow all day.
Here the poll sleeps 50 ms (configurable) and a delivered message is deleted: the
worker's in-memory unacked set restores it on a warm shutdown as before, and an
invisible row was never read again anyway. And on a fresh machine the worker, beat and
web server create the queue's row at once: the loser of that race reads the winner's
row instead of dying on the unique constraint.

Selected for every ``sqla+`` broker URL (portal/celery.py registers the alias).
"""
from __future__ import annotations

from kombu.transport import sqlalchemy as kombu_sqlalchemy
from kombu.transport.virtual import Empty
from kombu.utils.json import loads
from kombu.utils.encoding import bytes_to_str
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

POLLING_INTERVAL_SECONDS = 0.05


class Channel(kombu_sqlalchemy.Channel):
    def _engine_from_config(self):
        options = self.connection.client.transport_options
        if "polling_interval" not in options:
            return super()._engine_from_config()
        # kombu hands every transport option to create_engine; this one is the poller's.
        saved = options.pop("polling_interval")
        try:
            return super()._engine_from_config()
        finally:
            options["polling_interval"] = saved

    def _get_or_create(self, queue):
        try:
            return super()._get_or_create(queue)
        except IntegrityError:
            self.session.rollback()
            return self.session.query(self.queue_cls).filter(self.queue_cls.name == queue).one()

    def _get(self, queue):
        obj = self._get_or_create(queue)
        if self.session.bind.name == "sqlite":
            self.session.execute(text("BEGIN IMMEDIATE TRANSACTION"))
        try:
            msg = (
                self.session.query(self.message_cls)
                .filter(self.message_cls.queue_id == obj.id)
                .filter(self.message_cls.visible != False)  # noqa: E712 - SQLAlchemy expression
                .order_by(self.message_cls.sent_at)
                .order_by(self.message_cls.id)
                .limit(1)
                .first()
            )
            if msg is None:
                raise Empty()
            payload = loads(bytes_to_str(msg.payload))
            self.session.delete(msg)
            return payload
        finally:
            self.session.commit()


class Transport(kombu_sqlalchemy.Transport):
    Channel = Channel
    polling_interval = POLLING_INTERVAL_SECONDS
