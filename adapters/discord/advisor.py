"""The Discord adapter's behaviour, kept apart from the gateway client so callbacks can be
tested with mocked ``Interaction`` objects.

- ``/pyframework ask|compare|about|list|help`` answer ephemerally, with a "Share to channel"
  button that posts the embeds publicly in the channel (a thread's parent channel), saying
  who shared them. Framework parameters autocomplete through the core's fuzzy matcher (at
  most 25 choices; none when that fails or the command is stale).
- ``/pyframework recommend`` opens a public thread where the bot may, and asks the selection
  questions there with buttons; elsewhere, or when Discord refuses the thread or a post in
  it (the empty thread is then removed), it runs the flow privately (ephemerally) and says
  why. A private flow has its own session, which mentions in the channel never touch, and
  its recommendation can be shared too.
- Button presses (see :mod:`adapters.discord.views`) edit the question in place, start a new
  flow, or share; a recommendation's button pressed after the flow restarted says so.
- ``@bot question`` is answered as a reply (a message reference), also next to ``@everyone``;
  a direct message is a conversation with the bot. With the message-content intent, free
  text in a flow's thread answers the flow too.

Every interaction is answered at once (answers take about a millisecond) or deferred with
``thinking=True`` before slow work (creating a thread). Mentions never ping: the client sends
``AllowedMentions.none()`` and the renderer defuses ``@everyone``/``@here``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

import discord
from discord import app_commands

from adapters.discord.guard import InteractionGuard, new_incident
from adapters.discord.keys import PLATFORM, conversation
from adapters.discord.render import Button, Outgoing, render
from adapters.discord.views import SHARE, SHARE_LABEL, embeds_of, share_only, view_for
from bot.conversation import OLD_BUTTON_TEXT
from bot.engine import Engine, Incoming
from bot.replies import Reply, fold_notices

_log = logging.getLogger(__name__)

#: Button values that answer the question on their message, which is then edited in place.
IN_PLACE = ("answer:", "change:", "cmd:skip", "cmd:back")
#: Button values that start a new flow: the pressed message keeps only its Share button.
NEW_FLOW = ("cmd:restart", "cmd:refine", "cmd:new")
#: Button values that exist only on a recommendation (a finished flow).
AFTER_RESULT = ("cmd:whatif", "cmd:compare-top", "cmd:export")
#: The ``list`` command's categories and the question each one asks the core.
CATEGORIES = {
    "micro": "list micro frameworks",
    "full-stack": "list full-stack frameworks",
    "async": "list async frameworks",
    "library": "list networking libraries",
}
DISCORD_USAGE = (
    "On Discord: `/pyframework compare`, `/pyframework about`, `/pyframework ask`, "
    "`/pyframework list`, `/pyframework recommend` (a few questions in a thread), or mention "
    "me with a question."
)
NO_THREAD = "I can't open a thread here, so we'll go through the questions privately."


async def remove_thread(thread: discord.Thread) -> None:
    """Delete ``thread`` (it needs Manage Threads); failing that, archive it. Never raises: a
    thread that stays is logged."""
    try:
        await thread.delete()
        return
    except discord.HTTPException as exc:
        _log.info("could not delete thread %s (HTTP %s); archiving it", thread.id, exc.status)
    try:
        await thread.edit(archived=True)
    except discord.HTTPException as exc:
        _log.warning("could not remove the empty thread %s (HTTP %s)", thread.id, exc.status)


class DiscordAdvisor(InteractionGuard):
    """The adapter's behaviour: commands, button presses and messages. Incidents, stale
    commands and draining come from :class:`~adapters.discord.guard.InteractionGuard`.

    Args:
        engine: the core.
        message_content: True when the privileged message-content intent is on, so free text
            in a flow's thread is read.
    """

    def __init__(self, engine: Engine, *, message_content: bool = False) -> None:
        super().__init__(engine)
        self.message_content = message_content

    def usage(self) -> Reply:
        """The core's help with a paragraph on the Discord commands."""
        core = self.engine.help()
        return replace(core, paragraphs=(DISCORD_USAGE, *core.paragraphs))

    def framework_choices(self, current: str) -> list[app_commands.Choice[str]]:
        """Autocomplete for a framework parameter: the matcher's suggestions, at most 25."""
        names = [
            self.engine.kb.frameworks[fid].name for fid in self.engine.matcher.suggest(current)
        ]
        return [app_commands.Choice(name=n, value=n) for n in names[:25]]

    def choices(
        self, suggest: Callable[[str], list[app_commands.Choice[str]]], current: str
    ) -> list[app_commands.Choice[str]]:
        """``suggest(current)``, or no choices when it fails (logged under an incident id):
        Discord accepts only choices as the answer to an autocomplete."""
        try:
            return suggest(current)
        except Exception:
            incident = new_incident()
            self.engine.metrics.error("incident")
            _log.exception("incident %s: autocomplete failed", incident)
            return []

    # ---- commands ---------------------------------------------------------------------------

    async def answer(self, interaction: discord.Interaction[Any], text: str) -> None:
        """Answer ``text`` ephemerally with a Share button (help when ``text`` is "help")."""
        if text.strip().lower() in ("", "help"):
            replies = [self.usage()]
        else:
            replies = self.engine.answer_once(text, platform=PLATFORM)
        await self.send(interaction, replies, owner=interaction.user.id, ephemeral=True)

    async def list_frameworks(self, interaction: discord.Interaction[Any], category: str) -> None:
        """One category (see :data:`CATEGORIES`), or every category when ``category`` is ""."""
        chosen = [category] if category in CATEGORIES else list(CATEGORIES)
        replies = [
            r for c in chosen for r in self.engine.answer_once(CATEGORIES[c], platform=PLATFORM)
        ]
        await self.send(interaction, replies, owner=interaction.user.id, ephemeral=True)

    async def recommend(self, interaction: discord.Interaction[Any], description: str) -> None:
        """Start the selection flow in a new public thread; privately (ephemerally) where the
        bot may not create one or Discord refuses it (see :meth:`open_thread`)."""
        user = interaction.user
        text = f"recommend {description}".strip()
        channel = interaction.channel
        perms = interaction.app_permissions
        if (
            isinstance(channel, discord.TextChannel)
            and perms.create_public_threads
            and perms.send_messages_in_threads
        ):
            await interaction.response.defer(ephemeral=True, thinking=True)
            thread = await self.open_thread(interaction, channel, text)
            if thread is not None:
                await interaction.followup.send(
                    f"The questions are in {thread.mention}.", ephemeral=True
                )
                return
        key = conversation(interaction.guild_id, interaction.channel_id, user.id, private=True)
        replies = await self.engine.handle(Incoming(key=key, text=text))
        note = Reply(intent="recommend", kind="notice", paragraphs=(NO_THREAD,))
        await self.send(interaction, [note, *replies], owner=user.id, ephemeral=True)

    async def open_thread(
        self, interaction: discord.Interaction[Any], channel: discord.TextChannel, text: str
    ) -> discord.Thread | None:
        """Open a public thread in ``channel`` and ask the flow's first question there.
        Returns None when Discord refuses the thread (e.g. 403, code 50013 Missing
        Permissions) or a post in it; a thread left empty is deleted (archived where the bot
        may not delete it). Discord's refusals are logged as one warning line."""
        user = interaction.user
        try:
            thread = await channel.create_thread(
                name=f"Choosing a framework with {user.display_name}"[:100],
                type=discord.ChannelType.public_thread,
                auto_archive_duration=1440,
            )
        except discord.HTTPException as exc:
            _log.warning(
                "Discord refused a thread (HTTP %s, code %s); flow runs privately",
                exc.status,
                exc.code,
            )
            return None
        key = conversation(interaction.guild_id, thread.id, user.id)
        replies = await self.engine.handle(Incoming(key=key, text=text))
        try:
            for out in self.outgoing(replies):
                await thread.send(
                    embeds=embeds_of(out), view=view_for(out, user.id) or discord.utils.MISSING
                )
        except discord.HTTPException as exc:
            _log.warning(
                "Discord refused a post in the new thread (HTTP %s, code %s); removing the "
                "thread, flow runs privately",
                exc.status,
                exc.code,
            )
            await remove_thread(thread)
            return None
        return thread

    # ---- buttons ----------------------------------------------------------------------------

    async def on_button(
        self, interaction: discord.Interaction[Any], owner: int | None, value: str
    ) -> None:
        """A press of a :class:`FlowButton` (its owner already checked)."""
        if value == SHARE:
            await self.share(interaction)
            return
        user = owner if owner is not None else interaction.user.id
        message = interaction.message
        ephemeral = bool(message is not None and message.flags.ephemeral)
        key = conversation(interaction.guild_id, interaction.channel_id, user, private=ephemeral)
        replies = await self.engine.handle(Incoming(key=key, action=value))
        if value.startswith(AFTER_RESULT) and any(r.kind == "question" for r in replies):
            # A recommendation's button, but the flow is asking again: it was restarted since
            # that message. The core changed nothing and re-asked; say why, not "didn't catch".
            note = Reply(intent="recommend", kind="notice", paragraphs=(OLD_BUTTON_TEXT,))
            replies = [note, *(replace(r, notices=()) for r in replies if r.kind == "question")]
        outs = self.outgoing(replies)
        if value.startswith(NEW_FLOW) and message is not None:
            await interaction.response.edit_message(view=share_only(message, user))
            for out in outs:
                await self._followup(interaction, out, user, ephemeral)
            return
        if value.startswith(IN_PLACE) and message is not None:
            first, rest = outs[0], outs[1:]
            await interaction.response.edit_message(
                embeds=embeds_of(first), view=view_for(first, user)
            )
            for out in rest:
                await self._followup(interaction, out, user, ephemeral)
            return
        await self._deliver(interaction, outs, user, ephemeral)

    async def share(self, interaction: discord.Interaction[Any]) -> None:
        """Post the pressed message's embeds publicly in the channel (from a thread, in its
        parent channel where that takes messages), saying who shared them with a plain
        ``<@id>`` mention, which pings nobody: the client allows no mentions."""
        message = interaction.message
        channel = interaction.channel
        if message is None or not isinstance(channel, discord.abc.Messageable):
            await interaction.response.send_message(
                "There is nothing to share here.", ephemeral=True
            )
            return
        if isinstance(channel, discord.Thread):
            parent = channel.parent
            channel = parent if isinstance(parent, discord.abc.Messageable) else channel
        await interaction.response.defer(ephemeral=True, thinking=True)
        try:
            await channel.send(
                content=f"Shared by <@{interaction.user.id}>", embeds=message.embeds[:10]
            )
        except discord.Forbidden:
            await interaction.followup.send(
                "I'm not allowed to post in this channel; ask an admin to let me send messages.",
                ephemeral=True,
            )
            return
        self.engine.metrics.share(PLATFORM)
        where = getattr(channel, "mention", "")
        await interaction.followup.send(f"Shared to the channel {where}.", ephemeral=True)

    # ---- messages ---------------------------------------------------------------------------

    async def on_message(self, message: discord.Message, me: discord.abc.User) -> None:
        """Reply to a mention (as a message reference; ``@everyone`` beside it changes
        nothing, the core strips it) and to every direct message (a conversation with the
        bot, answered as plain messages); with the message-content intent, free text in a
        thread with an active flow answers it. Bots are ignored."""
        if message.author.bot or message.author.id == me.id:
            return
        direct = message.guild is None
        key = conversation(
            message.guild.id if message.guild else None, message.channel.id, message.author.id
        )
        if not (direct or me in message.mentions):
            in_thread = isinstance(message.channel, discord.Thread)
            if not (self.message_content and in_thread and await self.engine.has_active_flow(key)):
                return
        replies = await self.engine.handle(Incoming(key=key, text=message.content))
        for out in self.outgoing(replies, share=False):
            view = view_for(out, message.author.id) or discord.utils.MISSING
            if direct:
                await message.channel.send(embeds=embeds_of(out), view=view)
            else:
                await message.reply(embeds=embeds_of(out), view=view, mention_author=False)

    # ---- sending ----------------------------------------------------------------------------

    def outgoing(self, replies: Sequence[Reply], *, share: bool = True) -> list[Outgoing]:
        """Render replies; answers and recommendations get a Share button when ``share``.
        The person's words quoted by any reply are made inert in all of them (a folded notice
        brings its text, not its ``quoted``, to the reply it joins)."""
        outs: list[Outgoing] = []
        quoted = tuple(dict.fromkeys(q for r in replies for q in r.quoted))
        for reply in fold_notices(replies):
            reply = replace(reply, quoted=quoted) if quoted else reply
            extra = (
                [Button(SHARE_LABEL, SHARE)]
                if share and reply.kind in ("answer", "recommendation")
                else []
            )
            outs += render(reply, extra_buttons=extra)
        return outs

    async def send(
        self,
        interaction: discord.Interaction[Any],
        replies: Sequence[Reply],
        *,
        owner: int,
        ephemeral: bool,
        share: bool = True,
    ) -> None:
        """Answer an interaction with ``replies``: the first message as the response, the rest
        as follow-ups."""
        await self._deliver(interaction, self.outgoing(replies, share=share), owner, ephemeral)

    async def _deliver(
        self,
        interaction: discord.Interaction[Any],
        outs: Sequence[Outgoing],
        owner: int,
        ephemeral: bool,
    ) -> None:
        for i, out in enumerate(outs):
            if i == 0 and not interaction.response.is_done():
                await interaction.response.send_message(
                    embeds=embeds_of(out),
                    view=view_for(out, owner) or discord.utils.MISSING,
                    ephemeral=ephemeral,
                )
            else:
                await self._followup(interaction, out, owner, ephemeral)

    async def _followup(
        self, interaction: discord.Interaction[Any], out: Outgoing, owner: int, ephemeral: bool
    ) -> None:
        await interaction.followup.send(
            embeds=embeds_of(out),
            view=view_for(out, owner) or discord.utils.MISSING,
            ephemeral=ephemeral,
        )
