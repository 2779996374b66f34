"""The gateway client: intents, the ``/pyframework`` command tree and its sync, the dynamic
buttons, and mentions, all handed to :class:`~adapters.discord.advisor.DiscordAdvisor`.

A gateway event discord.py cannot read is logged (one warning line) and skipped instead of
ending the connection. The client sends ``AllowedMentions.none()``, so nothing it posts pings.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import discord
from discord import app_commands

from adapters.discord.advisor import DiscordAdvisor
from adapters.discord.commands import command_group
from adapters.discord.guard import apology, new_incident
from adapters.discord.keys import PLATFORM
from adapters.discord.views import FlowButton
from bot import logs

_log = logging.getLogger(__name__)


def tolerant(event: str, parse: Callable[[Any], None]) -> Callable[[Any], None]:
    """``parse`` (discord.py's parser of gateway ``event``), except that a payload it cannot
    read is logged as one warning line (the error's type, or the missing key; never payload
    values, which may be what people typed; the stack only at DEBUG) and skipped, instead of
    ending the gateway connection and the process."""

    def parse_or_skip(data: Any) -> None:
        try:
            parse(data)
        except Exception as exc:
            what = f"no key {exc}" if isinstance(exc, KeyError) else type(exc).__name__
            _log.warning("skipped a gateway %s event discord.py could not read: %s", event, what)
            _log.debug("unreadable %s event", event, exc_info=True)

    return parse_or_skip


# The bot never joins voice; discord.py would warn at every start that voice libraries are
# missing (PyNaCl, davey).
discord.VoiceClient.warn_nacl = False
discord.VoiceClient.warn_dave = False


class AdvisorClient(discord.Client):
    """The gateway client: intents, the command tree, dynamic buttons, mentions.

    Args:
        advisor: the behaviour.
        guild_id: sync commands to this guild only (instant; for development).
        sync_stamp: a file remembering the hash of the last synced commands, so an unchanged
            command set is not synced again on start; None always syncs.
        kwargs: passed to ``discord.Client`` (e.g. ``guild_ready_timeout``).
    """

    def __init__(
        self,
        advisor: DiscordAdvisor,
        *,
        guild_id: int | None = None,
        sync_stamp: Path | None = None,
        **kwargs: Any,
    ) -> None:
        intents = discord.Intents.none()
        intents.guilds = True
        intents.guild_messages = True
        intents.dm_messages = True
        intents.message_content = advisor.message_content
        super().__init__(intents=intents, allowed_mentions=discord.AllowedMentions.none(), **kwargs)
        self.advisor = advisor
        self.guild_id = guild_id
        self.sync_stamp = sync_stamp
        self.tree = app_commands.CommandTree(self)
        self.tree.add_command(command_group(advisor))
        self.tree.on_error = self._on_tree_error  # type: ignore[method-assign]
        # discord.py calls a parser per gateway event and lets its errors end the connection
        # (DiscordWebSocket.received_message); READY stays strict: nothing works without it.
        parsers = self._connection.parsers
        for event, parse in list(parsers.items()):
            if event != "READY":
                parsers[event] = tolerant(event, parse)

    async def setup_hook(self) -> None:
        """Register the dynamic buttons and sync commands when they changed."""
        self.add_dynamic_items(FlowButton)
        await self.sync_commands()

    def commands_hash(self) -> str:
        """SHA-256 of the command payload and where it is synced."""
        payload = [c.to_dict(self.tree) for c in self.tree.get_commands()]
        blob = json.dumps({"guild": self.guild_id, "commands": payload}, sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()

    async def sync_commands(self) -> bool:
        """Sync the commands unless :attr:`sync_stamp` says this exact set is synced already.
        Returns True when it synced."""
        digest = self.commands_hash()
        if self.sync_stamp is not None and self.sync_stamp.exists():
            if self.sync_stamp.read_text().strip() == digest:
                _log.info("commands unchanged; not syncing")
                return False
        guild = discord.Object(id=self.guild_id) if self.guild_id else None
        if guild is not None:
            self.tree.copy_global_to(guild=guild)
        await self.tree.sync(guild=guild)
        if self.sync_stamp is not None:
            self.sync_stamp.parent.mkdir(parents=True, exist_ok=True)
            self.sync_stamp.write_text(digest)
        _log.info("commands synced %s", f"to guild {self.guild_id}" if guild else "globally")
        return True

    async def on_message(self, message: discord.Message) -> None:
        """Mentions and (with the intent) free-text flow answers."""
        if self.user is None or self.advisor.draining:
            return
        logs.bind(platform=PLATFORM, request_id=str(message.id))
        try:
            async with self.advisor.tracked():
                await self.advisor.on_message(message, self.user)
        except Exception:
            incident = new_incident()
            self.advisor.engine.metrics.error("incident")
            _log.exception(
                "incident %s: Discord message handler failed",
                incident,
                extra={"incident": incident},
            )
            try:
                await message.reply(apology(incident), mention_author=False)
            except discord.HTTPException:
                _log.exception("incident %s: could not deliver the apology", incident)

    async def on_resumed(self) -> None:
        """Log gateway resumes; reconnecting is discord.py's job."""
        _log.info("gateway session resumed")

    async def on_disconnect(self) -> None:
        """Log gateway disconnects."""
        _log.info("gateway disconnected; discord.py reconnects")

    async def _on_tree_error(
        self, interaction: discord.Interaction[Any], error: app_commands.AppCommandError
    ) -> None:
        if isinstance(error, app_commands.CommandNotFound | app_commands.CommandSignatureMismatch):
            await self.advisor.stale_command(interaction, error)
            return
        await self.advisor.apologise(interaction, error)
