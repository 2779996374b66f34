"""Junk at ``POST /slack/events`` is refused quietly: 401 when the signature or timestamp is
bad or missing, 400 when a correctly signed body is malformed. Never a 500, never an
"incident" (an ERROR line and ``advisor_errors_total{kind="incident"}``), so nobody can flood
the logs or trip alerts from outside. Signatures as in
https://api.slack.com/authentication/verifying-requests-from-slack.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from typing import Any
from urllib.parse import parse_qsl, urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from slack_bolt.request.internals import parse_body as bolt_parse_body

from adapters.slack import parse
from tests.slack.fake_slack import APP_ID, BOT_USER, TEAM
from tests.slack.harness import CHANNEL, SECRET, USER, Harness, event_callback, mention

JSON, FORM = "application/json", "application/x-www-form-urlencoded"


def sign(body: bytes, timestamp: str, secret: str = SECRET) -> dict[str, str]:
    """Slack's signature headers for ``body``: HMAC-SHA256 of ``v0:{timestamp}:{body}``."""
    base = b"v0:" + timestamp.encode() + b":" + body
    digest = hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": timestamp, "X-Slack-Signature": f"v0={digest}"}


async def post(slack: Harness, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
    """POST raw bytes; (status, response text) once background work has finished."""
    async with slack.session.post(slack.url, data=body, headers=headers) as resp:
        status, text = resp.status, await resp.text()
    await slack.adapter.drain()
    return status, text


def incidents(slack: Harness) -> float:
    """``advisor_errors_total{kind="incident"}`` so far."""
    value = slack.adapter.engine.metrics.registry.get_sample_value(
        "advisor_errors_total", {"kind": "incident"}
    )
    return value or 0.0


def loud(caplog: pytest.LogCaptureFixture) -> list[str]:
    """Log lines above DEBUG, from any logger."""
    return [f"{r.name} {r.levelname}: {r.getMessage()}" for r in caplog.records if r.levelno > 10]


def now() -> str:
    return str(int(time.time()))


def action_payload(**changes: Any) -> bytes:
    """A form-encoded ``block_actions`` request in Slack's shape (a press of the "Django"
    button on an ephemeral answer), with ``changes`` applied to its JSON payload."""
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": {"id": USER, "username": "ada", "name": "ada", "team_id": TEAM},
        "api_app_id": APP_ID,
        "token": "legacy-verification-token",
        "trigger_id": "1.1.xyz",
        "team": {"id": TEAM, "domain": "fake"},
        "enterprise": None,
        "is_enterprise_install": False,
        "container": {
            "type": "message",
            "message_ts": "1700000000.999999",
            "channel_id": CHANNEL,
            "is_ephemeral": True,
        },
        "channel": {"id": CHANNEL, "name": "general"},
        "state": {"values": {}},
        "response_url": "http://127.0.0.1:9/response/unused",
        "actions": [
            {
                "action_id": "advisor:0",
                "block_id": "b1",
                "text": {"type": "plain_text", "text": "Django"},
                "value": "ask:Django",
                "type": "button",
                "action_ts": "1700000001.000001",
            }
        ],
    }
    payload.update(changes)
    return urlencode({"payload": json.dumps(payload)}).encode()


#: The parts of a "Share to channel" press on a channel message (a message with blocks).
SHARE_PRESS: dict[str, Any] = {
    "actions": [
        {"action_id": "advisor:1", "block_id": "b1", "value": "share", "type": "button"},
    ],
    "container": {"type": "message", "message_ts": "1700000000.000001", "channel_id": CHANNEL},
    "message": {
        "type": "message",
        "ts": "1700000000.000001",
        "text": "Flask",
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "Flask"}}],
    },
}

UNSIGNED_JUNK = [
    pytest.param(b'{"type":', JSON, id="truncated-json"),
    pytest.param(b"[1]", JSON, id="json-array"),
    pytest.param(b"null", JSON, id="json-null"),
    pytest.param(b"payload=%7Bnot-json", FORM, id="form-payload-not-json"),
    pytest.param(b"\xff\xfe\x80 not utf-8 \xc3\x28", JSON, id="non-utf8-json"),
    pytest.param(b"\xff\xfe\x80 not utf-8 \xc3\x28", FORM, id="non-utf8-form"),
]


@pytest.mark.parametrize(("body", "content_type"), UNSIGNED_JUNK)
async def test_unsigned_junk_gets_401_and_no_incident(
    slack: Harness, caplog: pytest.LogCaptureFixture, body: bytes, content_type: str
) -> None:
    caplog.set_level(logging.DEBUG)
    status, text = await post(slack, body, {"Content-Type": content_type})
    assert status == 401, text
    assert incidents(slack) == 0
    assert loud(caplog) == []
    assert slack.fake.calls == []


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"command=%2Fpyframework&text=flask", id="slash-command"),
        pytest.param(b'{"type":', id="junk"),
        pytest.param(b"", id="empty"),
    ],
)
@pytest.mark.parametrize("signed", [True, False], ids=["signature-over-abc", "no-signature"])
async def test_a_non_numeric_timestamp_gets_401_and_no_incident(
    slack: Harness, caplog: pytest.LogCaptureFixture, body: bytes, signed: bool
) -> None:
    caplog.set_level(logging.DEBUG)
    headers = sign(body, "abc") if signed else {"X-Slack-Request-Timestamp": "abc"}
    status, text = await post(slack, body, {"Content-Type": FORM, **headers})
    assert status == 401, text
    assert incidents(slack) == 0
    assert loud(caplog) == []


SIGNED_MALFORMED = [
    pytest.param(
        json.dumps(event_callback(mention(f"<@{BOT_USER}> hi")) | {"event": None}).encode(),
        JSON,
        id="event-null",
    ),
    pytest.param(action_payload(actions=[]), FORM, id="actions-empty"),
    pytest.param(action_payload(user=None), FORM, id="user-null"),
    pytest.param(
        action_payload(**SHARE_PRESS | {"message": SHARE_PRESS["message"] | {"blocks": [1]}}),
        FORM,
        id="share-message-blocks-not-objects",
    ),
    pytest.param(b'{"type":', JSON, id="truncated-json"),
    pytest.param(b"[1]", JSON, id="json-array"),
    pytest.param(b"null", JSON, id="json-null"),
    pytest.param(b"payload=%7Bnot-json", FORM, id="form-payload-not-json"),
    pytest.param(b"payload=%5B1%5D", FORM, id="form-payload-array"),
    pytest.param(b"\xff\xfe\x80 not utf-8", JSON, id="non-utf8"),
]


@pytest.mark.parametrize(("body", "content_type"), SIGNED_MALFORMED)
async def test_a_signed_malformed_body_gets_400_and_no_incident(
    slack: Harness, caplog: pytest.LogCaptureFixture, body: bytes, content_type: str
) -> None:
    caplog.set_level(logging.DEBUG)
    status, text = await post(slack, body, {"Content-Type": content_type, **sign(body, now())})
    assert status == 400, text
    assert incidents(slack) == 0
    assert loud(caplog) == []
    assert slack.fake.calls == []


async def test_a_signed_well_formed_press_still_works(slack: Harness) -> None:
    """The control for ``action_payload``: unchanged, the same press is answered."""
    body = action_payload(response_url=slack.fake.response_url())
    status, text = await post(slack, body, {"Content-Type": FORM, **sign(body, now())})
    assert status == 200, text
    assert slack.fake.of("response"), "the press was handled"


HEADER_VALUES = st.one_of(
    st.sampled_from(["abc", "", "0", "-1", "1e9", " 1", "٣٣", "99999999999999999999", now()]),
    st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), max_size=40),
)
BODIES = st.one_of(
    st.binary(max_size=300),
    st.sampled_from([b"null", b"[]", b"{}", b'{"type":"event_callback","event":[]}']),
    st.builds(
        lambda d: json.dumps(d).encode(),
        st.dictionaries(
            st.sampled_from(["type", "event", "actions", "user", "team", "payload", "command"]),
            st.none() | st.integers() | st.text(max_size=5) | st.lists(st.none(), max_size=2),
        ),
    ),
)


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    body=BODIES,
    content_type=st.sampled_from([JSON, FORM, "text/plain", ""]),
    timestamp=HEADER_VALUES,
    signature=HEADER_VALUES,
    really_sign=st.booleans(),
)
async def test_arbitrary_requests_never_get_500_or_count_an_incident(
    slack: Harness,
    body: bytes,
    content_type: str,
    timestamp: str,
    signature: str,
    really_sign: bool,
) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    if really_sign:
        headers |= sign(body, now())
    else:
        headers |= {"X-Slack-Request-Timestamp": timestamp, "X-Slack-Signature": signature}
    before = incidents(slack)
    status, text = await post(slack, body, headers)
    assert status < 500, text
    assert incidents(slack) == before


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=6),
    lambda inner: (
        st.lists(inner, max_size=2) | st.dictionaries(st.text(max_size=4), inner, max_size=2)
    ),
    max_leaves=4,
)
#: Where a signed payload gets a value of the wrong shape. Not ``response_url``: a reply that
#: cannot be delivered after the ack is a real incident, whatever the request looked like.
EVENT_PATHS: list[tuple[str | int, ...]] = [
    ("event",),
    *(("event", k) for k in ("type", "user", "text", "channel", "ts", "thread_ts", "subtype")),
    *(("event", k) for k in ("channel_type", "bot_id", "team", "message", "tab")),
    ("type",),
    ("team_id",),
    ("event_id",),
    ("enterprise",),
    ("is_ext_shared_channel",),
    ("authorizations",),
    ("authorizations", 0),
    ("authorizations", 0, "team_id"),
    ("authorizations", 0, "user_id"),
]
ACTION_PATHS: list[tuple[str | int, ...]] = [
    *((k,) for k in ("type", "user", "team", "channel", "container", "message", "actions")),
    *((k,) for k in ("enterprise", "state", "view", "trigger_id", "api_app_id")),
    ("user", "id"),
    ("team", "id"),
    ("channel", "id"),
    ("container", "is_ephemeral"),
    ("container", "channel_id"),
    ("actions", 0),
    *(("actions", 0, k) for k in ("action_id", "value", "block_id", "type")),
]
#: A Share press on a channel message carries that message; its blocks are re-posted as they
#: are (bad block content is Slack's to reject, after the ack), so only the rest is varied.
SHARE_PATHS: list[tuple[str | int, ...]] = [
    ("message",),
    *(("message", k) for k in ("text", "ts", "thread_ts", "type", "user")),
    ("container", "is_ephemeral"),
]


def replaced(payload: Any, path: tuple[str | int, ...], value: Any) -> Any:
    """``payload`` with the value at ``path`` (keys and list indexes) set to ``value``."""
    target = payload
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    return payload


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(kind=st.sampled_from(["event", "action", "share"]), data=st.data())
async def test_signed_payloads_with_a_field_of_the_wrong_shape_never_get_500(
    slack: Harness, kind: str, data: st.DataObject
) -> None:
    if kind == "event":
        path = data.draw(st.sampled_from(EVENT_PATHS))
        payload = event_callback(mention(f"<@{BOT_USER}> flask vs django"))
        body = json.dumps(replaced(payload, path, data.draw(JSON_VALUES))).encode()
        content_type = JSON
    else:
        path = data.draw(st.sampled_from(ACTION_PATHS if kind == "action" else SHARE_PATHS))
        raw = action_payload(response_url=slack.fake.response_url())
        payload = json.loads(dict(parse_qsl(raw.decode()))["payload"])
        if kind == "share":
            payload.update(SHARE_PRESS)
        value = data.draw(JSON_VALUES)
        body = urlencode({"payload": json.dumps(replaced(payload, path, value))}).encode()
        content_type = FORM
    before = incidents(slack)
    status, text = await post(slack, body, {"Content-Type": content_type, **sign(body, now())})
    assert status in (200, 400, 404), text
    assert incidents(slack) == before


@settings(max_examples=300, deadline=None)
@given(
    text=st.one_of(
        st.text(max_size=60),
        st.builds(lambda v: json.dumps(v), JSON_VALUES),
        st.builds(lambda v: urlencode({"payload": json.dumps(v)}), JSON_VALUES),
        st.builds(lambda v: "payload=" + v, st.text(max_size=20)),
    ),
    content_type=st.sampled_from([JSON, f"{JSON}; charset=utf-8", FORM, "text/plain", ""]),
)
def test_decode_body_reads_a_body_as_bolt_does_or_refuses_it(text: str, content_type: str) -> None:
    """:func:`parse.decode_body` is the check in front of bolt's own parser: what it accepts,
    bolt reads the same way; what it refuses, bolt would have choked on (or read as a
    non-object, which bolt's listeners cannot use)."""
    try:
        ours: dict[str, Any] | None = parse.decode_body(text, content_type)
    except ValueError:
        ours = None
    try:
        bolts = bolt_parse_body(text, content_type.split(";")[0] or None)
    except ValueError:
        bolts = None
    if ours is None:
        assert not isinstance(bolts, dict)
    else:
        assert bolts == ours


@pytest.mark.parametrize("text", ["what payload size can flask take", "payload", "max payload?"])
async def test_a_slash_command_saying_payload_is_answered(slack: Harness, text: str) -> None:
    # bolt reads any form body containing "payload" as an interaction and finds no payload
    # field, so the command got a 404 and no answer.
    ack = await slack.command(text)
    assert ack.get("blocks") and ack["text"], ack
