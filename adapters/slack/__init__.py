"""Slack adapter (slack-bolt): translate Slack events into Incoming, render replies as Block Kit.

This release has the Block Kit renderer; the bolt app, Socket Mode and HTTP wiring come with
issue 4.
"""
