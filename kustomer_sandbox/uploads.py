"""The attachment upload target: an emulation of S3's presigned POST.

`POST /v1/attachments` answers `meta.upload.url` + `meta.upload.fields`; the client then
POSTs multipart/form-data to that URL with every field, then the file last as `file`
(S3 ignores anything after `file`, so a field sent late is missing). Like S3, this
endpoint checks the policy signature and the declared length and answers 204 on
success, or an XML error (400/403) otherwise.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
from datetime import datetime, timedelta, timezone
from typing import Any
from xml.sax.saxutils import escape

from werkzeug.sansio.multipart import Data, Epilogue, Field, File, MultipartDecoder, NeedData
from werkzeug.wrappers import Request, Response

from .store import Org

# Signs upload policies; random per process, like short-lived AWS credentials.
_SIGNING_KEY = os.urandom(32)
UPLOAD_SLACK_BYTES = 64 * 1024  # room for the multipart framing around the file


def upload_fields(org: Org, attachment: dict) -> dict[str, str]:
    attributes = attachment["attributes"]
    now = datetime.now(timezone.utc)
    policy = {
        "expiration": (now + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "conditions": [
            {"bucket": "kustomer-sandbox-attachments"},
            ["content-length-range", attributes["contentLength"], attributes["contentLength"]],
        ],
    }
    encoded_policy = base64.b64encode(json.dumps(policy).encode()).decode()
    return {
        "key": f"attachments/{org.id}/{attachment['id']}-{attributes['name']}",
        "acl": "private",
        "Content-Type": attributes["contentType"],
        "X-Amz-Meta-Attachment-Id": attachment["id"],
        "bucket": "kustomer-sandbox-attachments",
        "X-Amz-Algorithm": "AWS4-HMAC-SHA256",
        "X-Amz-Credential": f"SANDBOX/{now:%Y%m%d}/us-east-1/s3/aws4_request",
        "X-Amz-Date": f"{now:%Y%m%dT%H%M%SZ}",
        "Policy": encoded_policy,
        "X-Amz-Signature": hmac.new(_SIGNING_KEY, encoded_policy.encode(), hashlib.sha256).hexdigest(),
    }


def s3_error(status: int, code: str, message: str) -> Response:
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{escape(code)}</Code><Message>{escape(message)}</Message></Error>"
    )
    return Response(body, status=status, content_type="application/xml")


def parse_presigned_post(request: Request, max_bytes: int) -> tuple[dict[str, str], bytes | None, str | None]:
    """Fields before `file`, the file content (None if absent) and its filename.

    Parsed in stream order with Werkzeug's sans-IO decoder because order matters here.
    """
    content_type = request.mimetype_params.get("boundary")
    if request.mimetype != "multipart/form-data" or not content_type:
        raise ValueError("expected multipart/form-data")
    decoder = MultipartDecoder(content_type.encode(), max_form_memory_size=max_bytes)
    raw = request.stream.read(max_bytes + 1)
    if len(raw) > max_bytes:
        raise OverflowError("upload too large")
    decoder.receive_data(raw)
    decoder.receive_data(None)
    fields: dict[str, str] = {}
    file_content: bytes | None = None
    filename: str | None = None
    current: Any = None
    buffer = bytearray()
    while True:
        event = decoder.next_event()
        if isinstance(event, (NeedData, Epilogue)):
            break
        if isinstance(event, (Field, File)):
            current, buffer = event, bytearray()
        elif isinstance(event, Data):
            buffer += event.data
            if not event.more_data:
                if isinstance(current, File) and current.name == "file":
                    file_content, filename = bytes(buffer), current.filename
                    break  # S3 ignores every part after the file
                if isinstance(current, Field):
                    fields[current.name] = buffer.decode("utf-8", "replace")
    return fields, file_content, filename


def check_upload(attributes: dict[str, Any], expected_fields: dict[str, str], request: Request) -> tuple[Response, bytes | None]:
    """S3's checks of a presigned POST: (answer, accepted content or None).

    Reads the request body, so callers run it outside the state lock.
    """
    try:
        fields, content, _ = parse_presigned_post(request, attributes["contentLength"] + UPLOAD_SLACK_BYTES)
    except OverflowError:
        return s3_error(400, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size"), None
    except ValueError as exc:
        return s3_error(400, "MalformedPOSTRequest", str(exc)), None
    if content is None:
        return s3_error(400, "InvalidArgument", "POST requires exactly one file upload per request."), None
    for name, value in expected_fields.items():
        if name not in fields:
            return s3_error(400, "InvalidArgument", f"Bucket POST must contain a field named '{name}'."), None
        if fields[name] != value:
            if name in ("Policy", "X-Amz-Signature"):
                return s3_error(403, "SignatureDoesNotMatch", "The request signature we calculated does not match"), None
            return s3_error(403, "AccessDenied", f"Invalid according to Policy: Policy Condition failed: {name}"), None
    declared = attributes["contentLength"]
    if len(content) > declared:
        return s3_error(400, "EntityTooLarge", f"Your proposed upload exceeds the maximum allowed size ({declared})"), None
    if len(content) < declared:
        return s3_error(400, "EntityTooSmall", f"Your proposed upload is smaller than the minimum allowed size ({declared})"), None
    return Response(status=204), content
