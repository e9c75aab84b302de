"""The Teams conversation: the router, commands, cards and replies."""
