"""The HTTP edge and Teams behaviour: adapter, routing, cards, replies."""
