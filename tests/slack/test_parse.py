"""Translating Slack payloads: keys, destinations, what is ignored, escapes."""

from __future__ import annotations

from typing import Any

import pytest

from adapters.slack import parse
from adapters.slack.render import owner_block_id
from bot.replies import Choice, Reply, fold_notices
from tests.slack.fake_slack import BOT_USER
from tests.slack.harness import mention, message


@pytest.mark.parametrize(
    ("event", "ignored"),
    [
        (message("hi"), False),
        (message("hi", subtype="thread_broadcast"), False),
        (message("hi", subtype="file_share"), False),
        (message("hi", subtype="message_changed"), True),
        (message("hi", subtype="message_deleted"), True),
        (message("hi", subtype="bot_message"), True),
        (message("hi", bot_id="B0OTHER"), True),
        (message("hi", user=BOT_USER), True),
        ({"type": "message", "text": "no user", "ts": "1.2", "channel": "C1"}, True),
    ],
)
def test_ignored(event: dict[str, Any], ignored: bool) -> None:
    assert parse.ignored(event, BOT_USER) is ignored


def test_a_top_level_mention_starts_a_thread_named_by_its_ts() -> None:
    event = mention(f"<@{BOT_USER}> hi")
    key = parse.event_key("T1", event)
    assert (key.platform, key.workspace, key.thread) == ("slack", "T1", event["ts"])
    assert parse.event_destination(event).thread_ts == event["ts"]


def test_a_reply_in_a_thread_belongs_to_that_thread() -> None:
    event = message("2", thread_ts="1700.1")
    assert parse.event_key("T1", event).thread == "1700.1"


def test_a_dm_is_one_conversation() -> None:
    event = message("2", channel="D123", channel_type="im", thread_ts="1700.1")
    assert parse.event_key("T1", event).thread == ""
    assert parse.event_destination(event).thread_ts == ""


def test_slack_escapes_are_undone_for_the_core() -> None:
    assert parse.plain("&lt;b&gt; &amp;lt; <@U1>") == "<b> &lt; <@U1>"


def test_owner_round_trips_through_the_block_id() -> None:
    assert parse.block_owner(owner_block_id("U0ABC123", 2)) == "U0ABC123"
    assert parse.block_owner("advisor:not-a-user:0") == ""
    assert parse.block_owner("Xyz12") == ""


@pytest.mark.parametrize(
    ("text", "mentioned"),
    [(f"<@{BOT_USER}> hi", True), (f"hey <@{BOT_USER}|advisor>", True), ("hi", False)],
)
def test_mentions(text: str, mentioned: bool) -> None:
    assert parse.mentions(text, BOT_USER) is mentioned


def test_command_words() -> None:
    assert parse.command_words("  Recommend  an API ") == ("recommend", "an API")
    assert parse.command_words("") == ("", "")


def test_a_lead_in_notice_travels_with_its_question() -> None:
    lead = Reply(intent="recommend", kind="notice", paragraphs=("From what you said: API.",))
    question = Reply(
        intent="recommend", kind="question", title="Q2", choices=(Choice(label="A", value="a"),)
    )
    [merged] = fold_notices([lead, question])
    assert merged.notices == ("From what you said: API.",) and merged.title == "Q2"
    assert fold_notices([lead]) == [lead], "a notice alone is kept"
