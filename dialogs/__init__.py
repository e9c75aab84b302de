"""Conversations and the meeting-request parser (pure, no I/O)."""
