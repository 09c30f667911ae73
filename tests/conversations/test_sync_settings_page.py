"""Settings › Developer settings › Sync settings: the R-O2 close-out hours and the R-O1
pick-the-most-recently-updated choice on a portal form, the same settings as
`GET|PUT /api/v1/sync-settings`."""
from __future__ import annotations

import pytest

from conversations.models import SyncSettings

pytestmark = pytest.mark.django_db
PAGE = "/settings/sync-settings/"


def test_r_o1_r_o2_the_form_shows_the_defaults_and_saves_both_settings(admin_client, tenant, api):
    html = admin_client.get(PAGE).content.decode()
    assert 'name="close_out_after_hours" value="4"' in html and 'name="ambiguous_pick_latest"' in html
    assert 'name="ambiguous_pick_latest" checked' not in html
    response = admin_client.post(PAGE, {"close_out_after_hours": "12", "ambiguous_pick_latest": "on"})
    assert response.status_code == 302
    assert api.get("/api/v1/sync-settings").json() == {"close_out_after_hours": 12, "ambiguous_pick_latest": True}
    html = admin_client.get(response.url).content.decode()
    assert "Sync settings saved." in html and 'value="12"' in html and "checked" in html
    admin_client.post(PAGE, {"close_out_after_hours": "0"})  # unticked: off again; 0: never close out
    saved = SyncSettings.objects.get(tenant=tenant)
    assert (saved.close_out_after_hours, saved.ambiguous_pick_latest) == (0, False)


@pytest.mark.parametrize("hours", ["-1", "721", "soon", ""])
def test_bad_hours_are_refused_next_to_the_field_and_nothing_is_saved(admin_client, tenant, hours):
    response = admin_client.post(PAGE, {"close_out_after_hours": hours, "ambiguous_pick_latest": "on"})
    assert response.status_code == 400
    html = response.content.decode()
    assert 'class="errorlist"' in html and html.index("errorlist") < html.index('name="close_out_after_hours"')
    assert not SyncSettings.objects.filter(tenant=tenant).exists()
