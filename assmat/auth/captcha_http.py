"""The captcha's image and audio, on tenant hosts only. The forms embed them with _captcha.html."""

from __future__ import annotations

from collections.abc import Callable

import anyio.to_thread
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from assmat.auth import captcha
from assmat.core.security.ratelimit import CAPTCHA_RENDER

RENDERS_PER_CHALLENGE = CAPTCHA_RENDER.limit  # the image, the audio and a few reloads of the page

# Each request draws new noise: nothing may be cached, or shared between users by a proxy.
NO_STORE = {"cache-control": "no-store"}


async def _serve(request: Request, draw: Callable[[str], bytes], media_type: str) -> Response:
    tenant = request.scope.get("tenant")
    if tenant is None:
        raise HTTPException(404)
    challenge_id = request.path_params["challenge_id"]
    async with request.app.state.sessionmaker() as session:
        # Validated before anything is counted: a made-up id writes no row, whoever sends it.
        answer = await captcha.live_answer(session, tenant.slug, request.app.state.settings.effective_secret_key, challenge_id)
        if answer is None:  # malformed, unknown, used, expired or another tenant's: all the same
            raise HTTPException(404)
        allowed = await CAPTCHA_RENDER.hit(session, tenant.slug, challenge_id)
        await session.commit()
    if not allowed:
        raise HTTPException(429)
    body = await anyio.to_thread.run_sync(draw, answer)
    return Response(body, media_type=media_type, headers=NO_STORE)


async def captcha_image(request: Request) -> Response:
    return await _serve(request, captcha.image_png, "image/png")


async def captcha_audio(request: Request) -> Response:
    return await _serve(request, captcha.audio_wav, "audio/wav")


routes = [
    Route("/captcha/{challenge_id}.png", captcha_image, name="captcha_image"),
    Route("/captcha/{challenge_id}.wav", captcha_audio, name="captcha_audio"),
]
