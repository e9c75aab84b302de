"""A Graph that refuses the bot's tokens as meant for another resource is a configuration error.

Real Graph answers such a token 401 InvalidAuthenticationToken, "Access token validation
failure. Invalid audience.", as the sandbox Graph does. Signing in again would only fetch
another token for the same resource, so the bot must not ask for it; nor after any 401 for a
token fresh from the sign-in the request waited for.
"""

from __future__ import annotations

import logging
from typing import Any

import httpx
import pytest

from graph import GraphError, GraphUnauthorized, GraphWrongAudience
from graph.errors import error_from_response
from sandbox.graph import SandboxGraph
from tests.conftest import (
    BotClient,
    Connector,
    MakeBot,
    complete_sign_in,
    say,
    sign_in,
    sign_in_url,
)

# The Graph of another cloud: it takes no token the sandbox's identity provider issues.
ANOTHER_CLOUDS_GRAPH = ("https://graph.microsoft.us",)
CONFIGURATION_ERROR = (
    "Microsoft Teams refused my request because I'm set up for a different Microsoft cloud than "
    "your sign-in; your admin needs to fix my configuration (signing in again won't help). "
    "No meeting was created. (request-id "
)


@pytest.fixture
async def bot(make_bot: MakeBot) -> BotClient:
    return await make_bot(SKIP_CONFIRMATION="true")


def is_sign_in_card(message: dict[str, Any]) -> bool:
    return any(
        action.get("title") == "Sign in"
        for attachment in message.get("attachments") or []
        for action in attachment["content"].get("actions", [])
    )


async def test_a_signed_in_user_gets_one_line_and_the_admin_a_configuration_error(
    bot: BotClient,
    connector: Connector,
    sandbox_graph: SandboxGraph,
    caplog: pytest.LogCaptureFixture,
) -> None:
    await sign_in(bot, connector)
    sandbox_graph.audiences = ANOTHER_CLOUDS_GRAPH

    for _ in range(2):  # and the same again: no sign-in prompt comes back in between
        [answer] = await say(bot, connector, "/meet Standup now")
        assert not is_sign_in_card(answer)
        assert answer["text"].startswith(CONFIGURATION_ERROR)

    assert sandbox_graph.meetings() == []
    assert [r.status for r in sandbox_graph.requests] == [401, 401]
    [error, _] = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert error.getMessage().startswith("configuration error: Graph refused the token")
    assert "Invalid audience" in error.getMessage()


async def test_signing_in_does_not_lead_to_another_sign_in_prompt(
    bot: BotClient, connector: Connector, sandbox_graph: SandboxGraph
) -> None:
    sandbox_graph.audiences = ANOTHER_CLOUDS_GRAPH
    [card] = await say(bot, connector, "/meet Standup now")
    assert is_sign_in_card(card)

    page = await complete_sign_in(sign_in_url(card), username="alexw@example.com")

    assert page.status_code == 200
    answer = connector.updates[-1]  # in place of the sign-in card
    assert answer["id"] == card["id"]
    assert not is_sign_in_card(answer)
    assert answer["text"].startswith(CONFIGURATION_ERROR)
    assert sandbox_graph.meetings() == []


async def test_any_401_for_a_token_just_signed_in_for_ends_the_request_instead_of_asking_again(
    bot: BotClient,
    connector: Connector,
    sandbox_graph: SandboxGraph,
    caplog: pytest.LogCaptureFixture,
) -> None:
    [card] = await say(bot, connector, "/meet Standup now")
    # Whatever Graph's reason, a token fresh from a sign-in was refused: signing in again
    # would bring another like it.
    sandbox_graph.faults.fail_next(401, message="Access token validation failure.")

    await complete_sign_in(sign_in_url(card), username="alexw@example.com")

    answer = connector.updates[-1]
    assert answer["id"] == card["id"]
    assert not is_sign_in_card(answer)
    assert answer["text"].startswith(
        "Microsoft didn't accept the sign-in you just completed, so signing in again won't "
        "help; your admin needs to check my configuration. No meeting was created. (request-id "
    )
    [error] = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert "configuration error: Graph refused the token of a sign-in" in error.getMessage()


async def test_a_401_for_an_older_token_still_asks_to_sign_in_again(
    bot: BotClient, connector: Connector, sandbox_graph: SandboxGraph
) -> None:
    await sign_in(bot, connector)
    sandbox_graph.faults.fail_next(401, message="Access token has expired or is not yet valid.")

    [answer] = await say(bot, connector, "/meet Standup now")

    assert is_sign_in_card(answer)


@pytest.mark.parametrize(
    ("message", "kind"),
    [
        ("Access token validation failure. Invalid audience.", GraphWrongAudience),
        ("Access token has expired or is not yet valid.", GraphUnauthorized),
        ("Access token is empty.", GraphUnauthorized),
    ],
)
def test_only_a_401_for_another_audience_is_told_apart_from_an_expired_sign_in(
    message: str, kind: type[GraphError]
) -> None:
    response = httpx.Response(
        401, json={"error": {"code": "InvalidAuthenticationToken", "message": message}}
    )

    error = error_from_response(response, "client-request-id")

    assert type(error) is kind
    assert error.status == 401
