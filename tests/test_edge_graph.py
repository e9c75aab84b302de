"""Hostile values on the way to Graph and back: the user's locale becomes a header, Graph's
Retry-After becomes a sentence. Through HTTP, with a signed-in user and the sandbox Graph."""

from __future__ import annotations

import asyncio

import pytest

from bot.web.keys import SANDBOX
from sandbox.graph import SandboxGraph
from tests.conftest import BotClient, Connector, MakeBot, card_of, say, sign_in


@pytest.fixture
async def bot(make_bot: MakeBot) -> BotClient:
    """Graph's first answer is final (no retries), so a throttled create is reported at once."""
    return await make_bot(SKIP_CONFIRMATION="true", GRAPH_RETRY_BUDGET_SECONDS="0")


@pytest.fixture
async def signed_in(bot: BotClient, connector: Connector) -> None:
    await sign_in(bot, connector)


@pytest.mark.usefixtures("signed_in")
@pytest.mark.parametrize(
    "locale",
    [
        "en\r\nX-Injected: 1",
        "en-US\n",
        "🎉",
        "a" * 10_000,
        "en-US; q=0.9, *",
        "",
        "x",
        "en--US",
    ],
    ids=["crlf", "newline", "emoji", "10kb", "list", "empty", "one-letter", "empty-subtag"],
)
async def test_a_locale_that_is_no_language_tag_is_treated_as_absent(
    bot: BotClient, connector: Connector, sandbox_graph: SandboxGraph, locale: str
) -> None:
    [reply] = await say(bot, connector, "/meet Standup tomorrow 9am", locale=locale)

    assert card_of(reply)["body"][0]["text"] == "Standup"  # the meeting card, no apology
    assert "Accept-Language" not in sandbox_graph.requests[-1].headers
    assert len(sandbox_graph.meetings()) == 1


@pytest.mark.usefixtures("signed_in")
@pytest.mark.parametrize("locale", ["de-DE", "zh-Hant-TW", "es-419", "fil"])
async def test_a_language_tag_still_reaches_graph(
    bot: BotClient, connector: Connector, sandbox_graph: SandboxGraph, locale: str
) -> None:
    await say(bot, connector, "/meet Standup tomorrow 9am", locale=locale)
    assert sandbox_graph.requests[-1].headers["Accept-Language"] == locale


@pytest.mark.usefixtures("signed_in")
@pytest.mark.parametrize(
    ("retry_after", "expected"),
    [
        ("inf", "Please try again shortly."),
        ("nan", "Please try again shortly."),
        ("-30", "Please try again shortly."),
        ("tomorrow", "Please try again shortly."),
        ("1e9", "Please try again in 120 seconds."),
        ("7", "Please try again in 7 seconds."),
    ],
)
async def test_graphs_retry_after_becomes_a_sensible_wait_in_the_reply(
    bot: BotClient,
    connector: Connector,
    sandbox_graph: SandboxGraph,
    retry_after: str,
    expected: str,
) -> None:
    sandbox_graph.faults.fail_next(429, retry_after=retry_after)

    [reply] = await say(bot, connector, "/meet Standup tomorrow 9am")

    problem = card_of(reply)["body"][0]["text"]
    assert problem.startswith("Microsoft Teams is busy right now. No meeting was created.")
    assert expected in problem
    assert sandbox_graph.meetings() == []


async def test_a_retry_after_of_infinity_or_nan_never_stalls_a_retry(
    make_bot: MakeBot, connector: Connector
) -> None:
    # createOrGet (the tenant decides the passcode): a 503 on it is safe to retry.
    bot = await make_bot(
        SKIP_CONFIRMATION="true", GRAPH_RETRY_BUDGET_SECONDS="3", PASSCODE_POLICY="tenant"
    )
    await sign_in(bot, connector)
    graph = bot.app[SANDBOX].graph
    graph.faults.fail_next(429, retry_after="nan")
    graph.faults.fail_next(503, retry_after="inf")

    [reply] = await asyncio.wait_for(say(bot, connector, "/meet Standup tomorrow 9am"), 5)

    assert card_of(reply)["body"][0]["text"] == "Standup"  # retried after a short backoff
    assert [r.status for r in graph.requests[-3:]] == [429, 503, 201]
