"""What happens around every interaction: failures are logged under an incident id and
answered with a short apology carrying that id (never the exception text), commands Discord
still shows but this bot no longer has get a short note, and a drain turns new work away while
the work in flight finishes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import AsyncIterator
from typing import Any

import discord
from discord import app_commands

from adapters.discord.keys import PLATFORM
from bot import logs
from bot.engine import Engine

_log = logging.getLogger(__name__)

RESTARTING_TEXT = "I'm restarting right now; please try again in a few seconds."
STALE_COMMAND_TEXT = (
    "That command has changed since Discord last showed it to you. Please try again in a "
    "minute (reloading Discord helps)."
)


def new_incident() -> str:
    """A short random id (8 hex characters) to match an apology with its log line."""
    return secrets.token_hex(4)


def apology(incident: str) -> str:
    """The message shown when handling failed: short, with the incident id, no details."""
    return (
        f"Sorry, something went wrong on my side (incident `{incident}`). Please try again; "
        "if it keeps happening, give that id to whoever runs me."
    )


class InteractionGuard:
    """Incident handling and draining for :class:`~adapters.discord.advisor.DiscordAdvisor`.

    Args:
        engine: the core; its metrics count incidents.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        #: Set by :meth:`drain`: new interactions are turned away politely.
        self.draining = False
        self._in_flight = 0
        self._idle = asyncio.Event()
        self._idle.set()

    async def guarded(self, interaction: discord.Interaction[Any], work: Any) -> None:
        """Await ``work``; on failure log the stack under an incident id and apologise
        ephemerally with that id (never the exception text). While draining, ``work`` is not
        started and the user is asked to try again in a moment."""
        logs.bind(platform=PLATFORM, request_id=str(interaction.id))
        if self.draining:
            work.close()
            await interaction.response.send_message(RESTARTING_TEXT, ephemeral=True)
            return
        async with self.tracked():
            try:
                await work
            except Exception:
                await self.apologise(interaction)

    @contextlib.asynccontextmanager
    async def tracked(self) -> AsyncIterator[None]:
        """Count the enclosed work as in flight, for :meth:`drain`."""
        self._in_flight += 1
        self._idle.clear()
        try:
            yield
        finally:
            self._in_flight -= 1
            if self._in_flight == 0:
                self._idle.set()

    @property
    def in_flight(self) -> int:
        """How many interactions and messages are being handled now."""
        return self._in_flight

    async def drain(self, timeout: float) -> bool:
        """Stop starting new work and wait up to ``timeout`` seconds for work in flight.
        Returns True when everything finished."""
        self.draining = True
        try:
            await asyncio.wait_for(self._idle.wait(), timeout)
        except TimeoutError:
            _log.warning(
                "%d Discord interactions still running after %.0f s", self._in_flight, timeout
            )
            return False
        return True

    async def apologise(
        self, interaction: discord.Interaction[Any], error: BaseException | None = None
    ) -> None:
        """Log ``error`` (default: the exception being handled) under a new incident id and
        tell the user, ephemerally."""
        incident = new_incident()
        self.engine.metrics.error("incident")
        _log.error(
            "incident %s: Discord handler failed",
            incident,
            exc_info=error or True,
            extra={"incident": incident},
        )
        try:
            if interaction.type is discord.InteractionType.autocomplete:
                if not interaction.response.is_done():
                    await interaction.response.autocomplete([])  # only choices are accepted
            elif interaction.response.is_done():
                await interaction.followup.send(apology(incident), ephemeral=True)
            else:
                await interaction.response.send_message(apology(incident), ephemeral=True)
        except Exception:
            _log.exception("incident %s: could not deliver the apology", incident)

    async def stale_command(
        self, interaction: discord.Interaction[Any], error: app_commands.AppCommandError
    ) -> None:
        """A command (or autocomplete) Discord still shows but this bot no longer has, until
        the next sync reaches the person's client: a warning, and a short note (no choices
        for an autocomplete)."""
        _log.warning("stale command from Discord: %s", error)
        if interaction.response.is_done():
            return
        if interaction.type is discord.InteractionType.autocomplete:
            await interaction.response.autocomplete([])
        else:
            await interaction.response.send_message(STALE_COMMAND_TEXT, ephemeral=True)
