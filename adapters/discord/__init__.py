"""The Discord adapter: discord.py app commands, components and embeds."""
