"""Writes of the conversation sync (SPEC §4, §5), one module per seam:

- inbox: the durable inbox (record, retry, click-to-call)
- executor: applies a customer's events in order (the lock, the plan, waits and failures)
- placement: the situation a conversation decision is made on
- actions, values: what each planned action does in Kustomer, and the values it writes
- context: what one run of an event carries, and the signals that stop it
- tenant_setup: a tenant's Kustomer set-up and webhook subscription
- mirror: Kustomer webhooks keeping the conversation status mirror
- sweeper: re-queue what was left, purge what is old
- late_files: a file that did not answer, retried on its own (never holds the customer's line)

The names below are the app's public writes; callers outside the app use these.
"""
from conversations.services.executor import event_process
from conversations.services.inbox import (
    body_hash,
    click_to_call_start,
    event_record,
    event_retry,
)
from conversations.services.late_files import late_file_fetch, late_files_waiting
from conversations.services.mirror import (
    webhook_deliveries_sweep,
    webhook_delivery_process,
    webhook_delivery_record,
    webhook_delivery_retry,
    webhook_signature_valid,
)
from conversations.services.sweeper import events_purge, events_sweep
from conversations.services.tenant_setup import webhook_subscription_ensure

__all__ = [
    "body_hash", "click_to_call_start", "event_process", "event_record", "event_retry",
    "events_purge", "late_file_fetch", "late_files_waiting", "events_sweep", "webhook_deliveries_sweep", "webhook_delivery_process",
    "webhook_delivery_record", "webhook_delivery_retry", "webhook_signature_valid", "webhook_subscription_ensure",
]
