"""The Teams bot. Start reading at `web.server.create_app` (the app factory), then
`conversation.router.MeetingBot` (what each message does).

Rooms (import-linter keeps their dependencies one way: see pyproject.toml):
- `web`: the aiohttp edge: app factory, routes, sign-in pages, access logs, admission;
- `conversation`: the Teams conversation: router, commands, cards, replies;
- `meetings`: meeting requests, and creating each once with Graph;
- `identity`: Teams users, sign-in links, delegated tokens;
- `state`: the storage and the records kept in it;
- `framework`: Bot Framework plumbing: adapter, Bot Connector client, activity JSON;
- `settings`: configuration from the environment.
"""
