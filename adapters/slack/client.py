"""The Slack Web API client the adapter posts with, and slack-sdk's retry handlers, which
the adapter's ``response_url`` webhooks share.
"""

from __future__ import annotations

from typing import Any

from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient


def retry_handlers() -> list[AsyncRetryHandler]:
    """slack-sdk's retry handlers for connection errors and HTTP 429 (honours Retry-After).
    The rate-limit handler is not on by default."""
    return [
        AsyncConnectionErrorRetryHandler(max_retry_count=2),
        AsyncRateLimitErrorRetryHandler(max_retry_count=3),
    ]


def web_client(token: str, base_url: str = "") -> AsyncWebClient:
    """An ``AsyncWebClient`` for ``token`` with :func:`retry_handlers`; ``base_url`` (ending in
    "/") points it somewhere other than https://slack.com/api/."""
    kwargs: dict[str, Any] = {"base_url": base_url} if base_url else {}
    return AsyncWebClient(token=token, retry_handlers=retry_handlers(), **kwargs)
