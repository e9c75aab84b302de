"""What the bot keeps: the storage, its plain-JSON codec, and the records in it (the request
ledger, the outbox, waiting and open requests)."""
