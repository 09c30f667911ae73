"""URLs the backend fetches are checked first (SPEC §5, no SSRF)."""
from __future__ import annotations

import pytest
import responses

from conversations.fetch import FetchError, FetchPolicy, check_url, fetch_file

PUBLIC = FetchPolicy()


def resolver(address):
    return lambda host, port: [address]


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://x.example.com/a", "gopher://x", "//x", "x"])
def test_only_http_and_https(url):
    with pytest.raises(FetchError):
        check_url(url, PUBLIC, resolve=resolver("93.184.216.34"))


@pytest.mark.parametrize("address", ["127.0.0.1", "::1", "10.0.0.5", "172.16.1.1", "192.168.1.1", "169.254.169.254",
                                     "fe80::1", "0.0.0.0", "::ffff:127.0.0.1", "100.64.0.1", "224.0.0.1"])
def test_private_addresses_refused_by_default(address):
    with pytest.raises(FetchError, match="non-public"):
        check_url("https://files.example.com/r.mp3", PUBLIC, resolve=resolver(address))


def test_private_allowed_when_the_operator_allows():
    check_url("http://127.0.0.1:9000/r.mp3", FetchPolicy(allow_private=True), resolve=resolver("127.0.0.1"))


def test_public_address_passes():
    check_url("https://files.example.com/r.mp3", PUBLIC, resolve=resolver("93.184.216.34"))


def test_allow_list_of_hosts():
    policy = FetchPolicy(allowed_hosts=("*.ccaas.example", "recordings.example.com"))
    check_url("https://eu.ccaas.example/a", policy, resolve=resolver("93.184.216.34"))
    check_url("https://recordings.example.com/a", policy, resolve=resolver("93.184.216.34"))
    with pytest.raises(FetchError, match="allowed list"):
        check_url("https://evil.example.org/a", policy, resolve=resolver("93.184.216.34"))


def test_credentials_in_url_refused():
    with pytest.raises(FetchError):
        check_url("https://user:pw@files.example.com/a", PUBLIC, resolve=resolver("93.184.216.34"))


@responses.activate
def test_size_cap_and_redirect_recheck(monkeypatch):
    monkeypatch.setattr("conversations.fetch._resolve", lambda host, port: ["93.184.216.34"] if host != "internal" else ["10.0.0.1"])
    responses.add(responses.GET, "https://files.example.com/big", body=b"x" * 2000)
    with pytest.raises(FetchError, match="limit"):
        fetch_file("https://files.example.com/big", policy=FetchPolicy(max_bytes=1000))
    responses.add(responses.GET, "https://files.example.com/hop", status=302, headers={"Location": "http://internal/x"})
    with pytest.raises(FetchError, match="non-public"):
        fetch_file("https://files.example.com/hop", policy=FetchPolicy())
    responses.add(responses.GET, "https://files.example.com/ok", body=b"abc", content_type="audio/mpeg")
    got = fetch_file("https://files.example.com/ok", policy=FetchPolicy())
    assert got.content == b"abc" and got.content_type == "audio/mpeg"
    responses.add(responses.GET, "https://files.example.com/gone", status=404)
    with pytest.raises(FetchError) as exc:
        fetch_file("https://files.example.com/gone", policy=FetchPolicy())
    assert exc.value.retryable is False
    responses.add(responses.GET, "https://files.example.com/busy", status=503)
    with pytest.raises(FetchError) as exc:
        fetch_file("https://files.example.com/busy", policy=FetchPolicy())
    assert exc.value.retryable is True
