"""The Slack app manifest matches what the adapter handles, and the README explains each scope."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from adapters.slack.app import COMMAND

ROOT = Path(__file__).resolve().parents[2]
MANIFEST = yaml.safe_load((ROOT / "deploy" / "slack" / "manifest.yaml").read_text())


def test_the_slash_command_events_and_interactivity_are_declared() -> None:
    [command] = MANIFEST["features"]["slash_commands"]
    assert command["command"] == COMMAND
    events = set(MANIFEST["settings"]["event_subscriptions"]["bot_events"])
    assert events == {
        "app_mention",
        "app_home_opened",
        "message.channels",
        "message.groups",
        "message.im",
    }
    assert MANIFEST["settings"]["interactivity"]["is_enabled"] is True
    assert MANIFEST["settings"]["socket_mode_enabled"] is True
    assert MANIFEST["features"]["app_home"]["home_tab_enabled"] is True
    urls = {
        command["url"],
        MANIFEST["settings"]["interactivity"]["request_url"],
        MANIFEST["settings"]["event_subscriptions"]["request_url"],
    }
    assert len(urls) == 1 and urls.pop().endswith("/slack/events")


def test_only_the_needed_scopes_and_each_is_explained() -> None:
    scopes = MANIFEST["oauth_config"]["scopes"]["bot"]
    assert sorted(scopes) == sorted(
        [
            "commands",
            "chat:write",
            "app_mentions:read",
            "channels:history",
            "groups:history",
            "im:history",
        ]
    )
    readme = (ROOT / "README.md").read_text()
    table = readme[readme.index("The bot scopes it asks for") :]
    for scope in scopes:
        assert re.search(rf"^\| `{re.escape(scope)}` \| \S", table, re.M), scope


def test_env_example_documents_every_slack_variable() -> None:
    example = (ROOT / "deploy" / ".env.example").read_text()
    files = [*(ROOT / "bot").rglob("*.py"), *(ROOT / "adapters").rglob("*.py")]
    code = "\n".join(p.read_text() for p in files)
    names = set(re.findall(r'"((?:SLACK|ADVISOR|DISCORD)_[A-Z_]+)"', code))
    assert {"SLACK_BOT_TOKEN", "ADVISOR_HTTP_PORT", "SLACK_API_URL"} <= names
    for name in names:
        assert re.search(rf"^# {name}=", example, re.M), name  # commented out: see test_deploy
