"""What the bot keeps, and how: SQLite storage with ETags, its plain-JSON codec, the keys that
encrypt what is kept, and the data folder's permissions."""
