"""What a `/v1/` handler gets: the authenticated org, its acting user and the request."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from werkzeug.wrappers import Request

from .store import FULL_ACCESS_ROLES, Org, SandboxState


@dataclass
class ApiContext:
    state: SandboxState
    org: Org
    user_id: str  # the machine user of the API key
    request: Request
    params: dict[str, str]
    body: Any
    base_url: str  # e.g. "http://127.0.0.1:54321", for absolute upload URLs
    emit: Callable[..., None]  # webhooks.WebhookDispatcher.emit
    roles: tuple[str, ...] = FULL_ACCESS_ROLES  # the API key's roles

    @property
    def args(self):
        return self.request.args
