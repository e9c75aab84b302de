"""The sign-in web routes: /auth/start sends the browser to the identity provider, and
/auth/callback brings the answer back, then continues the waiting request in Teams."""

from __future__ import annotations

import logging

from aiohttp import web

from bot.identity.signin import SignInAttempt, SignInLinkInvalid
from bot.identity.tokens import SignInFailed
from bot.state.store import StorageUnavailable
from bot.web.keys import ADAPTER, BOT, SIGN_IN
from bot.web.logs import activity_id
from bot.web.routes import html_page

log = logging.getLogger(__name__)


async def auth_start(request: web.Request) -> web.Response:
    try:
        authorize_url = await request.app[SIGN_IN].flows.start(request.query.get("id", ""))
    except SignInLinkInvalid as exc:
        return html_page("This sign-in link can't be used", f"{exc} {_AGAIN}", status=400)
    except StorageUnavailable:
        return _unavailable()
    raise web.HTTPFound(authorize_url)


async def auth_callback(request: web.Request) -> web.Response:
    form = {key: str(value) for key, value in (await request.post()).items()}
    try:
        return await _finish(request, form)
    except StorageUnavailable:
        return _unavailable()


def _unavailable() -> web.Response:
    return html_page(
        "Try again in a minute",
        "Meet can't reach its database right now. Open the link again in a minute; if it no "
        "longer works, go back to Microsoft Teams and type /signin for a new one.",
        status=503,
    )


async def _finish(request: web.Request, form: dict[str, str]) -> web.Response:
    sign_in = request.app[SIGN_IN]
    try:
        attempt, flow = await sign_in.flows.finish(form.get("state", ""))
    except SignInLinkInvalid as exc:
        return html_page("This sign-in link can't be used", f"{exc} {_AGAIN}", status=400)
    if "error" in form:
        log.info("sign-in ended at the identity provider: %s", form["error"])
        message = "The sign-in was cancelled or refused, so nothing was saved."
        await _tell(request, attempt, None)
        return html_page("Not signed in", f"{message} {_AGAIN}", status=400)
    try:
        await sign_in.tokens.complete_sign_in(attempt.user, flow, form)
    except SignInFailed as exc:
        await _tell(request, attempt, exc)
        return html_page("Not signed in", f"{exc} {_AGAIN}", status=403)
    await _continue(request, attempt)
    return html_page("You're signed in", "You can close this tab and go back to Microsoft Teams.")


_AGAIN = "Go back to Microsoft Teams and type /signin for a new link."


async def _continue(request: web.Request, attempt: SignInAttempt) -> None:
    activity_id.set(attempt.address.activity_id)  # log lines name the activity that asked
    await request.app[BOT].resume_after_sign_in(request.app[ADAPTER], attempt.user, attempt.address)


async def _tell(request: web.Request, attempt: SignInAttempt, error: SignInFailed | None) -> None:
    """Say in the chat that asked that the sign-in failed (None: it was cancelled), in its
    language; the browser's page stays English."""
    activity_id.set(attempt.address.activity_id)
    await request.app[BOT].sign_in_failed(request.app[ADAPTER], attempt.address, error)
