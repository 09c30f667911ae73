"""Attachments: create -> presigned POST upload (fields, then `file` last) -> reference."""
import pytest
import requests

from .helpers import assert_kustomer_error, assert_openapi_response

CONTENT = b"RIFF....WAVEfmt recording bytes"


@pytest.fixture
def attachment(kapi):
    response = kapi.post(
        kapi.url("/attachments"), json={"name": "recording.wav", "contentType": "audio/wav", "contentLength": len(CONTENT)},
    )
    assert response.status_code == 201, response.text
    return assert_openapi_response(response, "POST", "/attachments")


def _upload(upload: dict, content: bytes, *, fields: dict | None = None, file_first: bool = False) -> requests.Response:
    fields = upload["fields"] if fields is None else fields
    parts = [(name, (None, value)) for name, value in fields.items()]
    file_part = ("file", ("recording.wav", content, "audio/wav"))
    parts = [file_part, *parts] if file_first else [*parts, file_part]
    return requests.post(upload["url"], files=parts, timeout=5)


@pytest.fixture
def conversation_id(kapi):
    customer_id = kapi.post(kapi.url("/customers"), json={"name": "Ann"}).json()["data"]["id"]
    return kapi.post(kapi.url(f"/customers/{customer_id}/conversations"), json={}).json()["data"]["id"]


def test_create_answers_a_presigned_post(attachment, sandbox_org):
    data, upload = attachment["data"], attachment["meta"]["upload"]

    assert data["type"] == "attachment"
    assert data["attributes"] == {
        "name": "recording.wav", "contentType": "audio/wav", "contentLength": len(CONTENT),
        "uploaded": False, "redacted": False, "createdAt": data["attributes"]["createdAt"],
    }
    assert upload["url"] == f"{sandbox_org.base_url}/__uploads/{data['id']}"
    assert upload["fields"]["X-Amz-Meta-Attachment-Id"] == data["id"]
    assert upload["fields"]["Content-Type"] == "audio/wav"


def test_upload_with_every_field_then_the_file_stores_the_content(kapi, attachment, sandbox_org):
    response = _upload(attachment["meta"]["upload"], CONTENT)

    assert response.status_code == 204
    fetched = kapi.get(kapi.url(f"/attachments/{attachment['data']['id']}"))
    assert assert_openapi_response(fetched, "GET", "/attachments/{id}")["data"]["attributes"]["uploaded"] is True
    assert sandbox_org.attachment_content(attachment["data"]["id"]) == CONTENT


@pytest.mark.parametrize(("content", "code"), [(CONTENT + b"!", "EntityTooLarge"), (CONTENT[:-1], "EntityTooSmall")])
def test_upload_must_match_the_declared_length(kapi, attachment, content, code):
    response = _upload(attachment["meta"]["upload"], content)

    assert response.status_code == 400
    assert f"<Code>{code}</Code>" in response.text
    assert kapi.get(kapi.url(f"/attachments/{attachment['data']['id']}")).json()["data"]["attributes"]["uploaded"] is False


def test_fields_after_the_file_are_ignored_like_s3(attachment):
    response = _upload(attachment["meta"]["upload"], CONTENT, file_first=True)

    assert response.status_code == 400
    assert "must contain a field named" in response.text


def test_upload_with_a_missing_or_altered_field_is_refused(attachment):
    fields = dict(attachment["meta"]["upload"]["fields"])
    altered = {**fields, "Policy": fields["Policy"][:-2] + "xx"}
    missing = {k: v for k, v in fields.items() if k != "key"}

    assert _upload(attachment["meta"]["upload"], CONTENT, fields=altered).status_code == 403
    assert _upload(attachment["meta"]["upload"], CONTENT, fields=missing).status_code == 400


def test_attachment_id_can_be_referenced_in_a_message(kapi, attachment, conversation_id):
    _upload(attachment["meta"]["upload"], CONTENT)
    attachment_id = attachment["data"]["id"]

    response = kapi.post(
        kapi.url(f"/conversations/{conversation_id}/messages"),
        json={"channel": "voice", "app": "ccaip", "preview": "Recording", "attachments": [attachment_id]},
    )

    assert response.status_code == 201, response.text
    related = response.json()["data"]["relationships"]["attachments"]["data"]
    assert related == [{"type": "attachment", "id": attachment_id}]


def test_note_references_attachments_as_objects(kapi, attachment, conversation_id):
    """The file's note schema takes {_id, name, contentType, contentLength} objects only."""
    attributes = attachment["data"]["attributes"]
    as_object = {"_id": attachment["data"]["id"], "name": attributes["name"],
                 "contentType": attributes["contentType"], "contentLength": attributes["contentLength"]}
    url = kapi.url(f"/conversations/{conversation_id}/notes")

    assert kapi.post(url, json={"body": "Transcript", "attachments": [as_object]}).status_code == 201
    assert_kustomer_error(kapi.post(url, json={"body": "Transcript", "attachments": [attachment["data"]["id"]]}), 400, "badparam")


def test_unknown_attachment_id_is_rejected(kapi, conversation_id):
    response = kapi.post(
        kapi.url(f"/conversations/{conversation_id}/messages"),
        json={"channel": "voice", "app": "ccaip", "attachments": ["5f0c8a1b2c3d4e5f6a7b8c9d"]},
    )

    assert_kustomer_error(response, 400, "badparam", "attachments")


def test_attachment_create_needs_name_type_and_length(kapi):
    response = kapi.post(kapi.url("/attachments"), json={"name": "a.txt", "contentType": "text/plain"})

    assert_kustomer_error(response, 400, "badparam", "contentLength")
