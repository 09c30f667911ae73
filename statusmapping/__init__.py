"""Agent status inheritance (SPEC §3): Kustomer user statuses → contact-center agent
statuses, and back for two-way sync.

Public functions other apps may call:
- `selectors.agent_get_by_email(*, tenant, email) -> Agent | None` (email any case).
- `selectors.agent_list(*, tenant)`, `selectors.inheritance_settings_get(*, tenant)`.
- `services.agent_create(*, tenant, email, name="")`.
- `services.agent_status_change_record(*, tenant, event_id, source, agent_email,
  occurred_at, kustomer_status_id="", status="", kind="manual", instance_id="", ...)`:
  the one entry of every status change (the API, the watcher and sign-in use it).
- `services.status_inheritance_availability_set(*, tenant, available, changed_by="")`
  (support staff, R-S1 step 1).

Sign-in (R-S8): the contact center reports an agent signing in as a status event with
`"source": "contact_center", "kind": "sign_in", "status": "<their CC status>"`. With
*Inherit status on login* on, the agent's current Kustomer work-session status is then
read (in a task) and applied as the agent's status.
"""
