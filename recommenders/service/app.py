"""The forecast service: a REST API with an OpenAPI page, and the analyst's web page.

A thin shell over `recommenders.forecast` (the CLI's library): the app holds one `Forecaster`,
loaded at start-up from trusted paths, and never a path, a model or code from a request.

Limits a public-facing service needs (`Limits`): the request body is capped before it is parsed
(413), text, technique lists and k are bounded (422), a malformed file or an unknown ID is a 4xx
with one sentence that says what to fix, and an unexpected failure is a 500 that says nothing of
the server's insides (the traceback goes to the server's log). Endpoints are plain functions run
in the server's thread pool: every model here only reads its arrays while scoring, so concurrent
requests share one loaded model.
"""

# No `from __future__ import annotations`: FastAPI reads the endpoints' annotations at runtime,
# and the request models are built per app (their bounds come from `Limits`).
import json
import logging
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from recommenders.errors import DataError
from recommenders.forecast import Forecast
from recommenders.forecast.forecaster import Forecaster

log = logging.getLogger("recommenders.service")
STATIC = Path(__file__).with_name("static")


@dataclass(frozen=True)
class Limits:
    """What one request may ask for."""

    max_body_bytes: int = 2_000_000
    """Request bodies above this are refused (413) before they are read whole; the largest
    Attack Flow drawing in the shared data is 0.47 MB."""
    max_text_chars: int = 200_000
    """Incident text, about 30,000 words."""
    max_techniques: int = 500
    max_k: int = 100
    max_flow_actions: int = 1_000
    """Actions of an uploaded flow: the graph walk from each action grows faster than the flow
    (1,000 actions all joined through one operator parse in ~1.5 s, in the thread pool); the
    largest real drawing in the shared data has far fewer."""


class BodyLimit:
    """ASGI middleware: 413 for a body over the limit, by its Content-Length before anything is
    read, or as the streamed body passes the limit (an HTTPException, which FastAPI's body
    parsing lets through)."""

    def __init__(self, app: Any, limit: int) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.limit):
            response = JSONResponse({"error": self.message}, status_code=413)
            await response(scope, receive, send)
            return
        received = 0

        async def limited_receive() -> Any:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    raise HTTPException(413, self.message)
            return message

        await self.app(scope, limited_receive, send)

    @property
    def message(self) -> str:
        return f"request body over {self.limit:,} bytes; send less"


def create_app(forecaster: Forecaster, given: Limits | None = None) -> FastAPI:
    """The service for one loaded `Forecaster`."""
    limits: Limits = given or Limits()
    app = FastAPI(
        title="tie-gym forecast service",
        description="Observed ATT&CK techniques, incident text or an Attack Flow in; the likely "
        "next techniques out, each with the observed techniques that drove it.",
        version=_version(),
    )

    class IdsRequest(BaseModel):
        techniques: list[str] = Field(
            ...,
            min_length=1,
            max_length=limits.max_techniques,
            examples=[["T1566.001", "T1059.001"]],
        )
        k: int = Field(
            10, ge=1, le=limits.max_k, strict=True, description="how many next techniques"
        )

    class TextRequest(BaseModel):
        text: str = Field(..., min_length=1, max_length=limits.max_text_chars)
        k: int = Field(10, ge=1, le=limits.max_k, strict=True)
        threshold: float | None = Field(
            None, gt=0, lt=1, description="text mapper confidence bar (default: the model's)"
        )

    @app.exception_handler(StarletteHTTPException)
    async def refused(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse({"error": exc.detail}, status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(DataError)
    @app.exception_handler(ValueError)
    async def bad_input(request: Request, exc: Exception) -> JSONResponse:
        if isinstance(exc, UnicodeError):  # ours, not the request's: no internals in a 4xx
            return await failed(request, exc)
        return JSONResponse({"error": str(exc)}, status_code=400)

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [
            f"{'.'.join(str(p) for p in e.get('loc', ()) if p != 'body') or 'body'}: {e.get('msg')}"
            for e in exc.errors()
        ]
        return JSONResponse({"error": "; ".join(problems)[:500]}, status_code=422)

    async def failed(request: Request, exc: Exception) -> JSONResponse:
        log.exception("%s %s failed", request.method, request.url.path)
        return JSONResponse({"error": "internal error (logged on the server)"}, status_code=500)

    app.add_exception_handler(Exception, failed)

    @app.get("/api/model", summary="The model that answers: family, vocabulary, release, metrics")
    def model_info() -> dict[str, Any]:
        return forecaster.info()

    @app.get("/api/techniques", summary="Search techniques by ID prefix or name")
    def search(
        q: str = Query("", max_length=100), limit: int = Query(20, ge=1, le=100)
    ) -> list[dict[str, Any]]:
        return forecaster.search(q, limit) if q.strip() else []

    @app.get("/api/techniques/{technique_id}", summary="One technique")
    def technique(technique_id: str) -> dict[str, Any]:
        found = forecaster.technique(technique_id[:20])
        if found is None:
            raise HTTPException(
                404, f"{technique_id[:20]!r} is not a technique of {forecaster.catalog.source}"
            )
        return found

    @app.get("/api/matrix", summary="Tactics in kill-chain order with the model's techniques")
    def matrix() -> list[dict[str, Any]]:
        return forecaster.matrix()

    @app.post("/api/forecast", summary="Forecast from observed technique IDs")
    def from_ids(request: IdsRequest) -> dict[str, Any]:
        return _answer(forecaster, forecaster.from_ids(request.techniques, request.k))

    @app.post("/api/forecast/text", summary="Techniques in incident text, then the forecast")
    def from_text(request: TextRequest) -> dict[str, Any]:
        if not request.text.strip():
            raise ValueError("text: only white space; paste an incident summary or report")
        if forecaster.text_mapper is None:
            raise HTTPException(503, "this server has no text model: start it with --text-model")
        mapping, result = forecaster.from_text(request.text, request.k, request.threshold)
        names = forecaster.names
        found = mapping.to_json()
        for hit in found["techniques"]:
            hit["name"] = names.get(hit["technique"], "")
        if result is None:
            note = "no ATT&CK technique found in the text at this threshold (try a lower one)"
            return {"found": found, "forecast": [], "observed": [], "note": note}
        return {"found": found, **_answer(forecaster, result)}

    @app.post(
        "/api/forecast/flow", summary="What comes after an Attack Flow (.afb or STIX JSON body)"
    )
    async def from_flow(
        request: Request,
        k: int = Query(10, ge=1, le=limits.max_k),
        name: str = Query("flow.json", max_length=200),
    ) -> dict[str, Any]:
        payload = await _json_body(request, limits)  # parsed and walked off the event loop:
        flow, result = await run_in_threadpool(forecaster.from_flow, payload, Path(name).name, k)
        return {
            "flow": {"name": flow.name, "techniques": flow.techniques, "dropped": flow.dropped},
            **_answer(forecaster, result),
        }

    @app.post("/api/navigator", summary="The forecast as an ATT&CK Navigator layer (download)")
    def navigator(request: IdsRequest) -> JSONResponse:
        layer = forecaster.navigator_layer(forecaster.from_ids(request.techniques, request.k))
        return _download(layer, "tie-forecast-layer.json")

    @app.post(
        "/api/forecast/flow/suggestions",
        summary="The flow with the forecast as suggested next actions (Attack Flow STIX download)",
    )
    async def flow_suggestions(
        request: Request,
        k: int = Query(5, ge=1, le=limits.max_k),
        name: str = Query("flow.json", max_length=200),
    ) -> JSONResponse:
        from recommenders.flows import suggestions_bundle

        payload = await _json_body(request, limits)
        flow, result = await run_in_threadpool(forecaster.from_flow, payload, Path(name).name, k)
        suggestions = [(p.technique, p.name, _why(p, forecaster.names)) for p in result.predictions]
        stamp = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")
        return _download(
            suggestions_bundle(flow, suggestions, stamp), f"{Path(name).stem}-suggested.json"
        )

    @app.get("/", include_in_schema=False)
    def page() -> FileResponse:
        return FileResponse(STATIC / "index.html")

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.add_middleware(BodyLimit, limit=limits.max_body_bytes)
    return app


def _answer(forecaster: Forecaster, result: Forecast) -> dict[str, Any]:
    answer = result.to_json()
    names = forecaster.names  # of the user's release when --attack names one
    answer["observed"] = [{"technique": t, "name": names.get(t, "")} for t in result.observed]
    for item in answer["forecast"]:
        for reason in item["because"]:
            reason["name"] = names.get(reason["technique"], "")
        item["like"] = [{"technique": t, "name": names.get(t, "")} for t in item["like"]]
    return answer


def _why(prediction: Any, names: dict[str, str]) -> str:
    if prediction.unseen:
        like = ", ".join(f"{t} {names.get(t, '')}" for t in prediction.like) or "none"
        return (
            f"Suggested by tie-gym: forecast rank {prediction.rank}; no training report names "
            f"it, so it is scored from ATT&CK like {like}."
        )
    seen = ", ".join(f"{t} {names.get(t, '')}" for t, _ in prediction.because) or "its base rate"
    return f"Suggested by tie-gym: forecast rank {prediction.rank}, because the flow shows {seen}."


async def _json_body(request: Request, limits: Limits) -> Any:
    """The body as JSON, refused in one sentence when it is not JSON, nests too deeply, or holds
    more objects than a drawn flow does (parsing a flow's graph grows faster than its size)."""
    raw = await request.body()
    fix = "send the .afb or STIX .json file as the body"
    try:
        payload = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DataError("request body", None, f"not JSON ({exc})", fix) from exc
    except RecursionError as exc:
        raise DataError("request body", None, "JSON nested too deeply", fix) from exc
    items = payload.get("objects", payload.get("instances")) if isinstance(payload, dict) else None
    actions = sum(  # STIX `attack-action` objects, or `.afb` instances whose id is "action"
        isinstance(o, dict) and (o.get("type") == "attack-action" or o.get("id") == "action")
        for o in (items if isinstance(items, list) else [])
    )
    if actions > limits.max_flow_actions:
        raise DataError(
            "request body",
            None,
            f"{actions:,} actions: more than the {limits.max_flow_actions:,} a flow may have here",
            "split the flow, or run the CLI on it",
        )
    return payload


def _download(content: dict[str, Any], filename: str) -> JSONResponse:
    # ASCII only: a header is latin-1, and quotes, CR/LF or path separators must not pass
    safe = (
        "".join(c for c in filename if c.isascii() and (c.isalnum() or c in "-_."))
        or "download.json"
    )
    return JSONResponse(content, headers={"Content-Disposition": f'attachment; filename="{safe}"'})


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("tie-gym")
    except PackageNotFoundError:
        return "unknown"
