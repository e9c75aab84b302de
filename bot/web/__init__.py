"""The web edge: the aiohttp app factory, its routes and pages, access logs, admission."""
