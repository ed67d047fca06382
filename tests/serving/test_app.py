"""The HTTP service, driven through FastAPI's TestClient: answers and 4xx errors."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from recforge.data import Feature, FeatureTable, IdMap, Interactions, synthetic_interactions
from recforge.errors import DataError
from recforge.models import get
from recforge.serving.app import MAX_BATCH, MAX_K, create_app
from recforge.serving.store import ModelStore

Served = tuple[TestClient, dict[str, Any]]  # the client, and the models it serves by name
LOCAL = ("127.0.0.1", 50000)  # a client on this machine (TestClient's own is "testclient")


@pytest.fixture
def served(tiny_explicit: Interactions, tmp_path: Path) -> Served:
    models = {
        "ease": get("ease").fit(tiny_explicit),
        "bias": get("bias", n_epochs=3).fit(tiny_explicit),
        "itemknn": get("itemknn").fit(tiny_explicit),
    }
    for name, model in models.items():
        model.save(tmp_path / "models" / name)
    store = ModelStore(tmp_path / "models")
    return TestClient(create_app(store), client=LOCAL), models


def test_health_lists_the_models_and_their_versions(served: Served) -> None:
    client, _ = served
    body = client.get("/health").json()
    assert body["status"] == "ok"
    assert sorted(body["models"]) == ["bias", "ease", "itemknn"]
    assert all(len(v) == 12 for v in body["models"].values())


def test_recommendations_match_the_model_and_skip_seen_items(served: Served) -> None:
    client, models = served
    ease = models["ease"]
    response = client.get("/users/u1/recommendations", params={"k": 2, "model": "ease"})
    assert response.status_code == 200
    body = response.json()
    ids, scores = ease.recommend(ease.user_ids_.to_index(["u1"]), k=2)
    keep = ids[0] >= 0
    assert [r["item"] for r in body["items"]] == list(ease.item_ids_.to_raw(ids[0][keep]))
    np.testing.assert_allclose([r["score"] for r in body["items"]], scores[0][keep], rtol=1e-6)
    assert {r["item"] for r in body["items"]}.isdisjoint({"i1", "i2", "i3"})  # u1's items
    assert body["fallback"] is None
    with_seen = client.get("/users/u1/recommendations?k=5&exclude_seen=false&model=ease").json()
    assert len(with_seen["items"]) == 5


def test_an_unknown_user_gets_popular_items_flagged(served: Served) -> None:
    client, _ = served
    body = client.get("/users/stranger/recommendations?k=3").json()
    assert body["fallback"] == "popularity"
    counts = [r["score"] for r in body["items"]]
    assert counts == sorted(counts, reverse=True)
    assert counts[0] == 2.0  # every item of the tiny data has exactly two interactions


def test_batch_keeps_the_order_and_refuses_oversized_batches(served: Served) -> None:
    client, _ = served
    body = client.post("/recommendations", json={"users": ["u2", "u1"], "k": 1}).json()
    assert [b["user"] for b in body] == ["u2", "u1"]
    too_many = client.post("/recommendations", json={"users": ["u1"] * (MAX_BATCH + 1)})
    assert too_many.status_code == 422
    assert too_many.json()["detail"].startswith(f"users: List should have at most {MAX_BATCH}")


def test_k_is_bounded_by_the_schema_and_capped_at_the_catalogue(served: Served) -> None:
    client, _ = served
    everything = client.get("/users/u1/recommendations?k=6&exclude_seen=false&model=ease")
    assert everything.status_code == 200
    assert len(everything.json()["items"]) == 5  # the whole catalogue: k above it is all of it
    unseen = client.get("/users/u1/recommendations?k=6&model=ease").json()["items"]
    assert sorted(r["item"] for r in unseen) == ["i4", "i5"]  # u1 saw i1, i2, i3
    for bad in (0, MAX_K + 1):
        response = client.get(f"/users/u1/recommendations?k={bad}")
        assert response.status_code == 422
        assert response.json()["detail"].startswith("query.k: Input should be")
    similar = client.get("/items/i1/similar?k=1000&model=itemknn").json()
    assert 0 < len(similar) <= 4  # every other item at most
    spec = client.get("/openapi.json").json()
    k = next(
        p["schema"]
        for p in spec["paths"]["/users/{user_id}/recommendations"]["get"]["parameters"]
        if p["name"] == "k"
    )
    assert (k["minimum"], k["maximum"]) == (1, MAX_K)


def test_for_history_serves_a_new_user_without_retraining(served: Served) -> None:
    client, models = served
    body = client.post(
        "/recommendations/for-history", json={"items": ["i1", "nope"], "k": 2, "model": "ease"}
    ).json()
    ease = models["ease"]
    ids, _ = ease.recommend_for_history(ease.item_ids_.to_index(["i1"]), k=2)
    assert [r["item"] for r in body["items"]] == list(ease.item_ids_.to_raw(ids[0][ids[0] >= 0]))
    assert body["unknown_items"] == ["nope"]
    assert body["fallback"] is None
    bias = client.post(
        "/recommendations/for-history", json={"items": ["i1"], "model": "bias", "k": 2}
    )
    assert bias.json()["fallback"] == "popularity"
    assert "i1" not in [r["item"] for r in bias.json()["items"]]


def test_similar_items_and_predictions(served: Served) -> None:
    client, models = served
    similar = client.get("/items/i1/similar?k=2&model=itemknn")
    assert similar.status_code == 200
    knn = models["itemknn"]
    ids, sims = knn.similar_items(knn.item_ids_.to_index(["i1"]), k=2)
    keep = ids[0] >= 0
    assert [r["item"] for r in similar.json()] == list(knn.item_ids_.to_raw(ids[0][keep]))
    np.testing.assert_allclose([r["score"] for r in similar.json()], sims[0][keep], rtol=1e-6)
    body = client.post(
        "/predict", json={"pairs": [["u1", "i4"], ["nobody", "i4"]], "model": "bias"}
    ).json()
    bias = models["bias"]
    expected = bias.predict(bias.user_ids_.to_index(["u1"]), bias.item_ids_.to_index(["i4"]))
    assert body[0]["rating"] == pytest.approx(float(expected[0]))
    assert body[1]["known_user"] is False


@pytest.mark.parametrize(
    ("method", "url", "payload", "status", "fragment"),
    [
        ("get", "/users/u1/recommendations?k=0", None, 422, "query.k: Input should be greater"),
        ("get", "/users/u1/recommendations?k=ten", None, 422, "k:"),
        (
            "get",
            "/users/u1/recommendations?k=2&model=svd",
            None,
            404,
            "models: bias, ease, itemknn",
        ),
        ("get", "/items/zzz/similar?k=2", None, 404, "unknown item 'zzz'"),
        ("get", "/items/i1/similar?k=2&model=bias", None, 409, "no similar items"),
        ("post", "/predict", {"pairs": [["u1", "i1"]], "model": "ease"}, 409, "ratings"),
        ("post", "/recommendations", {"users": "u1"}, 422, "users"),
        (
            "post",
            "/recommendations/for-history",
            {"items": ["x"], "k": 2},
            404,
            "none of the items",
        ),
    ],
)
def test_bad_requests_get_a_4xx_that_names_the_problem(
    served: Served,
    method: str,
    url: str,
    payload: dict[str, Any] | None,
    status: int,
    fragment: str,
) -> None:
    client, _ = served
    response = client.request(method.upper(), url, json=payload)
    assert response.status_code == status, response.text
    assert fragment in response.json()["detail"]


def test_malformed_json_is_a_422_not_a_500(served: Served) -> None:
    client, _ = served
    for body in (b"{not json", b"\xff\xfe{"):  # not JSON; not even UTF-8
        response = client.post(
            "/recommendations", content=body, headers={"content-type": "application/json"}
        )
        assert response.status_code == 422
        assert "JSON" in response.json()["detail"]


def test_admin_reload_swaps_in_a_new_artifact(
    served: Served, tiny_explicit: Interactions, tmp_path: Path
) -> None:
    client, _ = served
    before = client.get("/health").json()["models"]["bias"]
    get("bias", n_epochs=7).fit(tiny_explicit).save(tmp_path / "models" / "bias")
    response = client.post("/admin/reload")
    assert response.status_code == 200
    after = response.json()["models"]["bias"]
    assert after != before
    assert client.get("/health").json()["models"]["bias"] == after
    assert (
        f'recforge_model_info{{model="bias",version="{after}"}} 1.0' in client.get("/metrics").text
    )


def test_the_watcher_swaps_in_a_model_saved_again(
    tiny_explicit: Interactions, tmp_path: Path
) -> None:
    get("bias", n_epochs=3).fit(tiny_explicit).save(tmp_path / "m" / "bias")
    store = ModelStore(tmp_path / "m")
    assert store.disk_stamp() == store.stamp
    with TestClient(create_app(store, watch=0.05)) as client:  # the lifespan runs the watcher
        before = client.get("/health").json()["models"]["bias"]
        get("bias", n_epochs=7).fit(tiny_explicit).save(tmp_path / "m" / "bias")
        assert store.disk_stamp() != store.stamp
        deadline = time.monotonic() + 10
        while client.get("/health").json()["models"]["bias"] == before:
            assert time.monotonic() < deadline, "the re-saved model was never swapped in"
            time.sleep(0.05)
        assert store.disk_stamp() == store.stamp
        # a damaged save is skipped; the served model stays
        served = client.get("/health").json()["models"]
        (tmp_path / "m" / "bias" / "arrays.npz").write_bytes(b"damaged")
        (tmp_path / "m" / "bias" / "manifest.json").touch()
        time.sleep(0.3)
        assert client.get("/health").json()["models"] == served
        assert client.get("/users/u1/recommendations?k=2").status_code == 200


def test_a_damaged_artifact_on_reload_keeps_the_served_models(
    served: Served, tmp_path: Path
) -> None:
    client, _ = served
    before = client.get("/health").json()["models"]
    (tmp_path / "models" / "bias" / "arrays.npz").write_bytes(b"not a zip")
    response = client.post("/admin/reload")
    assert response.status_code == 422
    assert "damaged" in response.json()["detail"]
    assert client.get("/health").json()["models"] == before
    assert client.get("/users/u1/recommendations?k=2&model=bias").status_code == 200


def test_a_failed_reload_names_no_server_path(served: Served, tmp_path: Path) -> None:
    client, _ = served
    (tmp_path / "models" / "bias" / "arrays.npz").write_bytes(b"not a zip")
    detail = client.post("/admin/reload").json()["detail"]
    assert "models/bias" in detail
    assert str(tmp_path) not in detail
    assert str(tmp_path.resolve()) not in detail


def test_admin_routes_refuse_another_sites_page(served: Served) -> None:
    """A cross-origin form POST needs no preflight, so it could reload the models."""
    client, _ = served
    hostile = {
        "origin": "https://evil.example",
        "content-type": "application/x-www-form-urlencoded",
    }
    assert client.post("/admin/reload", headers=hostile).status_code == 403
    assert client.post("/admin/reload", headers={"sec-fetch-site": "cross-site"}).status_code == 403
    own = {"origin": "http://testserver", "sec-fetch-site": "same-origin"}
    assert client.post("/admin/reload", headers=own).status_code == 200
    assert client.post("/admin/reload").status_code == 200  # curl and scripts send no Origin


def test_admin_routes_answer_this_machine_or_the_token_holder(tmp_path: Path) -> None:
    data = Interactions.from_arrays(["u1", "u2"], ["i1", "i2"])
    get("popularity").fit(data).save(tmp_path / "m" / "pop")
    store = ModelStore(tmp_path / "m")
    remote = ("203.0.113.9", 40000)
    open_app = TestClient(create_app(store), client=remote)
    refused = open_app.post("/admin/reload")
    assert refused.status_code == 403
    assert "--admin-token" in refused.json()["detail"]
    guarded = TestClient(create_app(store, admin_token="s3cret"), client=remote)
    assert guarded.post("/admin/reload").status_code == 401
    wrong = {"authorization": "Bearer s3cre"}
    assert guarded.post("/admin/reload", headers=wrong).status_code == 401
    right = {"authorization": "Bearer s3cret"}
    assert guarded.post("/admin/reload", headers=right).status_code == 200
    local = TestClient(create_app(store, admin_token="s3cret"), client=LOCAL)
    assert local.post("/admin/reload").status_code == 401  # a token binds this machine too
    assert guarded.get("/users/u1/recommendations?k=1").status_code == 200  # others stay open


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"items": ["i1"], "k": True}, "k"),
        ({"items": ["i1"], "k": 0}, "k"),
        ({"items": ["i1"], "k": "3"}, "k"),
        ({"items": [True]}, "items.0"),
        ({"items": [{"item": "i1", "rating": float("nan")}]}, "items.0.rating"),
        ({"items": [{"item": "i1", "rating": float("inf")}]}, "items.0.rating"),
        ({"items": [{"item": "i1", "rating": True}]}, "items.0.rating"),
        ({"items": ["i1"], "min_rating": float("nan")}, "min_rating"),
        ({"items": []}, "items"),
    ],
)
def test_for_history_refuses_booleans_and_non_finite_numbers(
    served: Served, body: dict[str, Any], field: str
) -> None:
    client, _ = served
    response = client.post(
        "/recommendations/for-history",
        content=json.dumps(body),  # NaN and Infinity as Python's json writes them
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 422, response.text
    assert response.json()["detail"].startswith(f"{field}:")


def test_unknown_and_known_users_have_ids_of_one_type(tmp_path: Path) -> None:
    data = Interactions.from_arrays([1, 1, 2, 3], [10, 11, 10, 12])
    get("popularity").fit(data).save(tmp_path / "m" / "pop")
    client = TestClient(create_app(ModelStore(tmp_path / "m")))
    known = client.get("/users/1/recommendations?k=1").json()["user"]
    unknown = client.get("/users/99/recommendations?k=1").json()["user"]
    assert (known, unknown) == (1, 99)
    assert client.get("/users/u9/recommendations?k=1").json()["user"] == "u9"


def test_metrics_count_requests_by_route_and_status(served: Served) -> None:
    client, _ = served
    for _ in range(2):
        client.get("/users/u1/recommendations?k=2")
    client.get("/users/u1/recommendations?k=0")
    text = client.get("/metrics").text
    route = 'route="/users/{user_id}/recommendations"'
    assert f'recforge_requests_total{{method="GET",{route},status="200"}} 2.0' in text
    assert f'recforge_requests_total{{method="GET",{route},status="422"}} 1.0' in text
    assert f"recforge_request_seconds_count{{{route}}} 3.0" in text
    assert 'recforge_model_info{model="ease",version=' in text


def test_integer_ids_come_back_as_numbers(tmp_path: Path) -> None:
    data = Interactions.from_arrays([7, 7, 8, 9], [100, 200, 100, 300], [5.0, 3.0, 4.0, 2.0])
    get("ease").fit(data).save(tmp_path / "m")
    client = TestClient(create_app(ModelStore(tmp_path / "m")))
    body = client.get("/users/7/recommendations?k=1").json()
    assert body["user"] == 7
    assert body["items"][0]["item"] == 300
    history = client.post("/recommendations/for-history", json={"items": ["100", 200], "k": 1})
    assert history.json()["unknown_items"] == []


# ------------------------------------------------------------------ catalogue, explanations
TITLES = {"i1": "Alpha (1990)", "i2": "Beta (1991)", "i3": "Gamma (1992)", "i4": "Delta", "i5": ""}
GENRES = {"i1": "Comedy", "i2": "Drama|Comedy", "i3": "Drama", "i4": "Horror", "i5": None}


@pytest.fixture
def shown(tiny_explicit: Interactions, tmp_path: Path) -> Served:
    """EASE and item-KNN saved with titles, genres and the training ratings."""
    raw = list(TITLES)
    items = FeatureTable(
        IdMap(np.array(raw)),
        [
            Feature.text("title", [TITLES[i] for i in raw]),
            Feature.multi_hot("genres", [GENRES[i] for i in raw]),
        ],
    )
    models = {"ease": get("ease").fit(tiny_explicit), "svd": get("svd").fit(tiny_explicit)}
    for name, model in models.items():
        model.save(tmp_path / "shown" / name, items=items, ratings=tiny_explicit)
    return TestClient(create_app(ModelStore(tmp_path / "shown"))), models


def test_models_lists_what_each_model_can_do(shown: Served) -> None:
    client, _ = shown
    body = {m["name"]: m for m in client.get("/models").json()}
    assert sorted(body) == ["ease", "svd"]
    assert body["ease"]["genres"] == ["Comedy", "Drama", "Horror"]
    assert body["ease"]["supports_history"] is True
    assert body["svd"]["supports_history"] is False
    assert (body["ease"]["n_users"], body["ease"]["n_items"]) == (4, 5)


def test_recommendations_carry_titles_and_genres(shown: Served) -> None:
    client, _ = shown
    body = client.get("/users/u4/recommendations?k=3&model=ease").json()
    for rec in body["items"]:
        assert rec["title"] == (TITLES[rec["item"]] or None)
        assert rec["genres"] == sorted(
            (GENRES[rec["item"]] or "").split("|") if GENRES[rec["item"]] else []
        )


def test_the_genre_filter_keeps_items_of_any_genre_named(shown: Served) -> None:
    client, models = shown
    body = client.get("/users/u4/recommendations?k=5&genres=drama&model=ease").json()
    got = [r["item"] for r in body["items"]]
    assert got, "u4 has unseen drama items"
    assert set(got) == {"i2", "i3"}  # u4 saw i4, i5; the drama items are i2, i3
    ease = models["ease"]
    ids, _ = ease.recommend(ease.user_ids_.to_index(["u4"]), k=5)
    order = [i for i in ease.item_ids_.to_raw(ids[0][ids[0] >= 0]) if i in {"i2", "i3"}]
    assert got == order  # the model's own order among them
    two = client.get("/users/u4/recommendations?k=5&genres=Drama,Horror&exclude_seen=false")
    assert {r["item"] for r in two.json()["items"]} == {"i2", "i3", "i4"}
    unknown = client.get("/users/u4/recommendations?k=2&genres=Western")
    assert unknown.status_code == 404  # a name that names nothing, as an unknown model is
    assert "unknown genre 'Western'; genres: Comedy, Drama, Horror" in unknown.json()["detail"]
    stranger = client.get("/users/nobody/recommendations?k=5&genres=Horror").json()
    assert [r["item"] for r in stranger["items"]] == ["i4"]
    assert stranger["fallback"] == "popularity"


def test_a_model_saved_without_genres_says_it_cannot_filter(served: Served) -> None:
    client, _ = served
    response = client.get("/users/u1/recommendations?k=2&genres=Drama")
    assert response.status_code == 409  # the model cannot do it, whatever the genre
    assert "saved without item genres" in response.json()["detail"]


def test_history_lists_the_training_ratings_best_first(shown: Served) -> None:
    client, _ = shown
    body = client.get("/users/u1/history").json()
    assert [(h["item"], h["rating"]) for h in body["items"]] == [
        ("i1", 5.0),
        ("i3", 4.0),
        ("i2", 3.0),
    ]
    assert body["items"][0]["title"] == "Alpha (1990)"
    assert client.get("/users/nobody/history").status_code == 404


def test_user_and_item_search(shown: Served) -> None:
    client, _ = shown
    assert [u["user"] for u in client.get("/users?search=u").json()] == ["u1", "u2", "u3", "u4"]
    assert client.get("/users?search=u3").json() == [{"user": "u3", "n_items": 3}]
    assert client.get("/users?search=zz").json() == []
    found = client.get("/items", params={"search": "ALPHA 1990"}).json()
    assert found == [{"item": "i1", "title": "Alpha (1990)", "genres": ["Comedy"]}]
    assert [i["item"] for i in client.get("/items?search=i4").json()] == ["i4"]  # by id
    # an empty search lists the most interacted-with items first
    popular = [i["item"] for i in client.get("/items?limit=2").json()]
    assert popular == ["i1", "i2"]


def test_explanations_name_the_users_items_that_weigh_most(
    shown: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    client, models = shown
    ease = models["ease"]
    rec = client.get("/users/u4/recommendations?k=1&model=ease").json()["items"][0]["item"]
    url = f"/users/u4/recommendations/{rec}/explanation?model=ease"
    body = client.get(f"{url}&min_rating=0").json()  # every rating counts as liked
    assert body["how"] == "contribution"
    assert {b["item"] for b in body["because"]} <= {"i4", "i5"}
    assert body["because"], "EASE links u4's items to its top item"
    # the reasons are the positive contributions B[j, item], best first; all of them sum to
    # the score
    B = ease.weights_
    item = int(ease.item_ids_.to_index([rec])[0])
    history = ease.item_ids_.to_index(["i4", "i5"])
    positive = sorted((float(B[j, item]) for j in history if B[j, item] > 0), reverse=True)
    assert [b["weight"] for b in body["because"]] == pytest.approx(positive, rel=1e-6)
    for reason in body["because"]:
        j = int(ease.item_ids_.to_index([reason["item"]])[0])
        assert reason["weight"] == pytest.approx(float(B[j, item]), rel=1e-6)
    assert body["score"] == pytest.approx(float(B[history, item].sum()), rel=1e-5)
    ratings = {b["item"]: b["rating"] for b in body["because"]}
    assert all(ratings[i] == {"i4": 3.0, "i5": 5.0}[i] for i in ratings)
    # by default an item rated below the mean training rating (3.6) is no reason: i4 (3★)
    liked = client.get(url).json()["because"]
    assert liked == [b for b in body["because"] if b["item"] != "i4"]
    strict = client.get(f"{url}&min_rating=5.5").json()
    assert strict["because"] == []
    assert strict["score"] == pytest.approx(body["score"])
    url = "/users/u1/recommendations/i4/explanation?model=svd"
    svd = models["svd"]
    u1 = svd.item_ids_.to_index(["i1", "i2", "i3"])
    sims = svd._item_similarities(svd.item_ids_.to_index(["i4"]))[0, u1]
    every = client.get(f"{url}&n=3&min_rating=0").json()
    assert every["how"] == "similarity"
    assert [b["weight"] for b in every["because"]] == pytest.approx(
        sorted(sims[sims > 0], reverse=True), rel=1e-5
    )
    assert len(client.get(f"{url}&n=1&min_rating=0").json()["because"]) == min(1, (sims > 0).sum())
    # u1 rated i2 3★, below the mean training rating
    assert "i2" not in {b["item"] for b in client.get(url).json()["because"]}
    # no past item linked to the item at all: an empty list, not a server error
    monkeypatch.setattr(
        models["ease"].__class__,
        "explain",
        lambda self, user, item, n=5: (
            np.zeros(0, np.int32),
            np.zeros(0, np.float32),
            "contribution",
        ),
    )
    nothing = client.get("/users/u4/recommendations/i1/explanation?model=ease")
    assert nothing.status_code == 200
    assert nothing.json()["because"] == []
    stranger = client.get("/users/nobody/recommendations/i1/explanation").json()
    assert (stranger["how"], stranger["because"], stranger["score"]) == ("popularity", [], None)
    assert client.get("/users/u1/recommendations/i9/explanation").status_code == 404
    assert client.get("/users/u1/recommendations/i4/explanation?n=0").status_code == 422


def test_a_model_that_cannot_explain_answers_409(served: Served) -> None:
    client, _ = served
    response = client.get("/users/u1/recommendations/i4/explanation?model=bias")
    assert response.status_code == 409
    assert "cannot say which past items" in response.json()["detail"]


# ------------------------------------------------------------------ ANN retrieval
def test_a_model_with_an_ann_index_answers_from_it(tmp_path: Path) -> None:
    from recforge.cli import main

    data = synthetic_interactions(60, 300, 1500, seed=1)
    model = get("ials", factors=8, seed=0).fit(data)
    model.save(tmp_path / "m" / "ials")
    exact_store = ModelStore(tmp_path / "m")
    assert exact_store.get("ials").retrieval == "exact"
    assert main(["index", str(tmp_path / "m" / "ials"), "--kind", "hnsw", "--check", "0"]) == 0
    store = ModelStore(tmp_path / "m")
    served_model = store.get("ials")
    assert served_model.retrieval == "hnsw"
    client = TestClient(create_app(store))
    assert client.get("/models").json()[0]["retrieval"] == "hnsw"
    raw_user = model.user_ids_.to_raw([3])[0]
    body = client.get(f"/users/{raw_user}/recommendations?k=10").json()
    ids, _ = model.recommend([3], k=10)  # 300 items: the graph search finds the exact list
    assert [r["item"] for r in body["items"]] == list(model.item_ids_.to_raw(ids[0]))
    seen = set(model.item_ids_.to_raw(model.seen_[[3]].indices))
    assert seen.isdisjoint(r["item"] for r in body["items"])
    # re-saving the model replaces its directory, index included: exact again
    model.save(tmp_path / "m" / "ials")
    assert ModelStore(tmp_path / "m").get("ials").retrieval == "exact"


def test_an_index_of_another_model_version_is_refused(tmp_path: Path) -> None:
    from recforge.retrieval import ANNIndex, retrieval_vectors

    data = synthetic_interactions(30, 80, 300, seed=2)
    model = get("ials", factors=4, seed=0).fit(data)
    path = model.save(tmp_path / "ials")
    built = ANNIndex.build(retrieval_vectors(model)[1], kind="ivf")
    built.meta["model_sha256"] = "0" * 64
    built.save(path / "ann")
    with pytest.raises(DataError, match="built for another version of the model; rebuild it"):
        ModelStore(tmp_path / "ials")


# ------------------------------------------------------------------ sequence models
@pytest.fixture(scope="module")
def ring_sasrec() -> Any:
    """SASRec that has learnt the ring of items 0 → 1 → … → 7 → 0: user u (of 12) walked
    items u, u + 1, … u + 5 (mod 8) at times 0 … 5 (the ring of tests/models)."""
    step = np.tile(np.arange(6), 12)
    user = np.repeat(np.arange(12), 6)
    ring = Interactions.from_arrays(user, (user + step) % 8, np.ones(step.size), step)
    return get(
        "sasrec", factors=16, heads=1, blocks=1, max_len=4, dropout=0.0, epochs=150, lr=0.01,
        batch_size=16, seed=0, progress=False,
    ).fit(ring)  # fmt: skip


def test_a_served_sequence_model_reads_a_session_in_the_order_given(
    ring_sasrec: Any, tmp_path: Path
) -> None:
    from recforge.cli import main

    ring_sasrec.save(tmp_path / "m" / "sasrec")
    client = TestClient(create_app(ModelStore(tmp_path / "m")))

    def after(items: list[int]) -> int:
        body = client.post("/recommendations/for-history", json={"items": items, "k": 1}).json()
        assert body["fallback"] is None
        return int(body["items"][0]["item"])

    for i in range(8):
        assert after([(i + 2) % 8, i]) == (i + 1) % 8
        assert after([i, (i + 2) % 8]) == (i + 3) % 8
    # a known user continues from their stored sequence: user 2 walked 2 … 7, then comes 0
    assert client.get("/users/2/recommendations?k=1").json()["items"][0]["item"] == 0
    why = client.get("/users/2/recommendations/0/explanation?n=4").json()
    assert why["how"] == "attention"
    assert {b["item"] for b in why["because"]} <= {4, 5, 6, 7}  # the stored window
    assert 0.99 < sum(b["weight"] for b in why["because"]) <= 1.0 + 1e-6
    # an ANN index over its output vectors serves the known users the same lists
    assert main(["index", str(tmp_path / "m" / "sasrec"), "--kind", "hnsw", "--check", "0"]) == 0
    indexed = TestClient(create_app(ModelStore(tmp_path / "m")))
    assert indexed.get("/models").json()[0]["retrieval"] == "hnsw"
    for user in range(12):
        exact = client.get(f"/users/{user}/recommendations?k=3").json()["items"]
        approx = indexed.get(f"/users/{user}/recommendations?k=3").json()["items"]
        assert [r["item"] for r in approx] == [r["item"] for r in exact]
        np.testing.assert_allclose(
            [r["score"] for r in approx], [r["score"] for r in exact], rtol=1e-5
        )


def test_for_history_with_ratings_leaves_disliked_items_out_of_the_taste(shown: Served) -> None:
    client, models = shown
    ease = models["ease"]
    index = {raw: int(ease.item_ids_.to_index([raw])[0]) for raw in TITLES}
    body = client.post(
        "/recommendations/for-history",
        json={
            "items": [{"item": "i1", "rating": 5}, {"item": "i4", "rating": 1}, "i9"],
            "k": 3,
            "model": "ease",
        },
    ).json()
    # the training mean rating (3.6) splits liked from disliked: i4 shapes nothing
    assert body["disliked_items"] == ["i4"]
    assert body["unknown_items"] == ["i9"]
    ids, _ = ease.recommend_for_history([index["i1"]], k=4)
    expected = [i for i in ease.item_ids_.to_raw(ids[0][ids[0] >= 0]) if i != "i4"][:3]
    assert [r["item"] for r in body["items"]] == expected
    assert "i4" not in [r["item"] for r in body["items"]]
    # an explicit threshold: 1 counts as liked now, so i4 is part of the taste
    lenient = client.post(
        "/recommendations/for-history",
        json={
            "items": [{"item": "i1", "rating": 5}, {"item": "i4", "rating": 1}],
            "min_rating": 1,
            "k": 3,
        },
    ).json()
    assert lenient["disliked_items"] == []
    both, _ = ease.recommend_for_history([index["i1"], index["i4"]], k=3)
    assert [r["item"] for r in lenient["items"]] == list(
        ease.item_ids_.to_raw(both[0][both[0] >= 0])
    )
    none_liked = client.post(
        "/recommendations/for-history", json={"items": [{"item": "i1", "rating": 1}], "k": 2}
    )
    assert none_liked.status_code == 422  # the items are known: they are only disliked
    assert "every known item was rated below min_rating" in none_liked.json()["detail"]


def test_an_unknown_body_field_is_an_error_not_ignored(served: Served) -> None:
    client, _ = served
    response = client.post(
        "/recommendations/for-history", json={"items": ["i1"], "k": 2, "feature": {"age": 30}}
    )
    assert response.status_code == 422
    assert response.json()["detail"].startswith("feature: this route takes no such field")


def test_the_default_model_can_be_chosen(served: Served, tmp_path: Path) -> None:
    """Requests naming no model went to the first by name, whatever the user meant."""
    root = tmp_path / "models"
    chosen = TestClient(create_app(ModelStore(root, default="itemknn")))
    assert chosen.get("/users/u1/recommendations?k=2").json()["model"] == "itemknn"
    first = TestClient(create_app(ModelStore(root)))
    assert first.get("/users/u1/recommendations?k=2").json()["model"] == "bias"
    with pytest.raises(DataError, match=r"no model named 'svd' under models; its models: bias"):
        ModelStore(root, default="svd")


def test_serve_refuses_an_unknown_default_model_in_one_line(
    served: Served, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from recforge.cli import main

    code = main(["serve", str(tmp_path / "models"), "--default-model", "svd"])
    err = capsys.readouterr().err
    assert code == 1
    assert err.count("\n") == 1
    assert "no model named 'svd'" in err


def test_request_bodies_are_bounded_declared_or_streamed(served: Served, tmp_path: Path) -> None:
    client = TestClient(create_app(ModelStore(tmp_path / "models"), max_body_bytes=200))
    small = client.post("/recommendations/for-history", json={"items": ["i1"], "k": 1})
    assert small.status_code == 200
    big = {"items": ["i1"] * 100, "k": 1}
    declared = client.post("/recommendations/for-history", json=big)
    assert declared.status_code == 413
    assert "over 200 bytes" in declared.json()["detail"]

    def chunks():  # type: ignore[no-untyped-def]
        text = json.dumps(big).encode()
        for start in range(0, len(text), 50):
            yield text[start : start + 50]

    streamed = client.post(
        "/recommendations/for-history", content=chunks(),
        headers={"content-type": "application/json"},
    )  # fmt: skip
    assert streamed.status_code == 413


def test_ids_with_slashes_are_addressable_in_paths(tmp_path: Path) -> None:
    data = Interactions.from_arrays(
        ["a/b", "a/b", "c", "c", "d"], ["x/y", "z", "x/y", "w", "z"], [5, 4, 3, 5, 2]
    )
    get("ease").fit(data).save(tmp_path / "m" / "ease", ratings=data)
    client = TestClient(create_app(ModelStore(tmp_path / "m")))
    history = client.get("/users/a%2Fb/history")
    assert history.status_code == 200, history.text
    assert history.json()["user"] == "a/b"
    assert [r["item"] for r in history.json()["items"]] == ["x/y", "z"]
    recs = client.get("/users/a%2Fb/recommendations?k=2").json()
    assert (recs["user"], recs["fallback"]) == ("a/b", None)
    assert [r["item"] for r in recs["items"]] == ["w"]  # the only item a/b has not seen
    why = client.get("/users/a%2Fb/recommendations/w/explanation")
    assert why.status_code == 200, why.text
    assert [r["item"] for r in why.json()["because"]] == ["x/y"]  # c had both x/y and w
    similar = client.get("/items/x%2Fy/similar?k=3")
    assert similar.status_code == 200, similar.text
    assert "x/y" not in [r["item"] for r in similar.json()]


def test_health_answers_while_every_scoring_thread_is_busy(
    served: Served, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Scoring runs in threads, not on the event loop: with requests stuck inside the model,
    /health and /models still answer (before, a route computing on the loop stalled all)."""
    import asyncio
    import threading

    import httpx2

    from recforge.serving.store import ServedModel

    entered, release = threading.Semaphore(0), threading.Event()
    recommend = ServedModel.recommend

    def stuck(self: ServedModel, *args: Any, **kwargs: Any) -> Any:
        entered.release()
        release.wait(timeout=10)  # a stalled loop: the test fails in 40 s, not hangs
        return recommend(self, *args, **kwargs)

    app = create_app(ModelStore(tmp_path / "models"))  # (loading warms each model up)
    monkeypatch.setattr(ServedModel, "recommend", stuck)

    async def scenario() -> tuple[list[int], int, int]:
        transport = httpx2.ASGITransport(app=app, client=LOCAL)
        async with httpx2.AsyncClient(transport=transport, base_url="http://t") as client:
            slow = [
                asyncio.create_task(client.get(f"/users/u{u}/recommendations?k=2"))
                for u in (1, 2, 3, 4)
            ]
            while not entered.acquire(blocking=False):  # one is inside the model
                await asyncio.sleep(0.01)
            health = await asyncio.wait_for(client.get("/health"), timeout=30)
            models = await asyncio.wait_for(client.get("/models"), timeout=30)
            still_stuck = sum(not t.done() for t in slow)
            release.set()
            done = await asyncio.gather(*slow)
        assert still_stuck == 4  # every scoring request was still waiting meanwhile
        return [r.status_code for r in done], health.status_code, models.status_code

    try:
        statuses, health, models = asyncio.run(scenario())
    finally:
        release.set()
    assert (health, models) == (200, 200)
    assert statuses == [200] * 4
