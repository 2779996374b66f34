"""Where a Discord event belongs: the session key of a conversation and the ``custom_id`` of
an advisor button, which carries its owner and action so a press can be handled by any process,
even one started after the message was sent.
"""

from __future__ import annotations

import re

from adapters.discord.render import CUSTOM_ID_MAX
from bot.sessions import ConversationKey

PLATFORM = "discord"
#: The ``thread`` of a private (ephemeral) flow's session key.
PRIVATE = "private"
#: ``custom_id`` of every advisor button: the owner's user id ("-" for anyone) and the action.
CUSTOM_ID = re.compile(r"pf:(?P<owner>[0-9]+|-):(?P<value>.+)")


def custom_id(owner: int | None, value: str) -> str | None:
    """The ``custom_id`` for a button, or None when it would pass :data:`CUSTOM_ID_MAX`."""
    cid = f"pf:{owner if owner is not None else '-'}:{value}"
    return cid if len(cid) <= CUSTOM_ID_MAX else None


def conversation(
    guild_id: int | None, channel_id: int | None, user_id: int, *, private: bool = False
) -> ConversationKey:
    """The session of ``user_id`` in a channel or thread (a thread has its own channel id);
    with ``private``, that of their private (ephemeral) flow there, which is kept apart so a
    mention in the channel never continues it in public."""
    return ConversationKey(
        platform=PLATFORM,
        workspace=str(guild_id or "dm"),
        channel=str(channel_id or ""),
        thread=PRIVATE if private else "",
        user=str(user_id),
    )
