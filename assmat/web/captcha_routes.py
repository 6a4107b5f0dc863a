"""The captcha's image and audio, on tenant hosts only. The forms embed them with _captcha.html."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from assmat.auth import captcha
from assmat.auth.ratelimit import hit

RENDERS_PER_CHALLENGE = 6  # the image, the audio and a few reloads of the page

Renderer = Callable[[AsyncSession, str, str, object], Awaitable[bytes | None]]

# Each request draws new noise: nothing may be cached, or shared between users by a proxy.
NO_STORE = {"cache-control": "no-store"}


async def _serve(request: Request, renderer: Renderer, media_type: str) -> Response:
    tenant = request.scope.get("tenant")
    if tenant is None:
        raise HTTPException(404)
    async with request.app.state.sessionmaker() as session:
        # Each render draws fresh noise: many renders of one code could be averaged by a bot.
        allowed = await hit(
            session, tenant.slug, "captcha_render", str(request.path_params["challenge_id"])[:64],
            limit=RENDERS_PER_CHALLENGE, window=timedelta(minutes=10),
        )
        await session.commit()
        if not allowed:
            raise HTTPException(429)
        body = await renderer(
            session, tenant.slug, request.app.state.settings.effective_secret_key, request.path_params["challenge_id"]
        )
    if body is None:  # unknown, used, expired or another tenant's: all the same
        raise HTTPException(404)
    return Response(body, media_type=media_type, headers=NO_STORE)


async def captcha_image(request: Request) -> Response:
    return await _serve(request, captcha.render_image, "image/png")


async def captcha_audio(request: Request) -> Response:
    return await _serve(request, captcha.render_audio, "audio/wav")


routes = [
    Route("/captcha/{challenge_id}.png", captcha_image, name="captcha_image"),
    Route("/captcha/{challenge_id}.wav", captcha_audio, name="captcha_audio"),
]
