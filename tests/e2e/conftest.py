"""End to end through Microsoft's Agents Playground: a real Teams-like client drives the bot."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from sandbox import playground
from tests.processes import free_port, start

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Running:
    bot_url: str
    playground_url: str


@pytest.fixture(scope="session")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    """The bot (python app.py, sandbox mode) and the Playground pointed at it, for the session."""
    if not playground.node_available():
        pytest.skip("Node.js/npm not found: the Agents Playground tests need them")
    workdir = tmp_path_factory.mktemp("e2e")
    bot = start({}, workdir)  # python app.py in sandbox mode, as the README runs it
    playground_port = free_port()
    pg = None
    try:
        pg = playground.start(
            f"{bot.base.replace('127.0.0.1', 'localhost')}/api/messages",
            port=playground_port,
            log=workdir / "playground.log",
        )
        yield Running(bot.base, f"http://127.0.0.1:{playground_port}")
    finally:
        if pg is not None:
            playground.stop(pg)
        bot.stop()


class PlaygroundChat:
    """Talks to the Playground the way its web UI does: HTTP in, WebSocket stream out."""

    def __init__(self, session: aiohttp.ClientSession, base: str, ws: Any, config: Any) -> None:
        self._session = session
        self._base = base
        self._ws = ws
        self.config = config

    @property
    def personal_chat(self) -> str:
        return str(self.config["config"]["personalChat"]["id"])

    @property
    def group_chat(self) -> str:
        return str(self.config["config"]["groupChats"][0]["id"])

    @property
    def channel(self) -> str:
        return str(self.config["config"]["teams"][0]["channels"][0]["id"])

    async def send(
        self,
        conversation_id: str,
        text: str,
        *,
        user_id: str = "user-id-0",
        mention_bot: bool = False,
    ) -> dict[str, Any]:
        """Type a message; with `mention_bot`, @mention the bot first, as channels require."""
        body: dict[str, Any] = {"from": {"id": user_id}, "text": text, "textFormat": "plain"}
        if mention_bot:
            bot = self.config["config"]["bot"]
            tag = f"<at>{bot['name']}</at>"
            body |= {
                "text": f"{tag} {text}",
                "mentions": [{"mentioned": {"id": bot["id"]}, "text": tag}],
            }
        response = await self._session.post(
            f"{self._base}/_conversation/v1/conversations/{conversation_id}/messages", json=body
        )
        assert response.status == 200, await response.text()
        sent: dict[str, Any] = await response.json()
        return sent

    async def custom_activity(self, conversation_id: str, **fields: Any) -> None:
        """Send an activity of any type (e.g. an install) as the Playground's 'Mock' menu does."""
        template = await self._session.get(
            f"{self._base}/_internal/v1/customActivities/template",
            params={"conversationId": conversation_id},
        )
        body = {k: v for k, v in (await template.json()).items() if k != "text"} | fields
        response = await self._session.post(
            f"{self._base}/_internal/v1/customActivities",
            params={"conversationId": conversation_id},
            json=body,
        )
        assert response.status == 200, await response.text()

    async def submit(
        self,
        conversation_id: str,
        message: dict[str, Any],
        value: dict[str, Any],
        *,
        user_id: str = "user-id-0",
    ) -> None:
        """Press an Action.Submit button on a card the bot posted."""
        response = await self._session.post(
            f"{self._base}/_conversation/v1/submit",
            json={
                "conversation": {"id": conversation_id},
                "from": {"id": user_id},
                "replyToId": message["messageId"],
                "value": value,
            },
        )
        assert response.status in (200, 201, 202), await response.text()

    async def press(
        self,
        conversation_id: str,
        message: dict[str, Any],
        card: dict[str, Any],
        title: str,
        *,
        inputs: dict[str, Any] | None = None,
        user_id: str = "user-id-0",
    ) -> dict[str, Any]:
        """Press the Action.Execute button `title` of `card` (shown as `message`), as the
        Playground's web page does; returns the card the bot answered with."""
        [action] = [a for a in card["actions"] if a["title"] == title]
        response = await self._session.post(
            f"{self._base}/_conversation/v1/invoke",
            json={
                "name": "adaptiveCard/action",
                "conversation": {"id": conversation_id},
                "from": {"id": user_id},
                "replyToId": message["messageId"],
                "value": {
                    "action": {
                        "type": "Action.Execute",
                        "verb": action["verb"],
                        "data": {**action["data"], **(inputs or {})},
                    },
                    "trigger": "manual",
                },
            },
        )
        assert response.status == 200, await response.text()
        answer: dict[str, Any] = await response.json()
        assert answer["type"] == "application/vnd.microsoft.card.adaptive", answer
        shown: dict[str, Any] = answer["value"]
        return shown

    async def next_bot_message(self, wait_seconds: float = 20) -> dict[str, Any]:
        """The next message the bot posted, as the Playground's chat shows it."""
        return await self.next_event(("createMessage",), wait_seconds)

    async def next_update(self, wait_seconds: float = 20) -> dict[str, Any]:
        """The next message the bot changed in place (a card replaced after a button press)."""
        return await self.next_event(("updateMessage",), wait_seconds)

    async def next_event(
        self,
        actions: tuple[str, ...] = ("createMessage", "updateMessage"),
        wait_seconds: float = 20,
    ) -> dict[str, Any]:
        """The next new or changed bot message, with `action` and where it is shown."""
        async with asyncio.timeout(wait_seconds):
            while True:
                frame = await self._ws.receive()
                if frame.type != aiohttp.WSMsgType.TEXT:
                    raise AssertionError(f"Playground stream ended: {frame!r}")
                event = json.loads(frame.data)
                if event.get("action") in actions:
                    # Where the chat shows it: a chat, or a channel post's thread.
                    message: dict[str, Any] = {
                        **event["message"],
                        "action": event["action"],
                        "shownIn": event.get("actionConversationId"),
                    }
                    return message


@pytest.fixture
async def chat(running: Running) -> AsyncIterator[PlaygroundChat]:
    async with aiohttp.ClientSession() as session:
        config = await (await session.get(f"{running.playground_url}/_internal/v1/config")).json()
        async with session.ws_connect(
            f"{running.playground_url}/_ws_conversation/v1/conversations/stream"
        ) as ws:
            yield PlaygroundChat(session, running.playground_url, ws, config)
