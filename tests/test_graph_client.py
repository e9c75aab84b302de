"""The Graph client against the sandbox Graph over real HTTP: success paths and every error type."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from urllib.parse import unquote

import httpx
import pytest
from jsonschema import Draft202012Validator

from bot.framework.transport import open_client
from graph import (
    GraphBadRequest,
    GraphClient,
    GraphConflict,
    GraphError,
    GraphForbidden,
    GraphNotFound,
    GraphOutcomeUnknown,
    GraphThrottled,
    GraphUnauthorized,
    GraphUnavailable,
    GraphUnreachable,
    OnlineMeetingRequest,
)
from graph.client import RetryPolicy
from sandbox.graph import SandboxGraph
from sandbox.identity import SANDBOX_CLIENT_ID, SandboxIdentity
from tests.conftest import ALEX, MEGAN, NO_AUDIO, UNLICENSED
from tests.sleeps import Sleeps

START = datetime.now(UTC).replace(microsecond=0) + timedelta(days=1)


def request(**overrides: object) -> OnlineMeetingRequest:
    fields: dict[str, object] = {
        "subject": "Design review",
        "start": START,
        "end": START + timedelta(minutes=45),
        "passcode_required": True,
    }
    fields.update(overrides)
    if "external_id" in overrides and "passcode_required" not in overrides:
        fields["passcode_required"] = None  # createOrGet takes no passcode setting
    return OnlineMeetingRequest(**fields)  # type: ignore[arg-type]


async def test_create_returns_the_meeting_with_a_generated_passcode(
    graph_client: GraphClient, identity: SandboxIdentity, graph_server: tuple[SandboxGraph, str]
) -> None:
    meeting = await graph_client.create_meeting(identity.issue_user_token(ALEX), request())

    assert meeting.subject == "Design review"
    assert (meeting.start, meeting.end) == (START, START + timedelta(minutes=45))
    assert meeting.join_web_url.startswith(
        "https://teams.microsoft.com/l/meetup-join/19%3Ameeting_"
    )
    assert meeting.join_meeting_id is not None
    assert len(meeting.join_meeting_id) in (12, 13)
    assert meeting.join_meeting_id.isdigit()
    assert meeting.passcode_required
    assert meeting.passcode
    assert meeting.conference_id
    assert meeting.toll_number
    [stored] = graph_server[0].meetings()
    assert stored["id"] == meeting.id
    assert stored["chatInfo"]["threadId"].startswith("19:meeting_")
    assert stored["participants"]["organizer"]["identity"]["user"]["id"] == ALEX.oid
    assert stored["participants"]["organizer"]["upn"] == ALEX.upn


async def test_create_sends_exactly_the_documented_body_and_headers(
    graph_client: GraphClient, identity: SandboxIdentity, graph_server: tuple[SandboxGraph, str]
) -> None:
    await graph_client.create_meeting(
        identity.issue_user_token(ALEX), request(passcode_required=False), locale="de-DE"
    )

    [received] = graph_server[0].requests
    assert (received.method, received.path) == ("POST", "/v1.0/me/onlineMeetings")
    assert received.body == {
        "subject": "Design review",
        "startDateTime": START.strftime("%Y-%m-%dT%H:%M:%S.000000Z"),
        "endDateTime": (START + timedelta(minutes=45)).strftime("%Y-%m-%dT%H:%M:%S.000000Z"),
        "joinMeetingIdSettings": {"isPasscodeRequired": False},
    }
    assert received.headers["Accept-Language"] == "de-DE"
    assert received.headers["Content-Type"] == "application/json"
    assert received.headers["client-request-id"]


async def test_meeting_without_passcode_policy_has_no_passcode(
    graph_client: GraphClient, identity: SandboxIdentity
) -> None:
    meeting = await graph_client.create_meeting(
        identity.issue_user_token(ALEX), request(passcode_required=False)
    )
    assert meeting.passcode is None
    assert not meeting.passcode_required
    assert meeting.join_meeting_id


async def test_organizer_without_audio_conferencing_gets_no_dial_in(
    graph_client: GraphClient, identity: SandboxIdentity
) -> None:
    meeting = await graph_client.create_meeting(identity.issue_user_token(NO_AUDIO), request())
    assert meeting.conference_id is None
    assert meeting.toll_number is None


async def test_every_meeting_response_validates_against_graphs_schema(
    identity: SandboxIdentity,
    graph_server: tuple[SandboxGraph, str],
    meeting_schema: Draft202012Validator,
) -> None:
    token = identity.issue_user_token(ALEX)
    headers = {"Authorization": f"Bearer {token}", "Accept-Language": "fr-FR"}
    body = request().to_graph()
    async with httpx.AsyncClient(base_url=graph_server[1], headers=headers) as http:
        created = await http.post("/me/onlineMeetings", json=body)
        no_audio = await http.post(
            "/me/onlineMeetings",
            json=body,
            headers={"Authorization": f"Bearer {identity.issue_user_token(NO_AUDIO)}"},
        )
        first = await http.post("/me/onlineMeetings/createOrGet", json={"externalId": "x1"})
        again = await http.post("/me/onlineMeetings/createOrGet", json={"externalId": "x1"})
        fetched = await http.get(f"/me/onlineMeetings/{created.json()['id']}")

    for response in (created, no_audio, first, again, fetched):
        assert response.is_success, response.text
        errors = sorted(meeting_schema.iter_errors(response.json()), key=str)
        assert not errors, [e.message for e in errors]
    assert [r.status_code for r in (created, first, again, fetched)] == [201, 201, 200, 200]


async def test_create_or_get_returns_the_same_meeting_for_the_same_external_id(
    graph_client: GraphClient, identity: SandboxIdentity, graph_server: tuple[SandboxGraph, str]
) -> None:
    token = identity.issue_user_token(ALEX)
    first = await graph_client.create_or_get_meeting(token, request(external_id="req-42"))
    second = await graph_client.create_or_get_meeting(token, request(external_id="req-42"))
    other_user = await graph_client.create_or_get_meeting(
        identity.issue_user_token(MEGAN), request(external_id="req-42")
    )

    assert first.id == second.id
    assert graph_server[0].meetings()[0]["externalId"] == "req-42"
    assert other_user.id != first.id  # the key is (tenant, user, externalId)
    assert [r.status for r in graph_server[0].requests] == [201, 200, 201]
    assert len(graph_server[0].meetings()) == 2


async def test_get_and_delete_by_id(
    graph_client: GraphClient, identity: SandboxIdentity, graph_server: tuple[SandboxGraph, str]
) -> None:
    token = identity.issue_user_token(ALEX)
    created = await graph_client.create_meeting(token, request())

    fetched = await graph_client.get_meeting(token, created.id)
    await graph_client.delete_meeting(token, created.id)

    assert fetched == created
    assert graph_server[0].meetings() == []
    with pytest.raises(GraphNotFound) as caught:
        await graph_client.get_meeting(token, created.id)
    assert caught.value.code == "NotFound"


async def test_accept_language_sets_the_language_of_join_information(
    identity: SandboxIdentity, graph_server: tuple[SandboxGraph, str]
) -> None:
    headers = {"Authorization": f"Bearer {identity.issue_user_token(ALEX)}"}
    async with httpx.AsyncClient(base_url=graph_server[1], headers=headers) as http:
        german = await http.post(
            "/me/onlineMeetings", json=request().to_graph(), headers={"Accept-Language": "de-DE"}
        )
        default = await http.post("/me/onlineMeetings", json=request().to_graph())

    german_info = german.json()["joinInformation"]
    assert german_info["contentType"] == "html"
    assert german_info["content"].startswith("data:text/html,")
    assert "Besprechungs-ID" in unquote(german_info["content"])
    assert "Meeting ID" in unquote(default.json()["joinInformation"]["content"])


async def test_application_token_creates_for_a_user_covered_by_an_access_policy(
    graph_client: GraphClient, identity: SandboxIdentity, graph_server: tuple[SandboxGraph, str]
) -> None:
    graph_server[0].grant_access_policy(SANDBOX_CLIENT_ID, MEGAN.oid)

    meeting = await graph_client.create_meeting(
        identity.issue_app_token(), request(), user_id=MEGAN.oid
    )

    [stored] = graph_server[0].meetings()
    assert stored["participants"]["organizer"]["identity"]["user"]["id"] == MEGAN.oid
    assert stored["id"] == meeting.id
    assert graph_server[0].requests[-1].path == f"/v1.0/users/{MEGAN.oid}/onlineMeetings"


# -- every error, typed, with Graph's code, request-id and Retry-After --------------------------


async def test_end_before_start_is_a_bad_request(
    graph_client: GraphClient, identity: SandboxIdentity, graph_server: tuple[SandboxGraph, str]
) -> None:
    with pytest.raises(GraphBadRequest) as caught:
        await graph_client.create_meeting(
            identity.issue_user_token(ALEX), request(end=START - timedelta(minutes=1))
        )
    assert caught.value.status == 400
    assert caught.value.code == "BadRequest"
    assert caught.value.request_id == graph_server[0].requests[-1].request_id
    assert graph_server[0].meetings() == []


async def test_user_without_teams_licence_gets_authentication_error(
    graph_client: GraphClient, identity: SandboxIdentity
) -> None:
    with pytest.raises(GraphBadRequest) as caught:
        await graph_client.create_meeting(identity.issue_user_token(UNLICENSED), request())
    assert caught.value.code == "AuthenticationError"


@pytest.mark.parametrize(
    ("token_kind", "message"),
    [
        ("missing", "Access token is empty."),
        ("garbage", "CompactToken parsing failed"),
        ("expired", "Access token has expired or is not yet valid."),
        ("foreign", "CompactToken parsing failed"),
    ],
)
async def test_bad_bearer_tokens_are_unauthorized(
    graph_client: GraphClient, identity: SandboxIdentity, token_kind: str, message: str
) -> None:
    tokens = {
        "missing": "",
        "garbage": "not-a-jwt",
        "expired": identity.issue_user_token(ALEX, lifetime=-60),
        "foreign": SandboxIdentity().issue_user_token(ALEX),  # signed by another key
    }
    with pytest.raises(GraphUnauthorized) as caught:
        await graph_client.create_meeting(tokens[token_kind], request())
    assert caught.value.code == "InvalidAuthenticationToken"
    assert caught.value.message.startswith(message)


async def test_delegated_token_without_online_meetings_scope_is_forbidden(
    graph_client: GraphClient, identity: SandboxIdentity
) -> None:
    with pytest.raises(GraphForbidden) as caught:
        await graph_client.create_meeting(
            identity.issue_user_token(ALEX, scopes=["User.Read"]), request()
        )
    assert caught.value.code == "Forbidden"


async def test_users_path_with_another_users_delegated_token_is_forbidden(
    graph_client: GraphClient, identity: SandboxIdentity
) -> None:
    with pytest.raises(GraphForbidden):
        await graph_client.create_meeting(
            identity.issue_user_token(ALEX), request(), user_id=MEGAN.oid
        )


async def test_users_path_with_app_token_lacking_the_role_is_forbidden(
    graph_client: GraphClient, identity: SandboxIdentity, graph_server: tuple[SandboxGraph, str]
) -> None:
    graph_server[0].grant_access_policy(SANDBOX_CLIENT_ID)
    with pytest.raises(GraphForbidden):
        await graph_client.create_meeting(
            identity.issue_app_token(roles=["User.Read.All"]), request(), user_id=ALEX.oid
        )


async def test_users_path_without_application_access_policy_is_forbidden(
    graph_client: GraphClient, identity: SandboxIdentity, graph_server: tuple[SandboxGraph, str]
) -> None:
    graph_server[0].grant_access_policy(SANDBOX_CLIENT_ID, MEGAN.oid)  # someone else only
    with pytest.raises(GraphForbidden) as caught:
        await graph_client.create_meeting(identity.issue_app_token(), request(), user_id=ALEX.oid)
    assert caught.value.message == "No application access policy found for this app."
    assert graph_server[0].meetings() == []


async def test_unknown_meeting_is_not_found(
    graph_client: GraphClient, identity: SandboxIdentity
) -> None:
    with pytest.raises(GraphNotFound):
        await graph_client.get_meeting(identity.issue_user_token(ALEX), "bm8tc3VjaC1tZWV0aW5n")


async def test_conflict_is_typed(
    graph_client: GraphClient, identity: SandboxIdentity, graph_server: tuple[SandboxGraph, str]
) -> None:
    graph_server[0].faults.fail_next(409, message="The meeting was changed by someone else.")
    with pytest.raises(GraphConflict) as caught:
        await graph_client.create_meeting(identity.issue_user_token(ALEX), request())
    assert caught.value.code == "Conflict"


async def test_throttling_carries_retry_after_and_creates_nothing(
    graph_client: GraphClient, identity: SandboxIdentity, graph_server: tuple[SandboxGraph, str]
) -> None:
    graph_server[0].faults.fail_next(429, retry_after="2.128")
    with pytest.raises(GraphThrottled) as caught:
        await graph_client.create_meeting(identity.issue_user_token(ALEX), request())

    error = caught.value
    assert (error.code, error.retry_after) == ("TooManyRequests", 2.128)
    assert error.request_id == graph_server[0].requests[-1].request_id
    assert error.client_request_id == graph_server[0].requests[-1].headers["client-request-id"]
    assert graph_server[0].meetings() == []


@pytest.mark.parametrize(("status", "retry_after"), [(503, "10"), (503, None), (504, None)])
async def test_service_failures_are_unavailable(
    graph_client: GraphClient,
    identity: SandboxIdentity,
    graph_server: tuple[SandboxGraph, str],
    status: int,
    retry_after: str | None,
) -> None:
    graph_server[0].faults.fail_next(status, retry_after=retry_after)
    with pytest.raises(GraphUnavailable) as caught:
        await graph_client.create_or_get_meeting(
            identity.issue_user_token(ALEX), request(external_id="req-5xx")
        )
    assert caught.value.status == status
    assert caught.value.retry_after == (float(retry_after) if retry_after else None)


@pytest.mark.parametrize("status", [500, 502, 503, 504])
async def test_a_5xx_on_a_plain_create_is_an_unknown_outcome_and_not_sent_again(
    retrying: tuple[GraphClient, Sleeps],
    identity: SandboxIdentity,
    graph_server: tuple[SandboxGraph, str],
    status: int,
) -> None:
    client, sleeps = retrying
    graph_server[0].faults.fail_next(status, retry_after="1")

    with pytest.raises(GraphOutcomeUnknown) as caught:
        await client.create_meeting(identity.issue_user_token(ALEX), request())

    assert caught.value.status == status
    assert len(graph_server[0].requests) == 1
    assert sleeps.delays == []


# -- retries ------------------------------------------------------------------------------------


@pytest.fixture
async def retrying(
    graph_server: tuple[SandboxGraph, str],
) -> AsyncIterator[tuple[GraphClient, Sleeps]]:
    sleeps = Sleeps()
    async with open_client(timeout=httpx.Timeout(5.0), max_connections=10) as http:
        yield GraphClient(http, graph_server[1], retry=RetryPolicy(sleep=sleeps)), sleeps


async def test_throttling_is_retried_after_the_time_graph_asks_for(
    retrying: tuple[GraphClient, Sleeps],
    identity: SandboxIdentity,
    graph_server: tuple[SandboxGraph, str],
) -> None:
    client, sleeps = retrying
    graph_server[0].faults.fail_next(429, retry_after="2.128")
    graph_server[0].faults.fail_next(503, retry_after="1")

    meeting = await client.create_or_get_meeting(
        identity.issue_user_token(ALEX), request(external_id="req-retried")
    )

    assert sleeps.delays == [2.128, 1.0]
    assert [r.status for r in graph_server[0].requests] == [429, 503, 201]
    ids = {r.headers["client-request-id"] for r in graph_server[0].requests}
    assert len(ids) == 1  # one client-request-id traces all three attempts
    assert [m["id"] for m in graph_server[0].meetings()] == [meeting.id]


async def test_without_retry_after_the_backoff_grows_with_jitter(
    retrying: tuple[GraphClient, Sleeps],
    identity: SandboxIdentity,
    graph_server: tuple[SandboxGraph, str],
) -> None:
    client, sleeps = retrying
    graph_server[0].faults.fail_next(504, times=3)

    await client.create_or_get_meeting(identity.issue_user_token(ALEX), request(external_id="x"))

    first, second, third = sleeps.delays
    assert 0.25 <= first <= 0.5
    assert 0.5 <= second <= 1.0
    assert 1.0 <= third <= 2.0


async def test_retries_stop_at_the_budget_and_report_graphs_answer(
    retrying: tuple[GraphClient, Sleeps],
    identity: SandboxIdentity,
    graph_server: tuple[SandboxGraph, str],
) -> None:
    client, sleeps = retrying
    graph_server[0].faults.fail_next(429, retry_after="30", times=5)

    with pytest.raises(GraphThrottled) as caught:
        await client.create_meeting(identity.issue_user_token(ALEX), request())

    assert sleeps.delays == []  # 30 s is beyond the budget: say so now rather than wait
    assert caught.value.retry_after == 30
    assert graph_server[0].meetings() == []


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 500])
async def test_other_errors_are_not_retried(
    retrying: tuple[GraphClient, Sleeps],
    identity: SandboxIdentity,
    graph_server: tuple[SandboxGraph, str],
    status: int,
) -> None:
    client, sleeps = retrying
    graph_server[0].faults.fail_next(status)
    with pytest.raises(GraphError):
        await client.create_meeting(identity.issue_user_token(ALEX), request())
    assert len(graph_server[0].requests) == 1
    assert sleeps.delays == []


async def test_a_connection_that_never_opened_is_retried_then_reported(
    unused_tcp_port: int,
) -> None:
    sleeps = Sleeps()
    async with open_client(timeout=httpx.Timeout(2.0), max_connections=10) as http:
        client = GraphClient(
            http, f"http://127.0.0.1:{unused_tcp_port}/v1.0", retry=RetryPolicy(sleep=sleeps)
        )
        with pytest.raises(GraphUnreachable) as caught:
            await client.create_meeting("token", request())
    assert len(sleeps.delays) == 3  # four attempts in all
    assert isinstance(caught.value.__cause__, httpx.ConnectError)


class Unanswering:
    """A server that reads each request and then hangs up (or goes quiet) without answering:
    the request may have arrived, and nobody can tell whether it did anything."""

    def __init__(self, *, hang: bool = False) -> None:
        self.requests = 0
        self.hang = hang
        self.url = ""
        self._done = asyncio.Event()

    async def __aenter__(self) -> Unanswering:
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await reader.readuntil(b"\r\n\r\n")
            self.requests += 1
            if self.hang:
                await self._done.wait()
            writer.close()
            await writer.wait_closed()

        self._server = await asyncio.start_server(handle, "127.0.0.1", 0)
        self.url = f"http://127.0.0.1:{self._server.sockets[0].getsockname()[1]}/v1.0"
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._done.set()
        self._server.close()
        await self._server.wait_closed()
        await asyncio.sleep(0.05)  # let the handlers close their sockets


@pytest.mark.parametrize("hang", [False, True], ids=["hung-up", "read-timeout"])
async def test_a_create_that_may_have_arrived_is_not_sent_again(hang: bool) -> None:
    sleeps = Sleeps()
    async with (
        Unanswering(hang=hang) as server,
        open_client(timeout=httpx.Timeout(0.5), max_connections=10) as http,
    ):
        client = GraphClient(http, server.url, retry=RetryPolicy(sleep=sleeps))
        with pytest.raises(GraphOutcomeUnknown):
            await client.create_meeting("token", request())
    assert server.requests == 1
    assert sleeps.delays == []


async def test_create_or_get_is_sent_again_when_its_answer_was_lost() -> None:
    sleeps = Sleeps()
    async with (
        Unanswering() as server,
        open_client(timeout=httpx.Timeout(0.5), max_connections=10) as http,
    ):
        client = GraphClient(http, server.url, retry=RetryPolicy(sleep=sleeps))
        with pytest.raises(GraphOutcomeUnknown):  # it may exist; asking again is safe
            await client.create_or_get_meeting("token", request(external_id="x1"))
    assert server.requests == 4  # the same externalId cannot make a second meeting
