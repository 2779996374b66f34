"""framework-advisor core: knowledge, understanding, scoring, conversation and sessions.

Nothing in this package imports a chat platform library or ``adapters``; adapters call
:class:`bot.engine.Engine` and render its :mod:`bot.replies` values.
"""

__version__ = "0.1.0"
