"""EmoStage in an async web handler: one `EmoStage`, shared by every request.

`POST /reply` takes `{"thread_id": "...", "messages": [{"role": "user", "content": "..."}]}`
(send only the new messages of a thread) and answers `{"reply", "phase", "risk"}`. A user
error is a 400 with one line, an unreachable model a 503. `arespond` awaits the model's
own async client, so one process serves many requests at once.

Run it: `uvicorn --factory examples.async_web:create_app` (with Ollama running; set
EMOSTAGE_BACKEND and EMOSTAGE_MODEL as for the CLI). It needs `pip install starlette uvicorn`.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from emostage import EmoStage, EmoStageError, InputError, ModelUnavailableError


def make_app(stage: EmoStage) -> Starlette:
    """The web app around one shared `EmoStage` (threads live in its checkpointer)."""

    async def reply(request: Request) -> JSONResponse:
        body = await request.json()
        if not isinstance(body, dict):
            raise InputError("The body must be a JSON object with 'messages'.")
        result = await stage.arespond(body.get("messages"), thread_id=body.get("thread_id"))
        return JSONResponse(
            {
                "thread_id": result.thread_id,
                "reply": result.response,
                "phase": result.phase,
                "risk": result.risk.model_dump(mode="json"),
            }
        )

    async def refuse(request: Request, exc: Exception) -> JSONResponse:
        status = 503 if isinstance(exc, ModelUnavailableError) else 400
        return JSONResponse({"error": type(exc).__name__, "message": str(exc)}, status)

    return Starlette(
        routes=[Route("/reply", reply, methods=["POST"])],
        exception_handlers={EmoStageError: refuse},
    )


def create_app() -> Starlette:
    """The app with settings from the environment, threads kept in memory."""
    from langgraph.checkpoint.memory import InMemorySaver

    return make_app(EmoStage(checkpointer=InMemorySaver()))
