"""The sandbox as a process of its own, for several bot instances to share.

    python -m sandbox [--port 3979] [--client APP_ID=SECRET]... [--env-file sandbox.env]

In sandbox mode each bot process starts a sandbox of its own; instances that must see one Graph
and one identity provider (several processes on one PostgreSQL) run the bot in live mode instead,
pointed here by the endpoint settings a deployment in another cloud would use. This prints those
settings (and writes them to --env-file); the bot's own MicrosoftAppId, MicrosoftAppPassword and
Bot Framework settings come from its operator, as in any deployment.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
from pathlib import Path

from sandbox.identity import SANDBOX_TENANT_ID
from sandbox.server import SandboxServer


def endpoint_settings(sandbox: SandboxServer) -> dict[str, str]:
    """The bot's settings that point it at `sandbox` instead of Entra ID and Graph."""
    return {
        "MicrosoftAppTenantId": SANDBOX_TENANT_ID,
        "AUTH_AUTHORITY": sandbox.authority(SANDBOX_TENANT_ID),
        "ToChannelFromBotLoginUrl": sandbox.authority(SANDBOX_TENANT_ID),
        "GRAPH_BASE_URL": sandbox.graph_url,
        # MSAL (requests) then trusts the sandbox's made-up certificate, and only it.
        "REQUESTS_CA_BUNDLE": str(sandbox.ca_bundle),
        **sandbox.identity_environment,
    }


def _client(value: str) -> tuple[str, str]:
    app_id, separator, secret = value.partition("=")
    if not separator or not app_id or not secret:
        raise argparse.ArgumentTypeError("expected APP_ID=SECRET")
    return app_id, secret


async def _serve(args: argparse.Namespace) -> None:
    sandbox = SandboxServer(
        port=args.port, state_dir=args.state_dir, virtual_users=args.virtual_users
    )
    sandbox.graph.faults.latency = args.graph_latency
    for app_id, secret in args.client:
        sandbox.idp.clients[app_id] = secret  # an app registration and its client secret
    await sandbox.start()
    try:
        lines = "".join(f"{name}={value}\n" for name, value in endpoint_settings(sandbox).items())
        if args.env_file is not None:
            partial = args.env_file.with_name(args.env_file.name + ".partial")
            partial.write_text(lines)
            os.replace(partial, args.env_file)  # whoever waits for it reads it whole
        sys.stdout.write(f"# The sandbox is up. Point each bot instance at it with:\n{lines}")
        sys.stdout.flush()
        stopped = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stopped.set)
        await stopped.wait()
    finally:
        await sandbox.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m sandbox",
        description="Run the sandbox Entra ID and Graph on loopback, for bot instances to share.",
    )
    parser.add_argument(
        "--port", type=int, default=3979, help="Graph and the sign-in page (0: any free port)"
    )
    parser.add_argument(
        "--client",
        type=_client,
        action="append",
        default=[],
        metavar="APP_ID=SECRET",
        help="an app registration the identity provider accepts (the bot's MicrosoftAppId)",
    )
    parser.add_argument(
        "--state-dir", type=Path, help="keep the signing key and refresh tokens here"
    )
    parser.add_argument(
        "--virtual-users", type=int, default=0, help="extra directory users (benchmarks)"
    )
    parser.add_argument(
        "--graph-latency", type=float, default=0.0, help="seconds Graph waits before answering"
    )
    parser.add_argument("--env-file", type=Path, help="also write the settings to this file")
    asyncio.run(_serve(parser.parse_args(argv)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
