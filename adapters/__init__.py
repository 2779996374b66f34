"""Adapters: translate platform events into the core's Incoming values and render its replies.

``adapters`` imports ``bot``; ``bot`` never imports ``adapters``.
"""
