"""The leaderboard server: the ranked table, a page per submission, the form and a JSON API.

Requests are validated by pydantic models with maximum lengths, behind a limit on the
body size, and every refusal is a 4xx with a message saying what to change. Submitting
needs an author token (`Authorization: Bearer` for the API, a field of the form, which
is also CSRF-protected) and the entry carries the token's name. A function the board
already has is answered at once (409, "duplicate of #N (name)") and not stored; see
`duplicates`. Otherwise submitting only queues:
the verifier runs on a background thread of this process (or in a separate
`actgym leaderboard verify`), so a slow or hostile submission never blocks a request.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

from actgym.leaderboard import duplicates, views
from actgym.leaderboard.csrf import COOKIE, FIELD, REFUSED, CsrfGuard
from actgym.leaderboard.duplicates import FunctionIdentifier
from actgym.leaderboard.middleware import BodyLimit, SecurityHeaders
from actgym.leaderboard.models import OpenSubmissionIn, SubmissionIn, describe_errors
from actgym.leaderboard.pages import Links, Pages
from actgym.leaderboard.plots import function_plot
from actgym.leaderboard.profiles import Profile, env_version
from actgym.leaderboard.ranking import Leaderboard
from actgym.leaderboard.rate_limit import RateLimit, RateLimited
from actgym.leaderboard.records import Board
from actgym.leaderboard.seeds import load_secret
from actgym.leaderboard.store import Store
from actgym.leaderboard.submissions import Duplicate
from actgym.leaderboard.tokens import InvalidToken
from actgym.leaderboard.trace_gate import TraceGate
from actgym.leaderboard.verifier import BackgroundVerifier, Scorer, Verifier
from fastapi import APIRouter, FastAPI, HTTPException, Query, Request
from fastapi import Path as PathParam
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from actgym.candidate.confinement import ALL_LAYERS
from actgym.candidate.untrusted_text import valid_utf8

SubmissionId = Annotated[int, PathParam(ge=1, le=2**62)]
LocalityFilter = Annotated[
    str | None,
    Query(
        max_length=40,
        description="List only entries of this locality: pointwise or feature-coupled "
        "(each keeps its rank on the whole board); an unknown value is a 422.",
    ),
]


@dataclass(frozen=True)
class Settings:
    db: Path
    profile: Profile
    verify: bool = True
    rate_limit: RateLimit | None = field(default_factory=RateLimit)
    max_body_bytes: int = 256 * 1024
    secret_file: Path | None = None
    poll_s: float = 5.0
    stop_timeout_s: float = 30.0
    required_layers: frozenset[str] = ALL_LAYERS
    open_submissions: bool = False
    """Development only: no tokens, and every submission names its own author."""
    trace_slots: int = 2
    """Submit-time checks at once (`TraceGate`); more wait for nobody: they queue unidentified."""
    trace_deadline_s: float = 1.5
    api_docs: bool = False
    """Serve /docs and /openapi.json: development only (the docs page loads script from a
    CDN, so its responses carry no Content-Security-Policy)."""


MISSING_BEARER = (
    "Submitting needs an author token: send the header `Authorization: Bearer <token>`. "
    "The leaderboard's operator issues tokens."
)
MISSING_FORM_TOKEN = "Enter your author token; the leaderboard's operator issues them."
NOT_UNICODE = (
    "The form's text is not valid Unicode (it holds a lone surrogate, shown as '?'); "
    "send it as UTF-8."
)


@dataclass
class Service:
    """What every route shares: the store and the board, pages, tokens, CSRF and duplicate checks.

    `verifier` is the background verifier while the app runs one (woken on each new
    submission), else None.
    """

    settings: Settings
    store: Store
    board: Board
    pages: Pages
    rankings: views.CachedRanking
    identifier: FunctionIdentifier
    links: Links = field(default_factory=Links)
    csrf: CsrfGuard = field(default_factory=CsrfGuard)
    gate: TraceGate = field(default_factory=TraceGate)
    verifier: BackgroundVerifier | None = None

    @classmethod
    def start(cls, settings: Settings, scorer: Scorer | None) -> Service:
        store = Store(settings.db)
        board = Board(version=env_version(), profile=settings.profile.name)
        identifier = FunctionIdentifier(
            settings.profile,
            sandbox=scorer.sandbox if scorer else None,
            required_layers=settings.required_layers,
        )
        rankings = views.CachedRanking(store, board, settings.profile)
        gate = TraceGate(settings.trace_slots, settings.trace_deadline_s)
        return cls(settings, store, board, Pages(settings.profile), rankings, identifier, gate=gate)

    def authenticate(self, token: str | None, missing: str) -> str | None:
        """The token's author name; None on an open server, where submissions name theirs."""
        if self.settings.open_submissions:
            return None
        if not token:
            raise InvalidToken(missing)
        return self.store.tokens.author(token)

    def submit(self, data: object, author: str | None) -> int:
        """Validate and queue a submission by `author` (None: the submission names it);
        raise Duplicate if the board already has the function."""
        if author is None:
            named = OpenSubmissionIn.model_validate(data)
            new = named.new_submission(named.author)
        else:
            new = SubmissionIn.model_validate(data).new_submission(author)
        submission_id, _ = duplicates.submit(
            self.store,
            self.board,
            self.identifier,
            new,
            rate_limit=self.settings.rate_limit,
            gate=self.gate,
        )
        if self.verifier is not None:
            self.verifier.wake()
        return submission_id

    def form(
        self,
        request: Request,
        status_code: int = 200,
        values: dict[str, str] | None = None,
        error: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> HTMLResponse:
        """The form with this browser's CSRF token, setting its cookie if it had none."""
        cookie, token = self.csrf.session(request.cookies.get(COOKIE))
        page = self.pages.submit(
            self.links,
            token,
            ask_token=not self.settings.open_submissions,
            values=values,
            error=error,
        )
        response = HTMLResponse(page, status_code=status_code, headers=headers)
        response.set_cookie(
            COOKIE,
            cookie,
            path=self.links.submit() or "/",
            secure=request.url.scheme == "https",
            httponly=True,
            samesite="strict",
        )
        return response


def create_app(settings: Settings, *, scorer: Scorer | None = None) -> FastAPI:
    """The app; pass a `scorer` to reuse Evaluators (tests), else one is built when verifying."""
    service = Service.start(settings, scorer)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # The references' programs are claimed, and the sandbox warmed, before any request:
        # a submission's trace then fits the gate's deadline.
        await run_in_threadpool(service.identifier.seed_references, service.store, service.board)
        if not settings.verify:
            yield
            service.gate.close()
            service.identifier.close()
            return
        active = scorer or Scorer.from_secret(
            settings.profile,
            load_secret(settings.db, settings.secret_file),
            service.board.version,
            required_layers=settings.required_layers,
        )
        verifier = Verifier(service.store, active, service.board.version)
        service.verifier = BackgroundVerifier(verifier, poll_s=settings.poll_s)
        service.verifier.start()
        try:
            yield
        finally:
            service.verifier.stop(timeout=settings.stop_timeout_s)
            service.gate.close()
            service.identifier.close()
            if active is not scorer:
                active.close()

    app = FastAPI(
        title="actgym leaderboard",
        lifespan=lifespan,
        docs_url="/docs" if settings.api_docs else None,
        redoc_url=None,
        openapi_url="/openapi.json" if settings.api_docs else None,
    )
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(SecurityHeaders, policy=not settings.api_docs)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.include_router(page_routes(service))
    app.include_router(api_routes(service))
    return app


def page_routes(service: Service) -> APIRouter:
    """The HTML side: the ranked table, submission pages and plots, and the form."""
    router = APIRouter()
    store, board, links, rankings = service.store, service.board, service.links, service.rankings

    @router.get("/", response_class=HTMLResponse)
    def index(locality: LocalityFilter = None) -> str:
        ranking, queue = views.index_lists(store, board, rankings.get)
        return service.pages.index(_filtered(ranking, locality), queue, links)

    @router.get("/submissions/{submission_id}", response_class=HTMLResponse)
    def submission_page(submission_id: SubmissionId) -> str:
        details = _details(store, board, rankings, submission_id)
        return service.pages.submission(details, rankings.get(), links)

    @router.get("/submissions/{submission_id}/plot.png")
    def plot(submission_id: SubmissionId) -> Response:
        program = views.program_json(store, board, submission_id)
        submission = store.submissions.get(submission_id)
        if program is None or submission is None:
            raise HTTPException(404, f"Submission #{submission_id} has no verified program.")
        return Response(function_plot(program, submission["name"]), media_type="image/png")

    @router.get("/submit", response_class=HTMLResponse)
    def submit_page(request: Request) -> HTMLResponse:
        return service.form(request)

    @router.post("/submit", response_model=None)
    async def submit_form(request: Request) -> Response:
        fields = await request.form()
        data = {key: value for key, value in fields.items() if isinstance(value, str)}
        csrf_token, token = data.pop(FIELD, None), data.pop("token", None)
        if not all(_is_unicode(text) for item in data.items() for text in item):
            shown = {valid_utf8(key): valid_utf8(value) for key, value in data.items()}
            return service.form(request, 422, shown, NOT_UNICODE)
        if not service.csrf.valid(request.cookies.get(COOKIE), csrf_token):
            return service.form(request, 403, data, REFUSED)
        try:
            author = await run_in_threadpool(service.authenticate, token, MISSING_FORM_TOKEN)
            submission_id = await run_in_threadpool(service.submit, data, author)
        except InvalidToken as error:
            return service.form(request, 401, data, str(error))
        except ValidationError as error:
            return service.form(request, 422, data, describe_errors(error.errors()))
        except RateLimited as error:
            return service.form(request, 429, data, str(error), _retry_after(error))
        except Duplicate as duplicate:
            message = f"Not submitted: this function is already on the board, {duplicate}."
            return service.form(request, 409, data, message)
        return RedirectResponse(links.submission(submission_id), status_code=303)

    return router


def api_routes(service: Service) -> APIRouter:
    """The JSON API: submit, a submission's state and results, and the ranking."""
    router = APIRouter(prefix="/api")
    store, board, rankings = service.store, service.board, service.rankings

    @router.post(
        "/submissions",
        status_code=202,
        response_model=None,
        openapi_extra={"requestBody": _json_body(SubmissionIn)},
    )
    async def create_submission(request: Request) -> JSONResponse:
        raw = await request.body()
        try:
            author = await run_in_threadpool(service.authenticate, _bearer(request), MISSING_BEARER)
        except InvalidToken as error:
            return JSONResponse({"detail": str(error)}, 401, {"WWW-Authenticate": "Bearer"})
        try:
            submission_id = await run_in_threadpool(service.submit, _json(raw), author)
        except ValidationError as error:
            raise RequestValidationError(error.errors()) from None
        except RateLimited as error:
            return JSONResponse({"detail": str(error)}, 429, headers=_retry_after(error))
        except Duplicate as duplicate:
            return JSONResponse({"detail": str(duplicate), "duplicate_of": duplicate.of}, 409)
        return JSONResponse(
            {
                "id": submission_id,
                "state": "pending",
                "url": service.links.submission(submission_id),
                "api": f"/api/submissions/{submission_id}",
            },
            status_code=202,
        )

    @router.get("/submissions/{submission_id}")
    def get_submission(submission_id: SubmissionId) -> dict[str, Any]:
        return _details(store, board, rankings, submission_id)

    @router.get("/leaderboard")
    def get_leaderboard(locality: LocalityFilter = None) -> dict[str, Any]:
        return _filtered(rankings.get(), locality).to_dict()

    return router


def _is_unicode(text: str) -> bool:
    """False for text holding a lone surrogate (a form declared in `unicode_escape`, say)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _filtered(ranking: Leaderboard, locality: str | None) -> Leaderboard:
    try:
        return ranking.only(locality)
    except ValueError as error:
        raise HTTPException(422, str(error)) from None


def _details(
    store: Store, board: Board, rankings: views.CachedRanking, submission_id: int
) -> dict[str, Any]:
    details = views.submission_details(store, board, rankings.get, submission_id)
    if details is None:
        raise HTTPException(404, f"There is no submission #{submission_id}.")
    return details


def _bearer(request: Request) -> str | None:
    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    return credentials.strip() if scheme.lower() == "bearer" else None


def _json(raw: bytes) -> object:
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):
        invalid = {"type": "json_invalid", "loc": ("body",), "msg": "JSON decode error"}
        raise RequestValidationError([invalid]) from None


def _json_body(model: type[SubmissionIn]) -> dict[str, Any]:
    """The request body's schema for the OpenAPI page: the route parses it itself."""
    schema = model.model_json_schema()
    return {"required": True, "content": {"application/json": {"schema": schema}}}


def _retry_after(error: RateLimited) -> dict[str, str]:
    return {"Retry-After": str(error.retry_after_s)}


async def _validation_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    errors = [
        {key: item[key] for key in ("loc", "msg", "type") if key in item} for item in error.errors()
    ]
    detail = f"Invalid request: {describe_errors(errors)}"
    return JSONResponse({"detail": detail, "errors": errors}, status_code=422)
