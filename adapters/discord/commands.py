"""The ``/pyframework`` app-command group: each command hands its work to
:class:`~adapters.discord.advisor.DiscordAdvisor` under its guard; framework and category
parameters autocomplete.
"""

from __future__ import annotations

from typing import Any

import discord
from discord import app_commands

from adapters.discord.advisor import CATEGORIES, DiscordAdvisor


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
