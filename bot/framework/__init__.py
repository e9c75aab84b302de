"""Bot Framework plumbing: the adapter, the Bot Connector client, activity JSON, reply
addresses and the one shared HTTP transport."""
