"""Several bot processes on one PostgreSQL, sharing one sandbox process, in live mode.

The sandbox runs as a process of its own (`python -m sandbox`), and every instance is pointed at
it by the endpoint settings a deployment in another cloud uses (GRAPH_BASE_URL, AUTH_AUTHORITY,
ToChannelFromBotLoginUrl): one Graph and one identity provider for all of them, as in Azure.
Bot Framework signs each activity, and the Bot Connector takes a reply only with the bot's token.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.fernet import Fernet

from sandbox.identity import DEFAULT_USERS, SANDBOX_TENANT_ID
from tests.bot_framework_issuer import BotFrameworkIssuer
from tests.conftest import (
    ALEX,
    MEGAN,
    Connector,
    activity,
    card_of,
    complete_sign_in,
    pressing,
    sign_in_url,
)
from tests.processes import SandboxProcess, free_port, start, start_sandbox
from tests.sink import BotTokenCheck
from tests.test_container import entry_command, run_image_command, wait_or_kill

APP_ID = "5c1e9a47-2b3d-4e8f-9a6b-0c7d8e9f1a2b"
SECRET = "scale-out-test-secret"
ADELE = DEFAULT_USERS[2]


@pytest.fixture
def issuer() -> Iterator[BotFrameworkIssuer]:
    server = BotFrameworkIssuer()
    yield server
    server.close()


def shared_settings(
    sandbox: SandboxProcess, issuer: BotFrameworkIssuer, database_url: str, **env: str
) -> dict[str, str]:
    """What every instance is given: one app, one key ring, one database, one sandbox."""
    return {
        **sandbox.settings,
        "MicrosoftAppId": APP_ID,
        "MicrosoftAppPassword": SECRET,
        "BotOpenIdMetadata": issuer.metadata_url,
        "DATABASE_URL": database_url,
        "SKIP_CONFIRMATION": "true",
        **env,
    }


def check_bot_tokens(connector: Connector, sandbox: SandboxProcess) -> None:
    connector.check = BotTokenCheck(sandbox.signing_key(), APP_ID, SANDBOX_TENANT_ID)


async def deliver(
    http: httpx.AsyncClient, base: str, issuer: BotFrameworkIssuer, body: dict[str, Any]
) -> int:
    """Deliver `body` as Teams does: again, the same activity, while the bot fails to take it
    (no answer, a dropped connection, a 5xx); returns how many deliveries it took."""
    token = issuer.token(audience=APP_ID, service_url=body["serviceUrl"])
    for attempt in range(1, 31):
        try:
            response = await http.post(
                f"{base}/api/messages",
                json=body,
                headers={"Authorization": f"Bearer {token}"},
                timeout=30,
            )
        except httpx.TransportError:
            pass
        else:
            if response.status_code < 500:
                assert response.status_code in (200, 201), response.text
                return attempt
        await asyncio.sleep(0.5)
    raise AssertionError("the bot never took the activity")


async def press(
    http: httpx.AsyncClient,
    base: str,
    issuer: BotFrameworkIssuer,
    connector: Connector,
    message: dict[str, Any],
    title: str,
) -> dict[str, Any]:
    """Press the card button `title` (an adaptiveCard/action invoke); the card it answers with."""
    body = pressing(connector, message, title)
    token = issuer.token(audience=APP_ID, service_url=connector.url)
    response = await http.post(
        f"{base}/api/messages", json=body, headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 200, response.text
    shown: dict[str, Any] = response.json()["value"]
    return shown


def meeting_cards(sent: list[dict[str, Any]], subject: str) -> list[dict[str, Any]]:
    return [
        card_of(reply)
        for reply in sent
        if reply.get("attachments")
        and card_of(reply)["body"][0]["text"] == subject
        and card_of(reply)["actions"][0]["title"] == "Join meeting"
    ]


def text_of(reply: dict[str, Any]) -> str:
    text: str = reply.get("text") or card_of(reply)["body"][0]["text"]
    return text


# -- two `python app.py` instances -----------------------------------------------------------------


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[SandboxProcess]:
    process = start_sandbox(tmp_path, "--client", f"{APP_ID}={SECRET}")
    yield process
    process.stop()


async def test_sign_ins_dialogs_and_deliveries_span_instances(
    postgres_url: str,
    sandbox: SandboxProcess,
    issuer: BotFrameworkIssuer,
    connector: Connector,
    tmp_path: Path,
) -> None:
    """A sign-in started on A completes on B, a dialog goes back and forth between them, and one
    activity delivered to both at once makes one meeting."""
    check_bot_tokens(connector, sandbox)
    settings = shared_settings(
        sandbox, issuer, postgres_url, TOKEN_CACHE_KEY=Fernet.generate_key().decode()
    )
    port_a, port_b = free_port(), free_port()
    while port_b == port_a:
        port_b = free_port()
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    # Behind a balancer both would name its address; here A's sign-in links lead to B, as a
    # balancer may send them.
    a = start(
        settings | {"PORT": str(port_a), "PUBLIC_URL": f"http://127.0.0.1:{port_b}"}, tmp_path / "a"
    )
    b = start(
        settings | {"PORT": str(port_b), "PUBLIC_URL": f"http://127.0.0.1:{port_b}"}, tmp_path / "b"
    )
    try:
        async with httpx.AsyncClient() as http:

            async def say(instance: str, text: str) -> list[dict[str, Any]]:
                before = len(connector.activities)
                body = activity(text, service_url=connector.url)
                assert await deliver(http, instance, issuer, body) == 1
                return connector.activities[before:]

            [card] = await say(a.base, "/meet Standup now")
            assert sign_in_url(card).startswith(b.base)
            page = await complete_sign_in(sign_in_url(card), username=ALEX.upn)
            assert page.status_code == 200, page.text
            [meeting] = [card_of(update) for update in connector.updates]
            assert meeting["body"][0]["text"] == "Standup"

            [subject_question] = await say(a.base, "/meet")
            [start_question] = await say(b.base, "Design review")
            [length_question] = await say(a.base, "tomorrow 3pm")
            [confirmation] = await say(b.base, "45m")
            shown = await press(http, a.base, issuer, connector, confirmation, "Create")

            # One activity delivered to both at the same moment.
            before = len(connector.activities)
            same = activity("/meet Retro tomorrow 10am", service_url=connector.url)
            await asyncio.gather(*(deliver(http, x.base, issuer, same) for x in (a, b)))
            retro = meeting_cards(connector.activities[before:], "Retro")
    finally:
        a.stop()
        b.stop()

    assert text_of(subject_question) == "What is the meeting about?"
    assert "Design review" in str(start_question)
    assert "How long?" in str(length_question)
    assert card_of(confirmation)["body"][0]["text"] == "Create this meeting?"
    assert shown["body"][0]["text"] == "Design review"  # the card became the meeting, on A
    assert card_of(connector.updates[-1]) == shown
    graph = sandbox.graph()
    assert sorted(m["subject"] for m in graph["meetings"]) == ["Design review", "Retro", "Standup"]
    [retro_meeting] = [m for m in graph["meetings"] if m["subject"] == "Retro"]
    assert {card["actions"][0]["url"] for card in retro} == {retro_meeting["joinWebUrl"]}
    assert connector.check is not None
    assert connector.check.refused == 0


# -- two gunicorn workers on one port, one killed mid-burst --------------------------------------

GRAPH_LATENCY = 2.5  # seconds: the burst is waiting on Graph when a worker is killed


@pytest.fixture
def slow_sandbox(tmp_path: Path) -> Iterator[SandboxProcess]:
    process = start_sandbox(
        tmp_path, "--client", f"{APP_ID}={SECRET}", "--graph-latency", str(GRAPH_LATENCY)
    )
    yield process
    process.stop()


def workers(master: int) -> list[int]:
    """The processes whose parent is `master` (gunicorn's workers)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            # pid (name) state ppid …: the name may hold spaces, so split after its ")".
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:  # gone meanwhile
            continue
        if int(fields[1]) == master:
            found.append(int(stat.parent.name))
    return found


def connections_held(master: int, port: int) -> dict[int, int]:
    """How many established connections to `port` each worker of `master` holds."""
    open_on_port = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()  # local address, state (01: established) and inode
        if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == "01":
            open_on_port.add(f"socket:[{fields[9]}]")
    held = {}
    for pid in workers(master):
        count = 0
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            try:
                count += os.readlink(fd) in open_on_port
            except OSError:  # closed meanwhile
                continue
        held[pid] = count
    return held


async def kill_the_busier_worker(master: int, port: int, requests: int) -> tuple[int, int]:
    """Once every request's connection is open, SIGKILL the worker holding the most of them
    (the kernel hands connections to whichever worker accepts first); it and how many."""
    deadline = time.monotonic() + GRAPH_LATENCY / 2
    while True:
        held = connections_held(master, port)
        if sum(held.values()) >= requests or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.02)
    busiest = max(held, key=held.__getitem__)
    os.kill(busiest, signal.SIGKILL)
    return busiest, held[busiest]


async def test_a_worker_killed_mid_burst_leaves_every_request_one_meeting_and_one_card(
    postgres_url: str,
    slow_sandbox: SandboxProcess,
    issuer: BotFrameworkIssuer,
    connector: Connector,
    tmp_path: Path,
) -> None:
    """The container's command with two workers on one port: users sign in through it, then a
    burst of /meet requests is cut short by killing one worker (SIGKILL) while Graph works on
    them. Every request is delivered again until taken, as Teams does."""
    sandbox = slow_sandbox
    check_bot_tokens(connector, sandbox)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    # createOrGet: Graph's one create that can be repeated safely, so a create cut off by the
    # kill is asked for again rather than reported as unknown (PASSCODE_POLICY=tenant).
    settings = shared_settings(
        sandbox,
        issuer,
        postgres_url,
        TOKEN_CACHE_KEY=Fernet.generate_key().decode(),
        PASSCODE_POLICY="tenant",
        PUBLIC_URL=base,
        PORT=str(port),
        WEB_CONCURRENCY="2",
        HOST="127.0.0.1",
        # Each answer in its turn, even on a loaded machine, while one worker restarts.
        ANSWER_WITHIN_SECONDS="8",
    )
    server = run_image_command(entry_command(), settings, tmp_path)
    users = [ALEX, MEGAN, ADELE]
    requests = [
        activity(
            f"/meet Burst {n} tomorrow 9am",
            service_url=connector.url,
            user=users[n % len(users)],
            conversation_id=f"a:burst-{n}",  # each in a chat of its own: all at once
        )
        for n in range(18)
    ]
    try:
        async with httpx.AsyncClient() as http:
            await until_both_workers_serve(http, base, server.pid)
            for user in users:  # signs in through the balancer: a worker each, any
                before = len(connector.activities)
                body = activity(
                    f"/meet Kickoff {user.name} now",
                    service_url=connector.url,
                    user=user,
                    conversation_id=f"a:{user.oid}",
                )
                await deliver(http, base, issuer, body)
                [card] = connector.activities[before:]
                page = await complete_sign_in(sign_in_url(card), username=user.upn)
                assert page.status_code == 200, page.text

            burst = [asyncio.create_task(deliver(http, base, issuer, r)) for r in requests]
            killed, cut_off = await kill_the_busier_worker(server.pid, port, len(requests))
            deliveries = await asyncio.gather(*burst)
    finally:
        server.send_signal(signal.SIGTERM)
        wait_or_kill(server)
    log = (tmp_path / "out.log").read_text()

    assert cut_off > 0
    assert max(deliveries) > 1  # Teams had to deliver again
    graph = sandbox.graph()
    subjects = [m["subject"] for m in graph["meetings"]]
    for n in range(len(requests)):
        subject = f"Burst {n}"
        assert subjects.count(subject) == 1, subject
        [card] = meeting_cards(connector.activities, subject)
        [meeting] = [m for m in graph["meetings"] if m["subject"] == subject]
        assert card["actions"][0]["url"] == meeting["joinWebUrl"]
    assert sorted(subjects) == sorted(
        [f"Kickoff {u.name}" for u in users] + [f"Burst {n}" for n in range(len(requests))]
    )
    assert graph["created"] == len(users) + len(requests)
    assert [card_of(u)["body"][0]["text"] for u in connector.updates] == [
        f"Kickoff {u.name}" for u in users
    ]
    assert connector.check is not None
    assert connector.check.refused == 0
    assert f"pid:{killed}" in log  # gunicorn saw it die, and started another
    assert server.returncode == 0, log


async def until_both_workers_serve(http: httpx.AsyncClient, base: str, master: int) -> None:
    deadline = time.monotonic() + 60
    while len(workers(master)) < 2 or not await healthy(http, base):
        assert time.monotonic() < deadline, "gunicorn's two workers did not start"
        await asyncio.sleep(0.2)


async def healthy(http: httpx.AsyncClient, base: str) -> bool:
    try:
        return (await http.get(f"{base}/healthz", timeout=2)).status_code == 200
    except httpx.TransportError:
        return False
