"""`python app.py` with DATABASE_URL: it serves from PostgreSQL, and one it cannot reach stops
it with one line that names the database without its password."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx

from tests.processes import free_port, run_until_it_stops, start


async def test_app_py_serves_from_postgresql_and_names_it_without_a_password(
    postgres_url: str, tmp_path: Path
) -> None:
    app = await asyncio.to_thread(start, {"DATABASE_URL": postgres_url}, tmp_path)
    try:
        async with httpx.AsyncClient() as client:
            health = await client.get(f"{app.base}/healthz")
    finally:
        output = await asyncio.to_thread(app.stop)

    assert health.status_code == 200
    assert health.json()["status"] == "ok"
    assert f"storage: PostgreSQL at {postgres_url}" in output  # the tests' server has no password
    assert not list((tmp_path / "data").glob("bot.sqlite3*"))


def test_app_py_stops_in_one_line_when_postgresql_cannot_be_reached(tmp_path: Path) -> None:
    url = f"postgresql://bot:pw-in-url@127.0.0.1:{free_port()}/bot"  # nothing listens there

    result = run_until_it_stops({"DATA_DIR": str(tmp_path / "data"), "DATABASE_URL": url}, tmp_path)

    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert "pw-in-url" not in result.stderr + result.stdout
    last = result.stderr.strip().splitlines()[-1]
    assert "cannot use PostgreSQL at postgresql://bot:***@127.0.0.1:" in last
    assert last.endswith("check DATABASE_URL and the server")
