"""The Slack adapter end to end: signed HTTP requests in Slack's shapes into the real bolt app,
Web API calls out to a fake Slack on 127.0.0.1."""

from __future__ import annotations

import json
import logging
import re
import time
from typing import Any

import pytest

from bot.replies import Field, Reply
from tests.slack.fake_slack import BOT_ID, BOT_USER, Call, block_problems
from tests.slack.harness import (
    CHANNEL,
    OTHER,
    SECRET,
    USER,
    Harness,
    buttons,
    event_callback,
    mention,
    message,
    slash,
)


def header(params: dict[str, Any]) -> str:
    return next((b["text"]["text"] for b in params.get("blocks", []) if b["type"] == "header"), "")


def labels(call: Call) -> list[str]:
    return [label for label, _, _ in buttons(call)]


def as_call(ack: dict[str, Any]) -> Call:
    """An ephemeral ack seen as a recorded response, so its buttons can be pressed."""
    return Call("response", ack)


# ---- slash command --------------------------------------------------------------------------


async def test_help_lists_usage_in_an_ephemeral_ack(slack: Harness) -> None:
    ack = await slack.command("help")
    assert ack["response_type"] == "ephemeral"
    text = json.dumps(ack["blocks"])
    assert "/pyframework flask vs pyramid" in text and "/pyframework recommend" in text
    assert "Share to channel" not in labels(as_call(ack))
    assert block_problems(ack["blocks"]) == []
    assert slack.posted() == []


async def test_compare_comes_back_inside_the_ack_with_a_share_button(slack: Harness) -> None:
    ack = await slack.command("flask vs pyramid")
    assert ack["response_type"] == "ephemeral"
    assert "Flask" in header(ack) and "Pyramid" in header(ack)
    assert "2010" in json.dumps(ack["blocks"])  # Flask's year is in the comparison table
    assert "Share to channel" in labels(as_call(ack))
    assert ack["text"], "a fallback text is always set"
    assert slack.posted() == []


async def test_about_answers_the_question(slack: Harness) -> None:
    ack = await slack.command("what event loop does sanic use")
    assert "Sanic" in header(ack)
    assert "uvloop" in json.dumps(ack["blocks"])


async def test_share_posts_the_answer_to_the_channel_saying_who_shared(slack: Harness) -> None:
    ack = await slack.command("flask vs pyramid")
    assert await slack.press(as_call(ack), "Share to channel") == 200
    [post] = slack.fake.of("chat.postMessage")
    assert post.params["channel"] == CHANNEL and "thread_ts" not in post.params
    assert f"Shared by <@{USER}>" in json.dumps(post.params["blocks"])
    assert "Flask" in header(post.params)
    assert labels(post) == [], "the shared copy has no buttons"
    assert "Shared to the channel" in slack.fake.of("response")[-1].params["text"]


# ---- the selection flow through buttons -----------------------------------------------------


async def answer_all(slack: Harness, user: str = USER) -> Call:
    """Press the first option of every question until the recommendation; return it."""
    for _ in range(12):
        last = slack.posted()[-1]
        if header(last.params) == "My recommendation":
            return last
        first_option = next(
            label for label, button, _ in buttons(last) if button["value"].startswith("answer:")
        )
        before = len(slack.posted())
        assert await slack.press(last, first_option, user=user) == 200
        update = slack.posted()[before]
        assert update.method == "chat.update" and update.params["ts"] == last.params["_ts"]
    raise AssertionError("no recommendation after 12 answers")


async def test_recommend_runs_the_flow_in_a_thread_with_buttons_updated_in_place(
    slack: Harness,
) -> None:
    ack = await slack.command("recommend an API for a mobile app")
    assert ack == {}, "the flow is public; the ack itself shows nothing"
    starter, question = slack.posted()
    assert starter.params["channel"] == CHANNEL and "thread_ts" not in starter.params
    assert f"<@{USER}>" in starter.params["text"]
    assert question.params["thread_ts"] == starter.params["_ts"]
    assert "Skip" in labels(question)

    result = await answer_all(slack)
    assert result.params["_ts"] == question.params["_ts"], "one message, updated in place"
    assert "% match" in json.dumps(result.params["blocks"])
    assert {"What if…", "Compare top two", "Share to channel"} <= set(labels(result))

    # Follow-ups go to new messages in the thread; the recommendation stays.
    before = len(slack.posted())
    await slack.press(result, "Compare top two")
    compare = slack.posted()[before]
    assert compare.method == "chat.postMessage"
    assert compare.params["thread_ts"] == starter.params["_ts"]

    await slack.press(result, "Share to channel")
    shared = slack.posted()[-1]
    assert shared.method == "chat.postMessage" and "thread_ts" not in shared.params
    assert f"Shared by <@{USER}>" in json.dumps(shared.params["blocks"])
    assert header(shared.params) == "My recommendation" and labels(shared) == []


async def test_someone_else_cannot_answer_a_flow(slack: Harness) -> None:
    await slack.command("recommend")
    question = slack.posted()[-1]
    option = labels(question)[0]
    await slack.press(question, option, user=OTHER)
    note = slack.fake.of("response")[-1]
    assert f"belongs to <@{USER}>" in note.params["text"]
    assert "/pyframework recommend" in note.params["text"]
    assert slack.fake.of("chat.update") == []


async def test_back_button_goes_back_in_place(slack: Harness) -> None:
    await slack.command("recommend")
    first = slack.posted()[-1]
    await slack.press(first, labels(first)[0])
    second = slack.posted()[-1]
    assert "Back" in labels(second)
    await slack.press(second, "Back")
    again = slack.posted()[-1]
    assert again.method == "chat.update" and header(again.params) == header(first.params)


async def test_recommend_in_a_dm_runs_in_the_dm_and_typed_answers_continue(slack: Harness) -> None:
    dm = "D" + USER[1:]
    await slack.command("recommend", channel=dm)
    question = slack.posted()[-1]
    assert question.params["_channel"] == dm and "thread_ts" not in question.params
    await slack.event(message("1", channel=dm, channel_type="im"))
    assert header(slack.posted()[-1].params) != header(question.params)


async def test_not_in_channel_offers_a_dm_and_the_dm_runs_the_flow(slack: Harness) -> None:
    slack.fake.failures["chat.postMessage"] = [(200, {}, {"ok": False, "error": "not_in_channel"})]
    await slack.command("recommend for a blog")
    offer = slack.fake.of("response")[-1]
    assert "/invite" in offer.params["text"]
    await slack.press(offer, "Start in a DM")
    intro, question = slack.fake.of("chat.postMessage")[-2:]
    assert intro.params["channel"] == USER  # posting to a user id opens the app's DM
    assert question.params["channel"] == intro.params["_channel"] == "D" + USER[1:]
    assert "thread_ts" not in question.params
    assert any(v["value"].startswith("answer:") for _, v, _ in buttons(question))


# ---- mentions, threads and DMs --------------------------------------------------------------


async def test_mention_is_answered_in_its_thread(slack: Harness) -> None:
    event = mention(f"<@{BOT_USER}> flask vs pyramid")
    assert await slack.event(event) == 200
    [reply] = slack.fake.of("chat.postMessage")
    assert reply.params["thread_ts"] == event["ts"]
    assert "Flask" in header(reply.params)
    assert reply.params["unfurl_links"] is False


async def test_mention_inside_a_thread_answers_in_that_thread(slack: Harness) -> None:
    event = mention(f"<@{BOT_USER}> about bottle", thread_ts="1700000500.000100")
    await slack.event(event)
    [reply] = slack.fake.of("chat.postMessage")
    assert reply.params["thread_ts"] == "1700000500.000100"


async def test_thread_message_continues_an_active_flow_only(slack: Harness) -> None:
    start = mention(f"<@{BOT_USER}> help me pick")
    await slack.event(start)
    question = slack.posted()[-1]
    assert question.params["thread_ts"] == start["ts"]
    await slack.event(message("1", thread_ts=start["ts"]))
    follow = slack.posted()[-1]
    assert follow.method == "chat.postMessage" and follow is not question
    assert header(follow.params) != header(question.params), "answered by number, next question"

    count = len(slack.posted())
    await slack.event(message("flask vs django", thread_ts="1700000777.000001"))
    await slack.event(message("1", thread_ts=start["ts"], user=OTHER))
    assert len(slack.posted()) == count, "no session in that thread, or for that person"


async def test_direct_messages_are_a_conversation(slack: Harness) -> None:
    await slack.event(message("help me pick", channel="D0DM000001", channel_type="im"))
    question = slack.posted()[-1]
    assert question.params["channel"] == "D0DM000001" and "thread_ts" not in question.params
    await slack.event(message("2", channel="D0DM000001", channel_type="im"))
    assert header(slack.posted()[-1].params) != header(question.params)
    assert "Share to channel" not in labels(slack.posted()[-1])


@pytest.mark.parametrize(
    "extra",
    [
        {"subtype": "bot_message", "bot_id": "B0OTHER01"},
        {"bot_id": BOT_ID, "user": BOT_USER},
        {"subtype": "message_changed"},
        {"subtype": "message_deleted"},
        {"subtype": "channel_join"},
    ],
    ids=["other-bot", "own-message", "edit", "delete", "join"],
)
async def test_ignored_messages_get_no_reply(slack: Harness, extra: dict[str, Any]) -> None:
    await slack.event(message("flask vs django", channel="D0DM000001", channel_type="im", **extra))
    assert slack.posted() == []


# ---- App Home ---------------------------------------------------------------------------------


async def test_home_tab_shows_usage_and_the_last_recommendation(slack: Harness) -> None:
    opened = {"type": "app_home_opened", "user": USER, "channel": "D0DM000001", "tab": "home"}
    await slack.event(opened)
    [view] = slack.fake.of("views.publish")
    assert view.params["user_id"] == USER
    text = json.dumps(view.params["view"])
    assert "/pyframework" in text and "None yet" in text

    await slack.command("recommend")
    result = await answer_all(slack)
    top = re.search(r"1\. (\w+) \(\d+% match\)", json.dumps(result.params["blocks"]))
    assert top is not None
    await slack.event(dict(opened, event_ts=str(time.time())))
    text = json.dumps(slack.fake.of("views.publish")[-1].params["view"])
    assert f"1. {top.group(1)}" in text and "None yet" not in text


# ---- hardening ------------------------------------------------------------------------------


async def test_forged_stale_and_unsigned_requests_get_401(slack: Harness) -> None:
    body = slash("flask vs pyramid", response_url=slack.fake.response_url())
    form = "application/x-www-form-urlencoded"
    assert (await slack.send(body, form, secret="not-the-secret"))[0] == 401
    assert (await slack.send(body, form, timestamp=int(time.time()) - 6 * 60))[0] == 401
    assert (await slack.send(body, form, signed=False))[0] == 401
    assert (await slack.send(body, form))[0] == 200, "the same request, properly signed"
    assert slack.posted() == []


async def test_tampered_body_gets_401(slack: Harness) -> None:
    body = json.dumps(event_callback(mention(f"<@{BOT_USER}> flask vs django")))
    ts = str(int(time.time()))
    from slack_sdk.signature import SignatureVerifier

    signature = SignatureVerifier(SECRET).generate_signature(timestamp=ts, body=body)
    headers = {
        "Content-Type": "application/json",
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": signature,
    }
    tampered = body.replace("flask vs django", "about pyramid")
    async with slack.session.post(slack.url, data=tampered, headers=headers) as resp:
        assert resp.status == 401
    await slack.adapter.drain()
    assert slack.posted() == []


async def test_a_retried_event_is_answered_once(slack: Harness) -> None:
    event = mention(f"<@{BOT_USER}> flask vs django")
    assert await slack.event(event, event_id="Ev0RETRY01") == 200
    assert await slack.event(event, event_id="Ev0RETRY01", retry=1) == 200
    assert await slack.event(event, event_id="Ev0RETRY01", retry=2) == 200
    assert len(slack.fake.of("chat.postMessage")) == 1


async def test_rate_limited_post_is_retried_after_retry_after(slack: Harness) -> None:
    slack.fake.failures["chat.postMessage"] = [
        (429, {"Retry-After": "1"}, {"ok": False, "error": "ratelimited"})
    ]
    started = time.monotonic()
    await slack.event(mention(f"<@{BOT_USER}> about flask"))
    assert time.monotonic() - started >= 1.0, "waited as Retry-After asked"
    attempts = slack.fake.of("chat.postMessage")
    assert len(attempts) == 2
    assert len(slack.fake.messages) == 1, "delivered exactly once"


async def test_user_typed_mentions_never_come_back_live(slack: Harness) -> None:
    # Slack sends what a person typed with & < > escaped, and real mentions as markup.
    typed = f"<@{BOT_USER}> recommend for &lt;b&gt;chat&lt;/b&gt; &amp; <!here> <@{OTHER}>"
    start = mention(typed)
    await slack.event(start)
    await answer_all(slack)
    result = slack.posted()[-1]
    await slack.press(result, "Export decision record")
    record = slack.posted()[-1]
    text = json.dumps(record.params)
    assert "&lt;b&gt;chat&lt;/b&gt; &amp;" in text, "the description is echoed, escaped once"
    for call in slack.posted():
        sent = json.dumps(call.params)
        assert "<!here>" not in sent and "<!channel>" not in sent
        assert f"<@{OTHER}>" not in sent and "<b>" not in sent


async def test_a_reply_beyond_every_limit_is_split_into_valid_messages(
    slack: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    huge = Reply(
        intent="about",
        title="T" * 400,
        paragraphs=tuple("word " * 1200 for _ in range(30)),
        fields=tuple(Field(name=f"f{i}", value="v" * 3500) for i in range(60)),
        code="x = 1\n" * 3000,
    )
    monkeypatch.setattr(slack.adapter.engine, "answer_once", lambda text, **_: [huge])
    ack = await slack.command("anything")
    assert block_problems(ack["blocks"]) == []
    rest = slack.fake.of("response")
    assert len(rest) >= 5, "the continuation went through response_url"
    assert all(c.params["response_type"] == "ephemeral" for c in rest)
    assert all("(continued)" in c.params["text"] for c in rest)
    shown = json.dumps([ack["blocks"]] + [c.params["blocks"] for c in rest])
    assert shown.count("f59") == 1, "nothing lost: the last field arrives"


async def test_a_failing_handler_apologises_with_an_incident_id(
    slack: Harness, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken(incoming: Any) -> Any:
        raise RuntimeError("database password is hunter2")

    real = slack.adapter.engine.handle
    monkeypatch.setattr(slack.adapter.engine, "handle", broken)
    with caplog.at_level(logging.ERROR, logger="adapters.slack"):
        event = mention(f"<@{BOT_USER}> flask vs django")
        assert await slack.event(event) == 200
    [apology] = slack.fake.of("chat.postMessage")
    assert apology.params["thread_ts"] == event["ts"]
    found = re.search(r"incident `([0-9a-f]{8})`", apology.params["text"])
    assert found, apology.params["text"]
    assert "hunter2" not in json.dumps(apology.params) and "RuntimeError" not in json.dumps(
        apology.params
    )
    logged = [r for r in caplog.records if found.group(1) in r.getMessage()]
    assert logged and logged[0].exc_info is not None, "the stack is logged with the id"

    monkeypatch.setattr(slack.adapter.engine, "handle", real)
    await slack.event(mention(f"<@{BOT_USER}> flask vs django"))
    assert "Flask" in header(slack.fake.of("chat.postMessage")[-1].params), "still serving"


async def test_a_failing_slash_command_apologises_in_the_ack(
    slack: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(text: str) -> Any:
        raise KeyError("internal detail")

    monkeypatch.setattr(slack.adapter.engine, "answer_once", broken)
    ack = await slack.command("flask vs pyramid")
    assert ack["response_type"] == "ephemeral"
    assert re.search(r"incident `[0-9a-f]{8}`", ack["text"])
    assert "internal detail" not in json.dumps(ack)


# ---- stale and duplicate presses (buttons carry the question id and the state's version) ----


async def test_a_double_click_on_skip_skips_one_question(slack: Harness) -> None:
    await slack.command("recommend")
    first = slack.posted()[-1]
    assert await slack.press(first, "Skip") == 200
    assert await slack.press(first, "Skip") == 200  # the same message's button, pressed again
    last = slack.posted()[-1]
    text = json.dumps(last.params["blocks"])
    assert "already answered" in text
    assert "Question 2 of 8" in text, "still on the second question; the second press did nothing"


async def test_an_old_messages_answer_button_never_answers_the_current_question(
    slack: Harness,
) -> None:
    dm = "D" + USER[1:]
    await slack.command("recommend", channel=dm)
    first = slack.posted()[-1]
    await slack.event(message("a website", channel=dm, channel_type="im"))
    second = slack.posted()[-1]
    assert "Question 2 of 8" in json.dumps(second.params["blocks"])
    await slack.press(first, "An API for a mobile app or single-page app")
    after = json.dumps(slack.posted()[-1].params["blocks"])
    assert "already answered" in after and "Question 2 of 8" in after
    await slack.event(message("2", channel=dm, channel_type="im"))
    text = json.dumps(slack.posted()[-1].params["blocks"])
    assert "Got it: size and growth: Medium" in text, "2 was still the size question's option 2"


async def test_a_mention_before_a_number_in_a_thread_picks_that_option(slack: Harness) -> None:
    start = mention(f"<@{BOT_USER}> help me pick")
    await slack.event(start)
    await slack.event(mention(f"<@{BOT_USER}> 2", thread_ts=start["ts"]))
    text = json.dumps(slack.posted()[-1].params["blocks"])
    assert "Got it: project type: An API" in text and "Question 2 of 8" in text
