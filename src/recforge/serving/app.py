"""The HTTP service: FastAPI routes over a ModelStore.

Every user mistake is a 4xx whose body is {"detail": "<one line naming the problem and the
fix>"}: an unknown item or model (404), k out of range or a bad body (422), an operation the
model cannot do (409), an oversized batch (413). Ids in paths and bodies are raw ids as in the
training data; an integer-id catalogue accepts them as numbers or strings.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any

import numpy as np
from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, ConfigDict, Field

from recforge.errors import RecforgeError, UnsupportedOperationError
from recforge.serving.limits import BodySizeLimit
from recforge.serving.metrics import ServiceMetrics
from recforge.serving.store import ModelStore, ServedModel

__all__ = ["MAX_BATCH", "create_app"]

MAX_BATCH = 1000  # users or pairs in one request
MAX_BODY_BYTES = 1 << 20  # a request body (1,000 pairs of long ids fit many times over)
_log = logging.getLogger("uvicorn.error")  # shown beside uvicorn's own messages

RawId = str | int
LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})
ListLength = Annotated[int, Field(strict=True, ge=1, description="list length")]  # not `true`
Rating = Annotated[float, Field(allow_inf_nan=False)]  # NaN and Infinity refused


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
    users: list[RawId]
    k: ListLength = 10
    exclude_seen: bool = True
    genres: str | None = Field(None, description="comma-separated genres to keep")
    model: str | None = None


class HistoryRequest(Body):
    items: list[RawId]
    ratings: list[Rating] | None = Field(
        None,
        description="the visitor's rating of each item, in order; items rated below "
        "min_rating are not used as taste but are never recommended",
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
    pairs: list[tuple[RawId, RawId]] = Field(description="[user, item] pairs")
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
    max_batch: int = MAX_BATCH,
    watch: float = 0.0,
    admin_token: str | None = None,
    max_body_bytes: int = MAX_BODY_BYTES,
) -> FastAPI:
    """The service over `store`; the OpenAPI spec is at /openapi.json, its page at /docs.

    max_body_bytes: larger request bodies get 413 before they are read whole.
    admin_token: /admin/* then needs `Authorization: Bearer <token>` (401 otherwise); without
    one, /admin/* answers loopback clients only (403 for others).

    watch: every `watch` seconds (0: never) look for artifacts saved again under the store's
    directory and swap them in, as POST /admin/reload does; with several worker processes this
    is how every worker picks up a new model.
    """
    metrics = ServiceMetrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
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
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()) if p != "body") or "request"
        message = first["msg"]
        if first.get("type") == "extra_forbidden":
            message = "this route takes no such field (its fields are listed at /docs)"
        return JSONResponse(status_code=422, content={"detail": f"{where}: {message}"})

    @app.exception_handler(RecforgeError)
    async def user_mistake(request: Request, exc: RecforgeError) -> JSONResponse:
        status = 409 if isinstance(exc, UnsupportedOperationError) else 422
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

    def check_k(k: int, m: ServedModel) -> None:
        n = m.model.n_items_
        if not 1 <= k <= n:
            raise HTTPException(422, f"k must be between 1 and the catalogue size {n}; got {k}")

    def check_batch(size: int, what: str) -> None:
        if size > max_batch:
            raise HTTPException(
                413, f"{size} {what} in one request; send at most {max_batch} per request"
            )

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

    @app.get("/health")
    def health() -> dict[str, Any]:
        """Liveness, and the models served with their versions."""
        return {"status": "ok", "models": store.versions()}

    @app.get("/metrics", response_class=Response)
    def prometheus() -> Response:
        """Prometheus text format: request counts and latency by route, the models served."""
        return metrics.render()

    @app.post("/admin/reload")
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

    @app.get("/users", response_model=list[UserInfo])
    async def users(
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

    @app.get("/items", response_model=list[ItemInfo])
    async def items(
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

    @app.get("/users/{user_id}/history", response_model=UserHistory)
    async def history(
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

    @app.get("/users/{user_id}/recommendations", response_model=UserRecommendations)
    async def recommend(
        user_id: str,
        k: Annotated[int, Query(description="list length")] = 10,
        exclude_seen: Annotated[bool, Query(description="drop the user's training items")] = True,
        genres: Annotated[
            str | None, Query(description="comma-separated genres; items of any of them")
        ] = None,
        model: Annotated[str | None, Query(description="served model name")] = None,
    ) -> UserRecommendations:
        """Top-k for a user, best first; an unknown user gets the most popular items, flagged."""
        m = served(model)
        check_k(k, m)
        return for_user(m, user_id, k, exclude_seen, genre_filter(m, genres))

    @app.get("/users/{user_id}/recommendations/{item_id}/explanation", response_model=Explanation)
    async def explain(
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

    @app.post("/recommendations", response_model=list[UserRecommendations])
    def recommend_batch(body: BatchRequest) -> list[UserRecommendations]:
        """The same for a batch of users, in the order given."""
        m = served(body.model)
        check_batch(len(body.users), "users")
        check_k(body.k, m)
        among = genre_filter(m, body.genres)
        return [for_user(m, u, body.k, body.exclude_seen, among) for u in body.users]

    @app.post("/recommendations/for-history", response_model=HistoryRecommendations)
    def recommend_history(body: HistoryRequest) -> HistoryRecommendations:
        """A new user from the items they liked, without retraining: the model's own history
        scoring where it has one, else the most popular items outside the history (flagged).
        With ratings, items rated below min_rating shape nothing but are not recommended."""
        m = served(body.model)
        check_batch(len(body.items), "items")
        check_k(body.k, m)
        if body.ratings is not None and len(body.ratings) != len(body.items):
            raise HTTPException(
                422, f"ratings: give one rating per item ({len(body.items)} items, "
                f"{len(body.ratings)} ratings), or leave ratings out",
            )  # fmt: skip
        liked_from = body.min_rating
        if liked_from is None and m.ratings is not None and m.ratings.nnz:
            liked_from = float(m.ratings.data.mean())
        ratings: list[float | None] = [None] * len(body.items)
        if body.ratings is not None:
            ratings = list(body.ratings)
        history: list[int] = []
        disliked: list[int] = []
        unknown: list[RawId] = []
        disliked_raw: list[RawId] = []
        for raw, rating in zip(body.items, ratings, strict=True):
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
                404, f"none of the items {body.items[:5]} is known to model {m.name!r}"
            )
        if m.model.supports_history:
            extra = len(set(disliked))
            ids, scores = m.model.recommend_for_history(history, k=body.k + extra)
            keep = ~np.isin(ids[0], disliked)
            ids, scores = ids[0][keep][: body.k], scores[0][keep][: body.k]
            items, fallback = listing(m, ids, scores), None
        else:
            ranked = m.popular[~np.isin(m.popular, history + disliked)]
            items, fallback = popular(m, ranked[: body.k]), "popularity"
        return HistoryRecommendations(
            model=m.name, version=m.version, fallback=fallback, unknown_items=unknown,
            disliked_items=disliked_raw, items=items,
        )  # fmt: skip

    @app.get("/items/{item_id}/similar", response_model=list[Recommendation])
    def similar(
        item_id: str,
        k: Annotated[int, Query(description="list length")] = 10,
        model: Annotated[str | None, Query(description="served model name")] = None,
    ) -> list[Recommendation]:
        """The k items most similar to one item (the model's own similarity), best first."""
        m = served(model)
        check_k(k, m)
        item = known_item(m, item_id)
        ids, sims = m.model.similar_items([item], k=k)
        return listing(m, ids[0], sims[0])

    @app.post("/predict", response_model=list[Prediction])
    def predict(body: PredictRequest) -> list[Prediction]:
        """Predicted ratings; unknown users or items fall back on what the model knows."""
        m = served(body.model)
        check_batch(len(body.pairs), "pairs")
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


def _maybe_float(value: Any) -> float | None:
    return None if value is None else float(value)


def _with_unknowns(indices: list[int | None]) -> np.ndarray:
    """int64 indices with -1 for None (what predict takes for an unknown user or item)."""
    return np.array([-1 if x is None else x for x in indices], dtype=np.int64)
