"""Slack adapter (slack-bolt): translate Slack events into Incoming, render replies as Block Kit.

- :mod:`~adapters.slack.app`: the bolt listeners (``SlackAdapter``);
- :mod:`~adapters.slack.delivery`: work after the ack, the outbox of replies owed, shutdown;
- :mod:`~adapters.slack.middleware`: Slack's retries dropped, new requests refused while draining;
- :mod:`~adapters.slack.client`: the Web API client and its retry handlers;
- :mod:`~adapters.slack.parse`: payloads to conversation keys, request checks before bolt;
- :mod:`~adapters.slack.render`: Block Kit within Slack's limits;
- :mod:`~adapters.slack.pacing`: per-channel pacing of posts;
- :mod:`~adapters.slack.runner`: Socket Mode or HTTP mode, start-up and shutdown.
"""
