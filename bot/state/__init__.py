"""What the bot keeps, and how: SQLite storage with ETags, its plain-JSON codec, and the
data folder's permissions."""
