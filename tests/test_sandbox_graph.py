"""The sandbox Graph's documented behaviour, checked over raw HTTP where the client can't reach."""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from sandbox.graph import SandboxGraph
from sandbox.identity import SandboxIdentity
from tests.conftest import ALEX


@pytest.fixture
async def http(
    graph_server: tuple[SandboxGraph, str], identity: SandboxIdentity
) -> AsyncIterator[httpx.AsyncClient]:
    headers = {"Authorization": f"Bearer {identity.issue_user_token(ALEX)}"}
    async with httpx.AsyncClient(base_url=graph_server[1], headers=headers) as client:
        yield client


async def test_omitted_times_default_to_now_and_one_hour(http: httpx.AsyncClient) -> None:
    before = datetime.now(UTC)
    response = await http.post("/me/onlineMeetings", json={"subject": "Quick chat"})

    assert response.status_code == 201
    body = response.json()
    start = datetime.fromisoformat(body["startDateTime"])
    assert before - timedelta(seconds=1) <= start <= datetime.now(UTC)
    assert datetime.fromisoformat(body["endDateTime"]) - start == timedelta(hours=1)
    assert body["startDateTime"].endswith("0Z")
    assert len(body["startDateTime"]) == 28


async def test_only_start_gives_an_hour_and_only_end_is_refused(http: httpx.AsyncClient) -> None:
    only_start = await http.post(
        "/me/onlineMeetings", json={"startDateTime": "2030-05-01T09:00:00-07:00"}
    )
    only_end = await http.post("/me/onlineMeetings", json={"endDateTime": "2030-05-01T10:00:00Z"})

    assert only_start.json()["startDateTime"] == "2030-05-01T16:00:00.0000000Z"
    assert only_start.json()["endDateTime"] == "2030-05-01T17:00:00.0000000Z"
    assert only_end.status_code == 400


async def test_passcode_only_when_required_and_never_a_custom_one(http: httpx.AsyncClient) -> None:
    with_code = await http.post(
        "/me/onlineMeetings", json={"joinMeetingIdSettings": {"isPasscodeRequired": True}}
    )
    without = await http.post(
        "/me/onlineMeetings", json={"joinMeetingIdSettings": {"isPasscodeRequired": False}}
    )
    custom = await http.post(
        "/me/onlineMeetings",
        json={"joinMeetingIdSettings": {"isPasscodeRequired": True, "passcode": "secret1"}},
    )

    assert re.fullmatch(r"[A-Za-z0-9]{8}", with_code.json()["joinMeetingIdSettings"]["passcode"])
    assert without.json()["joinMeetingIdSettings"]["passcode"] is None
    assert re.fullmatch(r"[1-9]\d{12}", without.json()["joinMeetingIdSettings"]["joinMeetingId"])
    assert custom.status_code == 400


async def test_read_only_members_in_the_request_are_ignored(http: httpx.AsyncClient) -> None:
    response = await http.post(
        "/me/onlineMeetings", json={"subject": "x", "joinWebUrl": "https://evil.example/"}
    )
    assert response.json()["joinWebUrl"].startswith("https://teams.microsoft.com/")


async def test_create_or_get_needs_an_external_id_and_ignores_the_passcode_flag(
    http: httpx.AsyncClient,
) -> None:
    missing = await http.post("/me/onlineMeetings/createOrGet", json={"subject": "x"})
    created = await http.post(
        "/me/onlineMeetings/createOrGet",
        json={"externalId": "e1", "joinMeetingIdSettings": {"isPasscodeRequired": True}},
    )

    assert missing.status_code == 400
    assert created.status_code == 201
    assert created.json()["joinMeetingIdSettings"]["passcode"] is None  # tenant default


async def test_errors_use_graphs_envelope_and_headers(
    http: httpx.AsyncClient, graph_server: tuple[SandboxGraph, str]
) -> None:
    response = await http.post(
        "/me/onlineMeetings",
        json={"startDateTime": "2030-01-01T10:00:00Z", "endDateTime": "2030-01-01T09:00:00Z"},
        headers={"client-request-id": "11111111-2222-3333-4444-555555555555"},
    )

    assert response.status_code == 400
    assert response.headers["Content-Type"].startswith("application/json")
    error = response.json()["error"]
    assert set(error) == {"code", "message", "innerError"}
    inner = error["innerError"]
    assert inner["request-id"] == response.headers["request-id"]
    assert inner["client-request-id"] == response.headers["client-request-id"]
    assert response.headers["client-request-id"] == "11111111-2222-3333-4444-555555555555"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", inner["date"])  # no offset, as Graph
    assert graph_server[0].meetings() == []


async def test_without_client_request_id_graph_echoes_its_own_request_id(
    http: httpx.AsyncClient,
) -> None:
    response = await http.post("/me/onlineMeetings", json={})
    assert response.headers["client-request-id"] == response.headers["request-id"]


async def test_unauthorized_answers_carry_www_authenticate(
    graph_server: tuple[SandboxGraph, str],
) -> None:
    async with httpx.AsyncClient(base_url=graph_server[1]) as http:
        response = await http.post("/me/onlineMeetings", json={})
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith('Bearer realm=""')
    assert response.json()["error"]["code"] == "InvalidAuthenticationToken"


async def test_me_with_an_application_token_is_refused(
    graph_server: tuple[SandboxGraph, str], identity: SandboxIdentity
) -> None:
    headers = {"Authorization": f"Bearer {identity.issue_app_token()}"}
    async with httpx.AsyncClient(base_url=graph_server[1], headers=headers) as http:
        response = await http.post("/me/onlineMeetings", json={})
    assert response.status_code == 400
    assert "delegated" in response.json()["error"]["message"]


async def test_throttling_body_matches_the_documented_sample(
    http: httpx.AsyncClient, graph_server: tuple[SandboxGraph, str]
) -> None:
    graph_server[0].faults.fail_next(429, retry_after=10, times=2)
    first = await http.post("/me/onlineMeetings", json={})
    second = await http.post("/me/onlineMeetings", json={})
    third = await http.post("/me/onlineMeetings", json={})

    assert [r.status_code for r in (first, second, third)] == [429, 429, 201]
    assert first.headers["Retry-After"] == "10"
    error = first.json()["error"]
    assert (error["code"], error["message"]) == ("TooManyRequests", "Please retry again later.")
    assert error["innerError"]["code"] == "429"
    assert error["innerError"]["status"] == "429"


async def test_added_latency_delays_answers(
    http: httpx.AsyncClient, graph_server: tuple[SandboxGraph, str]
) -> None:
    graph_server[0].faults.latency = 0.2
    started = time.perf_counter()
    response = await http.post("/me/onlineMeetings", json={})
    assert response.status_code == 201
    assert time.perf_counter() - started >= 0.2


async def test_recorded_requests_never_keep_the_bearer_token(
    http: httpx.AsyncClient, graph_server: tuple[SandboxGraph, str]
) -> None:
    await http.post("/me/onlineMeetings", json={"subject": "x"})
    [recorded] = graph_server[0].requests
    assert recorded.headers["Authorization"] == "Bearer <redacted>"
    assert recorded.body == {"subject": "x"}


async def test_what_the_stand_in_keeps_is_bounded(
    aiohttp_server: Any, identity: SandboxIdentity
) -> None:
    # In sandbox mode it lives in the bot's process: a soak must not grow it without end.
    graph = SandboxGraph(identity, requests_kept=4, meetings_kept=3)
    server = await aiohttp_server(graph.app())
    headers = {"Authorization": f"Bearer {identity.issue_user_token(ALEX)}"}
    async with httpx.AsyncClient(base_url=str(server.make_url("/v1.0")), headers=headers) as http:
        ids = [
            (
                await http.post("/me/onlineMeetings/createOrGet", json={"externalId": f"r{n}"})
            ).json()["id"]
            for n in range(5)
        ]
        oldest = await http.get(f"/me/onlineMeetings/{ids[0]}")
        newest = await http.get(f"/me/onlineMeetings/{ids[-1]}")
        again = await http.post("/me/onlineMeetings/createOrGet", json={"externalId": "r4"})

    assert [m["id"] for m in graph.meetings()] == ids[2:]
    assert (oldest.status_code, newest.status_code) == (404, 200)
    assert (again.status_code, again.json()["id"]) == (200, ids[-1])
    assert 2 <= len(graph.requests) <= 4  # the newest half at least
    assert [r.method for r in graph.requests[-2:]] == ["GET", "POST"]
