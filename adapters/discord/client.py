"""The Discord adapter: a discord.py ``Client`` with a ``/pyframework`` app-command group,
buttons that survive restarts, and mention replies.

- ``/pyframework ask|compare|about|list|help`` answer ephemerally, with a "Share to channel"
  button that posts the embeds publicly in the channel (a thread's parent channel), saying
  who shared them. Framework parameters autocomplete through the core's fuzzy matcher (at
  most 25 choices; none when that fails or the command is stale).
- ``/pyframework recommend`` opens a public thread where the bot may, and asks the selection
  questions there with buttons; elsewhere, or when Discord refuses the thread or a post in
  it (the empty thread is then removed), it runs the flow privately (ephemerally) and says
  why. A private flow has its own session, which mentions in the channel never touch, and
  its recommendation can be shared too.
- Buttons are :class:`FlowButton` ``DynamicItem``s: the ``custom_id`` (``pf:OWNER:ACTION``)
  carries everything needed to find the session, so they keep working after a restart. Only
  the owner may press them; anyone else is told how to start their own.
- ``@bot question`` is answered as a reply (a message reference), also next to ``@everyone``;
  a direct message is a conversation with the bot. With the message-content intent, free
  text in a flow's thread answers the flow too.
- A gateway event discord.py cannot read is logged (one warning line) and skipped.

Every interaction is answered at once (answers take about a millisecond) or deferred with
``thinking=True`` before slow work (creating a thread). Mentions never ping: the client sends
``AllowedMentions.none()`` and the renderer defuses ``@everyone``/``@here``.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import re
import secrets
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import discord
from discord import app_commands

from adapters.discord.render import (
    CUSTOM_ID_MAX,
    Button,
    Outgoing,
    render,
)
from bot import logs
from bot.conversation import OLD_BUTTON_TEXT
from bot.engine import Engine, Incoming
from bot.replies import Reply, fold_notices
from bot.sessions import ConversationKey

_log = logging.getLogger(__name__)

PLATFORM = "discord"
RESTARTING_TEXT = "I'm restarting right now; please try again in a few seconds."
SHARE = "share"
SHARE_LABEL = "Share to channel"
#: Button values that answer the question on their message, which is then edited in place.
IN_PLACE = ("answer:", "change:", "cmd:skip", "cmd:back")
#: Button values that start a new flow: the pressed message keeps only its Share button.
NEW_FLOW = ("cmd:restart", "cmd:refine", "cmd:new")
#: Button values that exist only on a recommendation (a finished flow).
AFTER_RESULT = ("cmd:whatif", "cmd:compare-top", "cmd:export")
#: The ``thread`` of a private (ephemeral) flow's session key.
PRIVATE = "private"
#: ``custom_id`` of every advisor button: the owner's user id ("-" for anyone) and the action.
CUSTOM_ID = re.compile(r"pf:(?P<owner>[0-9]+|-):(?P<value>.+)")
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
STALE_COMMAND_TEXT = (
    "That command has changed since Discord last showed it to you. Please try again in a "
    "minute (reloading Discord helps)."
)


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


def new_incident() -> str:
    """A short random id (8 hex characters) to match an apology with its log line."""
    return secrets.token_hex(4)


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


def apology(incident: str) -> str:
    """The message shown when handling failed: short, with the incident id, no details."""
    return (
        f"Sorry, something went wrong on my side (incident `{incident}`). Please try again; "
        "if it keeps happening, give that id to whoever runs me."
    )


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


class DiscordAdvisor:
    """The adapter's behaviour, kept apart from the gateway client so callbacks can be tested
    with mocked ``Interaction`` objects.

    Args:
        engine: the core.
        message_content: True when the privileged message-content intent is on, so free text
            in a flow's thread is read.
    """

    def __init__(self, engine: Engine, *, message_content: bool = False) -> None:
        self.engine = engine
        self.message_content = message_content
        #: Set by :meth:`drain`: new interactions are turned away politely.
        self.draining = False
        self._in_flight = 0
        self._idle = asyncio.Event()
        self._idle.set()

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


def command_group(advisor: DiscordAdvisor) -> app_commands.Group:
    """The ``/pyframework`` group: ask, compare, about, recommend, list, help."""
    group = app_commands.Group(
        name="pyframework", description="Choose a Python web framework, with sources"
    )

    async def frameworks(
        interaction: discord.Interaction[Any], current: str
    ) -> list[app_commands.Choice[str]]:
        return advisor.choices(advisor.framework_choices, current)

    def category_choices(current: str) -> list[app_commands.Choice[str]]:
        return [
            app_commands.Choice(name=c, value=c)
            for c in CATEGORIES
            if c.startswith(current.lower())
        ]

    async def categories(
        interaction: discord.Interaction[Any], current: str
    ) -> list[app_commands.Choice[str]]:
        return advisor.choices(category_choices, current)

    @group.command(name="ask", description="Ask anything about Python web frameworks")
    @app_commands.describe(question="e.g. which is best for websockets?")
    async def ask(interaction: discord.Interaction[Any], question: str) -> None:
        await advisor.guarded(interaction, advisor.answer(interaction, question))

    @group.command(name="compare", description="Compare two or three frameworks side by side")
    @app_commands.autocomplete(first=frameworks, second=frameworks, third=frameworks)
    async def compare(
        interaction: discord.Interaction[Any], first: str, second: str, third: str | None = None
    ) -> None:
        names = [n for n in (first, second, third) if n]
        await advisor.guarded(interaction, advisor.answer(interaction, " vs ".join(names)))

    @group.command(name="about", description="One framework: summary, facts and hello-world")
    @app_commands.autocomplete(framework=frameworks)
    async def about(interaction: discord.Interaction[Any], framework: str) -> None:
        await advisor.guarded(interaction, advisor.answer(interaction, f"about {framework}"))

    @group.command(name="recommend", description="A few questions, then a ranked recommendation")
    @app_commands.describe(description="what you are building, e.g. a small async API")
    async def recommend(interaction: discord.Interaction[Any], description: str = "") -> None:
        await advisor.guarded(interaction, advisor.recommend(interaction, description))

    @group.command(name="list", description="List frameworks, optionally of one category")
    @app_commands.autocomplete(category=categories)
    async def list_(interaction: discord.Interaction[Any], category: str | None = None) -> None:
        await advisor.guarded(interaction, advisor.list_frameworks(interaction, category or ""))

    @group.command(name="help", description="How to use the advisor")
    async def help_(interaction: discord.Interaction[Any]) -> None:
        await advisor.guarded(interaction, advisor.answer(interaction, "help"))

    return group


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
