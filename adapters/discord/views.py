"""Advisor buttons as discord.py components: :class:`FlowButton`, a ``DynamicItem`` that
survives restarts and lets only its owner press it, and the persistent views that carry a
rendered message's buttons (5 to a row).
"""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Any

import discord

from adapters.discord.keys import CUSTOM_ID, custom_id
from adapters.discord.render import CUSTOM_ID_MAX, Button, Outgoing

if TYPE_CHECKING:
    from adapters.discord.advisor import DiscordAdvisor

_log = logging.getLogger(__name__)

SHARE = "share"
SHARE_LABEL = "Share to channel"


class FlowButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=CUSTOM_ID.pattern):
    """A button whose ``custom_id`` carries its owner and action, so any process can handle
    a press, even one started after the message was sent."""

    def __init__(self, owner: int | None, value: str, label: str = "…", primary: bool = False):
        cid = custom_id(owner, value)
        if cid is None:
            raise ValueError(f"custom_id over {CUSTOM_ID_MAX} characters for {value!r}")
        style = discord.ButtonStyle.primary if primary else discord.ButtonStyle.secondary
        super().__init__(discord.ui.Button(label=label, style=style, custom_id=cid))
        self.owner = owner
        self.value = value

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction[Any],
        item: discord.ui.Item[Any],
        match: re.Match[str],
    ) -> FlowButton:
        """Rebuild the button from a pressed ``custom_id`` (discord.py calls this)."""
        owner = None if match["owner"] == "-" else int(match["owner"])
        label = getattr(item, "label", None) or "…"
        return cls(owner, match["value"], label)

    async def interaction_check(self, interaction: discord.Interaction[Any]) -> bool:
        """Only the owner may press a flow's buttons; others are told how to start theirs."""
        if self.owner is None or interaction.user.id == self.owner:
            return True
        await interaction.response.send_message(
            f"This selection belongs to <@{self.owner}>. Start your own with "
            "`/pyframework recommend`.",
            ephemeral=True,
        )
        return False

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        """Hand the press to the client's :class:`DiscordAdvisor`."""
        advisor: DiscordAdvisor = interaction.client.advisor
        await advisor.guarded(interaction, advisor.on_button(interaction, self.owner, self.value))


def view_for(out: Outgoing, owner: int | None) -> discord.ui.View | None:
    """A persistent view (no timeout) with ``out``'s buttons, 5 to a row; buttons whose
    ``custom_id`` would be too long are left out. None when there are no buttons."""
    if not out.buttons:
        return None
    view = discord.ui.View(timeout=None)
    for b in out.buttons:
        if custom_id(owner, b.value) is None:
            _log.warning("button %r left out: custom_id too long", b.label)
            continue
        view.add_item(FlowButton(owner, b.value, b.label, b.primary))
    return view


def share_only(message: Any, owner: int) -> discord.ui.View | None:
    """A view with just a Share button when ``message`` (a ``discord.Message``) had one,
    else None: what a message keeps once a press has started a new flow from it."""
    had = any(
        str(getattr(item, "custom_id", "")).endswith(f":{SHARE}")
        for row in getattr(message, "components", ())
        for item in getattr(row, "children", ())
    )
    return view_for(Outgoing(buttons=[Button(SHARE_LABEL, SHARE)]), owner) if had else None


def embeds_of(out: Outgoing) -> list[discord.Embed]:
    """``out``'s embeds as discord.py objects."""
    return [discord.Embed.from_dict(e) for e in out.embeds]
