"""The HTTP service: FastAPI routes over a ModelStore.

Every user mistake is a 4xx whose body is {"detail": "<one line naming the problem and the
fix>"}: an unknown item or model (404), a bad parameter or body (422), an operation the
model cannot do (409), a body over the size limit (413). Every route documents the statuses it
can answer in /openapi.json, and the bounds of k and of list lengths are in the schema; a k
above the catalogue size gives the whole catalogue. Ids in paths and bodies are raw ids as in
the training data (an id may contain "/"); an integer-id catalogue accepts them as numbers or
strings.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any

import numpy as np
from anyio import to_thread
from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from recforge.errors import NotFoundError, RecforgeError, UnsupportedOperationError
from recforge.serving.limits import BodySizeLimit
from recforge.serving.metrics import ServiceMetrics
from recforge.serving.store import ModelStore, ServedModel

__all__ = ["MAX_BATCH", "MAX_K", "create_app"]

MAX_BATCH = 1000  # users, items or pairs in one request body
MAX_K = 1000  # the longest list one request returns (a batch: per user)
MAX_BODY_BYTES = 1 << 20  # a request body (1,000 pairs of long ids fit many times over)
_log = logging.getLogger("uvicorn.error")  # shown beside uvicorn's own messages


def _no_bool(value: Any) -> Any:
    """JSON true/false are neither ids nor numbers here (pydantic would read them as 1/0)."""
    if isinstance(value, bool):
        raise ValueError("true/false is not allowed here")
    return value


def _a_number(value: Any) -> Any:
    """Only JSON numbers: no true/false, and no numeric strings, as the schema says."""
    if isinstance(value, bool | str):
        raise ValueError("must be a JSON number")
    return value


RawId = Annotated[str | int, BeforeValidator(_no_bool)]
LIST_LENGTH = "list length (above the catalogue size: all of it)"
LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})
ListLength = Annotated[
    int,
    Field(ge=1, le=MAX_K, description=LIST_LENGTH),
    BeforeValidator(_a_number),
]
Rating = Annotated[float, Field(allow_inf_nan=False), BeforeValidator(_a_number)]
StrictFlag = Annotated[bool, Field(strict=True)]  # true or false, not 0/1 or "yes"


class Problem(BaseModel):
    """Every 4xx body."""

    detail: str = Field(description="one line naming the problem and the fix")


_WHY = {
    401: "the admin token is missing or wrong",
    403: "admin routes: not this machine, or another site's page",
    404: "no such model, user, item or genre",
    409: "the model cannot do this (the detail says which model can)",
    413: "the request body is over the size limit",
    422: "a parameter or body field is invalid (the detail names it)",
}


def _answers(*codes: int) -> dict[int | str, dict[str, Any]]:
    """The error statuses a route can answer, for the OpenAPI schema."""
    return {code: {"model": Problem, "description": _WHY[code]} for code in codes}


_READ = _answers(404, 422)  # a read naming a model, user or item
_BODY = _answers(404, 409, 413, 422)  # a route that takes a JSON body


class Body(BaseModel):
    """A request body: a field the route does not know is an error, never silently dropped."""

    model_config = ConfigDict(extra="forbid")


class Recommendation(BaseModel):
    item: RawId
    score: float
    title: str | None = Field(None, description="from the item features saved with the model")
    genres: list[str] = Field(default_factory=list)


class ItemInfo(BaseModel):
    item: RawId
    title: str | None = None
    genres: list[str] = Field(default_factory=list)


class HistoryItem(ItemInfo):
    rating: float | None = Field(None, description="the training value (rating or weight)")


class UserHistory(BaseModel):
    user: RawId
    model: str
    items: list[HistoryItem] = Field(description="highest rated first")


class UserInfo(BaseModel):
    user: RawId
    n_items: int = Field(description="training interactions")


class ModelInfo(BaseModel):
    name: str
    version: str
    model: str = Field(description="the registry name, e.g. 'ease'")
    n_users: int
    n_items: int
    explicit: bool
    supports_history: bool
    genres: list[str] = Field(description="genres recommendations can be filtered by")
    retrieval: str = Field(description="'exact', or the ANN index kind: 'hnsw' or 'ivf'")
    metrics: dict[str, float]


class Reason(HistoryItem):
    weight: float


class Explanation(BaseModel):
    user: RawId
    item: RawId
    model: str
    version: str
    score: float | None = Field(None, description="the model's score of the item for the user")
    how: str = Field(
        description="'contribution': weights are exact parts of the score; 'similarity': the "
        "model's similarity of each past item to this one; 'attention': the sequence model's "
        "attention weight on each of the newest past items; 'popularity': the user is unknown"
    )
    because: list[Reason] = Field(description="the user's past items that weigh most, first")


class UserRecommendations(BaseModel):
    user: RawId
    model: str
    version: str
    fallback: str | None = Field(
        None, description="'popularity' when the user is unknown to the model, else null"
    )
    items: list[Recommendation]


class BatchRequest(Body):
    users: list[RawId] = Field(max_length=MAX_BATCH)
    k: ListLength = 10
    exclude_seen: StrictFlag = True
    genres: str | None = Field(None, description="comma-separated genres to keep")
    model: str | None = None


class RatedItem(Body):
    item: RawId
    rating: Rating


class HistoryRequest(Body):
    items: list[Annotated[str | int | RatedItem, BeforeValidator(_no_bool)]] = Field(
        min_length=1,
        max_length=MAX_BATCH,
        description="the visitor's items, oldest first: an id, or {item, rating}; items "
        "rated below min_rating are not used as taste but are never recommended",
    )
    min_rating: Rating | None = Field(
        None,
        description="the lowest rating that counts as liked (default: the mean training "
        "rating when the model was saved with ratings, else every rating counts)",
    )
    k: ListLength = 10
    model: str | None = None


class HistoryRecommendations(BaseModel):
    model: str
    version: str
    fallback: str | None = Field(
        None, description="'popularity' when the model cannot score a history, else null"
    )
    unknown_items: list[RawId] = Field(description="history items the model does not know")
    disliked_items: list[RawId] = Field(
        default_factory=list, description="items rated below min_rating: left out of the taste"
    )
    items: list[Recommendation]


class PredictRequest(Body):
    pairs: list[tuple[RawId, RawId]] = Field(max_length=MAX_BATCH, description="[user, item] pairs")
    model: str | None = None


class Prediction(BaseModel):
    user: RawId
    item: RawId
    rating: float
    known_user: bool
    known_item: bool


def create_app(
    store: ModelStore,
    *,
    watch: float = 0.0,
    admin_token: str | None = None,
    max_body_bytes: int = MAX_BODY_BYTES,
) -> FastAPI:
    """The service over `store`; the OpenAPI spec is at /openapi.json, its page at /docs.

    max_body_bytes: larger request bodies get 413 before they are read whole.
    admin_token: /admin/* then needs `Authorization: Bearer <token>` (401 otherwise); without
    one, /admin/* answers loopback clients only (403 for others).

    Routes that score (every route but /health, /metrics and /models) run in a thread pool
    of as many threads as the process has cores, so the event loop stays free to answer
    while they compute; more threads than cores would only contend for the GIL.

    watch: every `watch` seconds (0: never) look for artifacts saved again under the store's
    directory and swap them in, as POST /admin/reload does; with several worker processes this
    is how every worker picks up a new model.
    """
    metrics = ServiceMetrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # the pool FastAPI runs sync routes in (anyio's, per event loop)
        to_thread.current_default_thread_limiter().total_tokens = _cores()
        task = asyncio.create_task(_watch(store, metrics, watch)) if watch > 0 else None
        yield
        if task is not None:
            task.cancel()
        metrics.close()

    app = FastAPI(
        title="recforge",
        summary="Recommendations from trained recforge models",
        lifespan=lifespan,
    )
    app.state.store = store
    metrics.install(app)
    app.add_middleware(BodySizeLimit, max_bytes=max_body_bytes)
    metrics.set_models(store.versions())

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()  # a union field gives one per branch: the deepest is the one
        first = max(errors, key=lambda e: len(e.get("loc", ())))  # that got furthest
        where = ".".join(str(p) for p in first.get("loc", ()) if not _branch_label(p))
        where = where or "request"
        message = first["msg"]
        if first.get("type") == "extra_forbidden":
            message = "this route takes no such field (its fields are listed at /docs)"
        return JSONResponse(status_code=422, content={"detail": f"{where}: {message}"})

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 400:  # FastAPI's only 400: a body it cannot decode
            detail = "body: not JSON text; send a JSON object encoded as UTF-8"
            return JSONResponse(status_code=422, content={"detail": detail})
        return JSONResponse(
            status_code=exc.status_code, content={"detail": exc.detail}, headers=exc.headers
        )

    @app.exception_handler(RecforgeError)
    async def user_mistake(request: Request, exc: RecforgeError) -> JSONResponse:
        status = 422
        if isinstance(exc, UnsupportedOperationError):
            status = 409
        elif isinstance(exc, NotFoundError):
            status = 404
        # the served directory by its name: a client has no business with server paths
        detail = str(exc).replace(str(store.root.resolve()), store.root.name)
        detail = detail.replace(str(store.root), store.root.name)
        return JSONResponse(status_code=status, content={"detail": detail})

    def admin_allowed(request: Request) -> None:
        """The admin gate: the token when one is set, else a loopback client; and never a
        page of another site."""
        if admin_token:
            given = request.headers.get("authorization", "")
            expected = f"Bearer {admin_token}"
            if not hmac.compare_digest(given.encode(), expected.encode()):
                raise HTTPException(
                    401, "admin routes need the header 'Authorization: Bearer <admin token>'"
                )
        else:
            client = request.client.host if request.client else ""
            if client not in LOOPBACK:
                raise HTTPException(
                    403, "admin routes answer this machine only; start the service with "
                    "--admin-token to use them from elsewhere",
                )  # fmt: skip
        # what a browser sends on behalf of another site (a cross-origin form POST needs no
        # preflight): an Origin other than this host, or Sec-Fetch-Site cross-site
        origin = request.headers.get("origin")
        host = request.headers.get("host", "")
        if origin is not None and origin.split("://", 1)[-1] != host:
            raise HTTPException(403, "admin routes refuse requests from another site's page")
        if request.headers.get("sec-fetch-site") in ("cross-site", "same-site"):
            raise HTTPException(403, "admin routes refuse requests from another site's page")

    def served(name: str | None) -> ServedModel:
        found = store.get(name)
        if found is None:
            raise HTTPException(
                404, f"no model named {name!r} is served; models: {', '.join(store.names)}"
            )
        return found

    def capped(k: int, m: ServedModel) -> int:
        """k (1..MAX_K by the schema), or the catalogue size when that is smaller."""
        return min(k, m.model.n_items_)

    def listing(m: ServedModel, ids: np.ndarray, scores: np.ndarray) -> list[Recommendation]:
        keep = ids >= 0
        shown = ids[keep]
        rows = zip(m.raw_items(shown), scores[keep], m.describe(shown), strict=True)
        return [Recommendation(item=r, score=float(s), **d) for r, s, d in rows]

    def popular(m: ServedModel, top: np.ndarray) -> list[Recommendation]:
        """The fallback list: items with their training interaction counts as scores."""
        return listing(m, top, m.counts[top].astype(np.float32))

    def genre_filter(m: ServedModel, genres: str | None) -> np.ndarray | None:
        """Item indices of the comma-separated `genres` (None: no filter)."""
        names = [g.strip() for g in (genres or "").split(",") if g.strip()]
        return m.items_in_genres(names) if names else None

    def for_user(
        m: ServedModel, raw: RawId, k: int, exclude_seen: bool, among: np.ndarray | None = None
    ) -> UserRecommendations:
        user = m.user_index(str(raw))
        if user is None:
            ranked = m.popular if among is None else m.popular[np.isin(m.popular, among)]
            return UserRecommendations(
                user=m.unknown_user(raw),
                model=m.name,
                version=m.version,
                fallback="popularity",
                items=popular(m, ranked[:k]),
            )
        if among is not None and among.size == 0:
            ids, scores = np.zeros((1, 0), dtype=np.int32), np.zeros((1, 0), dtype=np.float32)
        else:
            ids, scores = m.recommend(user, k=k, exclude_seen=exclude_seen, among=among)
        items = listing(m, ids[0], scores[0])
        return UserRecommendations(
            user=m.raw_user(user), model=m.name, version=m.version, fallback=None, items=items
        )

    def known_user(m: ServedModel, user_id: str) -> int:
        user = m.user_index(user_id)
        if user is None:
            raise HTTPException(404, f"unknown user {user_id!r}: not in model {m.name!r}")
        return user

    def known_item(m: ServedModel, item_id: str) -> int:
        item = m.item_index(item_id)
        if item is None:
            raise HTTPException(404, f"unknown item {item_id!r}: not in model {m.name!r}")
        return item

    # /health, /metrics and /models answer on the event loop itself: they take no time, and
    # so never wait behind the scoring threads
    @app.get("/health")
    async def health() -> dict[str, Any]:
        """Liveness, and the models served with their versions."""
        return {"status": "ok", "models": store.versions()}

    @app.get("/metrics", response_class=Response)
    async def prometheus() -> Response:
        """Prometheus text format: request counts and latency by route, the models served."""
        return metrics.render()

    @app.post("/admin/reload", responses=_answers(401, 403, 422))
    def reload(request: Request) -> dict[str, Any]:
        """Load the served directory again and swap the new models in; requests in flight
        finish on the models they started with. A model that fails to load leaves the served
        set unchanged (422 naming the problem). Needs the admin token when the service has
        one (401), else a loopback client (403); another site's page: 403."""
        admin_allowed(request)
        versions = store.reload()
        metrics.set_models(versions)
        return {"status": "reloaded", "models": versions}

    @app.get("/models", response_model=list[ModelInfo])
    async def models() -> list[ModelInfo]:
        """The models served, with what each can do."""
        return [
            ModelInfo(
                name=name,
                version=m.version,
                model=m.manifest["model"],
                n_users=m.model.n_users_,
                n_items=m.model.n_items_,
                explicit=bool(m.model.explicit_),
                supports_history=bool(m.model.supports_history),
                genres=m.genre_names,
                retrieval=m.retrieval,
                metrics=m.manifest.get("metrics", {}),
            )
            for name in store.names
            if (m := store.get(name)) is not None
        ]

    @app.get("/users", response_model=list[UserInfo], responses=_READ)
    def users(
        search: Annotated[str, Query(description="start of the user id")] = "",
        limit: Annotated[int, Query(ge=1, le=1000)] = 20,
        model: Annotated[str | None, Query(description="served model name")] = None,
    ) -> list[UserInfo]:
        """Known users whose id starts with `search`, in id order."""
        m = served(model)
        counts = np.diff(m.model.seen_.indptr)
        return [
            UserInfo(user=m.raw_user(u), n_items=int(counts[u]))
            for u in m.find_users(search.strip(), limit)
        ]

    @app.get("/items", response_model=list[ItemInfo], responses=_READ)
    def items(
        search: Annotated[str, Query(description="words of the title, or the item id")] = "",
        limit: Annotated[int, Query(ge=1, le=1000)] = 20,
        model: Annotated[str | None, Query(description="served model name")] = None,
    ) -> list[ItemInfo]:
        """Items whose title holds every word of `search` (case-blind), or whose id is
        `search`; most popular first."""
        m = served(model)
        found = m.find_items(search, limit)
        rows = zip(m.raw_items(found), m.describe(found), strict=True)
        return [ItemInfo(item=r, **d) for r, d in rows]

    @app.get("/users/{user_id:path}/history", response_model=UserHistory, responses=_READ)
    def history(
        user_id: str,
        model: Annotated[str | None, Query(description="served model name")] = None,
    ) -> UserHistory:
        """The user's training items with their ratings (when saved), highest rated first."""
        m = served(model)
        user = known_user(m, user_id)
        indices, values = m.history(user)
        order = np.lexsort((indices,)) if values is None else np.lexsort((indices, -values))
        indices = indices[order]
        ratings = [None] * indices.size if values is None else [float(v) for v in values[order]]
        rows = zip(m.raw_items(indices), m.describe(indices), ratings, strict=True)
        return UserHistory(
            user=m.raw_user(user),
            model=m.name,
            items=[HistoryItem(item=r, rating=v, **d) for r, d, v in rows],
        )

    @app.get(
        "/users/{user_id:path}/recommendations",
        response_model=UserRecommendations,
        responses=_answers(404, 409, 422),
    )
    def recommend(
        user_id: str,
        k: Annotated[int, Query(ge=1, le=MAX_K, description=LIST_LENGTH)] = 10,
        exclude_seen: Annotated[bool, Query(description="drop the user's training items")] = True,
        genres: Annotated[
            str | None, Query(description="comma-separated genres; items of any of them")
        ] = None,
        model: Annotated[str | None, Query(description="served model name")] = None,
    ) -> UserRecommendations:
        """Top-k for a user, best first; an unknown user gets the most popular items, flagged."""
        m = served(model)
        return for_user(m, user_id, capped(k, m), exclude_seen, genre_filter(m, genres))

    @app.get(
        "/users/{user_id:path}/recommendations/{item_id:path}/explanation",
        response_model=Explanation,
        responses=_answers(404, 409, 422),
    )
    def explain(
        user_id: str,
        item_id: str,
        n: Annotated[int, Query(ge=1, le=100, description="past items to give")] = 5,
        min_rating: Annotated[
            float | None,
            Query(
                description="the lowest rating that counts as liked: past items rated below "
                "it are never given as a reason (default: the mean training rating when the "
                "model was saved with ratings)"
            ),
        ] = None,
        model: Annotated[str | None, Query(description="served model name")] = None,
    ) -> Explanation:
        """Why the model recommends this item to this user: the user's liked past items that
        weigh most for it (exact contributions where the score is a sum over them, else the
        model's similarity of each to the item). Only items that count in the item's favour
        (weight > 0) and that the user did not rate below min_rating are given. An unknown
        user's list is popularity."""
        m = served(model)
        item = known_item(m, item_id)
        user = m.user_index(user_id)
        raw_item = m.raw_items(np.array([item]))[0]
        if user is None:
            return Explanation(
                user=m.unknown_user(user_id), item=raw_item, model=m.name, version=m.version,
                score=None, how="popularity",
                because=[],
            )  # fmt: skip
        indices, values = m.history(user)
        past, weights, how = m.model.explain(user, item, n=max(1, indices.size))
        liked_from = min_rating
        if liked_from is None and m.ratings is not None and m.ratings.nnz:
            liked_from = float(m.ratings.data.mean())
        rating_of = {} if values is None else dict(zip(indices, values, strict=True))
        supports = np.isfinite(weights) & (weights > 0)
        if liked_from is not None and rating_of:
            liked = [rating_of.get(j, liked_from) >= liked_from for j in past]
            supports &= np.array(liked, dtype=bool)
        past, weights = past[supports][:n], weights[supports][:n]
        rows = zip(m.raw_items(past), m.describe(past), past, weights, strict=True)
        because = [
            Reason(item=r, weight=float(w), rating=_maybe_float(rating_of.get(j)), **d)
            for r, d, j, w in rows
        ]
        score = float(m.model.score([user], [item])[0, 0])
        return Explanation(
            user=m.raw_user(user), item=raw_item, model=m.name, version=m.version, score=score,
            how=how, because=because,
        )  # fmt: skip

    @app.post(
        "/recommendations",
        response_model=list[UserRecommendations],
        responses=_BODY,
    )
    def recommend_batch(body: BatchRequest) -> list[UserRecommendations]:
        """The same for a batch of users, in the order given."""
        m = served(body.model)
        k = capped(body.k, m)
        among = genre_filter(m, body.genres)
        return [for_user(m, u, k, body.exclude_seen, among) for u in body.users]

    @app.post(
        "/recommendations/for-history",
        response_model=HistoryRecommendations,
        responses=_BODY,
    )
    def recommend_history(body: HistoryRequest) -> HistoryRecommendations:
        """A new user from the items they liked, without retraining: the model's own history
        scoring where it has one, else the most popular items outside the history (flagged).
        With ratings, items rated below min_rating shape nothing but are not recommended."""
        m = served(body.model)
        k = capped(body.k, m)
        liked_from = body.min_rating
        if liked_from is None and m.ratings is not None and m.ratings.nnz:
            liked_from = float(m.ratings.data.mean())
        history: list[int] = []
        disliked: list[int] = []
        unknown: list[RawId] = []
        disliked_raw: list[RawId] = []
        for given in body.items:
            raw, rating = (
                (given.item, given.rating) if isinstance(given, RatedItem) else (given, None)
            )
            index = m.item_index(str(raw))
            if index is None:
                unknown.append(raw)
            elif rating is not None and liked_from is not None and rating < liked_from:
                disliked.append(index)
                disliked_raw.append(raw)
            else:
                history.append(index)
        if not history and disliked:
            raise HTTPException(
                422, f"every known item was rated below min_rating {liked_from:g}, so none "
                f"says what the visitor likes; add liked items or lower min_rating",
            )  # fmt: skip
        if not history:
            raise HTTPException(
                404, f"none of the items {unknown[:5]} is known to model {m.name!r}"
            )
        if m.model.supports_history:
            extra = len(set(disliked))
            ids, scores = m.model.recommend_for_history(history, k=min(k + extra, m.model.n_items_))
            keep = ~np.isin(ids[0], disliked)
            ids, scores = ids[0][keep][:k], scores[0][keep][:k]
            items, fallback = listing(m, ids, scores), None
        else:
            ranked = m.popular[~np.isin(m.popular, history + disliked)]
            items, fallback = popular(m, ranked[:k]), "popularity"
        return HistoryRecommendations(
            model=m.name, version=m.version, fallback=fallback, unknown_items=unknown,
            disliked_items=disliked_raw, items=items,
        )  # fmt: skip

    @app.get(
        "/items/{item_id:path}/similar",
        response_model=list[Recommendation],
        responses=_answers(404, 409, 422),
    )
    def similar(
        item_id: str,
        k: Annotated[int, Query(ge=1, le=MAX_K, description=LIST_LENGTH)] = 10,
        model: Annotated[str | None, Query(description="served model name")] = None,
    ) -> list[Recommendation]:
        """The k items most similar to one item (the model's own similarity), best first."""
        m = served(model)
        item = known_item(m, item_id)
        ids, sims = m.model.similar_items([item], k=capped(k, m))
        return listing(m, ids[0], sims[0])

    @app.post("/predict", response_model=list[Prediction], responses=_BODY)
    def predict(body: PredictRequest) -> list[Prediction]:
        """Predicted ratings; unknown users or items fall back on what the model knows."""
        m = served(body.model)
        users = [m.user_index(str(u)) for u, _ in body.pairs]
        items = [m.item_index(str(i)) for _, i in body.pairs]
        ratings = m.model.predict(_with_unknowns(users), _with_unknowns(items))
        return [
            Prediction(user=u, item=i, rating=float(r), known_user=ku is not None,
                       known_item=ki is not None)
            for (u, i), r, ku, ki in zip(body.pairs, ratings, users, items, strict=True)
        ]  # fmt: skip

    # The web page: plain HTML and JavaScript over the routes above, no build step.
    static = Path(__file__).parent / "static"
    app.mount("/static", StaticFiles(directory=static), name="static")

    @app.get("/", include_in_schema=False)
    def page() -> FileResponse:
        return FileResponse(static / "index.html")

    return app


async def _watch(store: ModelStore, metrics: ServiceMetrics, every: float) -> None:
    """Reload `store` whenever its artifacts change on disk; a set that fails to load is
    logged once and skipped until the files change again."""
    failed = None
    while True:
        await asyncio.sleep(every)
        now = store.disk_stamp()
        if now is None or now == store.stamp or now == failed:
            continue
        try:
            versions = await asyncio.to_thread(store.reload)
        except RecforgeError as exc:
            failed = now
            _log.warning("recforge: kept the served models; the new ones do not load: %s", exc)
        else:
            metrics.set_models(versions)
            _log.info("recforge: reloaded %s", versions)


def _cores() -> int:
    """The cores this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def _branch_label(part: Any) -> bool:
    """Whether a pydantic error location part names a union branch ("str", "RatedItem",
    "function-before[...]") or the body itself, rather than a field or list position."""
    if not isinstance(part, str):
        return False
    return (
        part in ("body", "str", "int", "float", "bool")
        or not part.isidentifier()
        or part[0].isupper()
    )


def _maybe_float(value: Any) -> float | None:
    return None if value is None else float(value)


def _with_unknowns(indices: list[int | None]) -> np.ndarray:
    """int64 indices with -1 for None (what predict takes for an unknown user or item)."""
    return np.array([-1 if x is None else x for x in indices], dtype=np.int64)
