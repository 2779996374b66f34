"""The shipped knowledge base: data only, no code.

This file makes the folder a package, so an installed ``advisor`` finds the YAML files through
``importlib.resources``: pyproject.toml installs this folder as ``bot.knowledge_data``
(see :data:`bot.config.DEFAULT_KNOWLEDGE_DIR`).
"""
