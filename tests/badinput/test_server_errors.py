"""An unexpected error on an API or webhook URL still answers in the contract's shape
(`{"detail", "errors"}` with 500), so a client can always parse what it gets; the
portal's pages keep Django's HTML error page. (The fault suite found the HTML 500 when
the broker was down: `POST /api/v1/events` answered Django's HTML page.)"""
import pytest
from django.test import Client
from django.urls import path

from portal.urls import handler500  # noqa: F401 - this module is the URLconf of the test
from portal.urls import urlpatterns as product_urlpatterns


def _boom(request):
    raise RuntimeError("an unexpected failure")


urlpatterns = [path("api/v1/boom", _boom), path("webhooks/boom", _boom), path("boom", _boom), *product_urlpatterns]


@pytest.mark.urls("tests.badinput.test_server_errors")
@pytest.mark.parametrize("url", ["/api/v1/boom", "/webhooks/boom"])
def test_a_500_on_api_urls_is_json_in_the_contract_shape(db, url):
    response = Client(raise_request_exception=False).post(url)
    assert response.status_code == 500
    assert response.json() == {"detail": "Internal server error.", "errors": {}}


@pytest.mark.urls("tests.badinput.test_server_errors")
def test_a_500_on_pages_stays_html(db):
    response = Client(raise_request_exception=False).get("/boom")
    assert response.status_code == 500 and "text/html" in response["Content-Type"]
