"""The HTTP service, driven through FastAPI's TestClient: answers and 4xx errors."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from recforge.data import Interactions
from recforge.models import get
from recforge.serving.app import create_app
from recforge.serving.store import ModelStore

Served = tuple[TestClient, dict[str, Any]]  # the client, and the models it serves by name


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
    return TestClient(create_app(store, max_batch=3)), models


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
    too_many = client.post("/recommendations", json={"users": ["u1"] * 4})
    assert too_many.status_code == 413
    assert "at most 3" in too_many.json()["detail"]


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
        ("get", "/users/u1/recommendations?k=0", None, 422, "k must be between 1 and"),
        ("get", "/users/u1/recommendations?k=6", None, 422, "catalogue size 5"),
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
    response = client.post(
        "/recommendations", content=b"{not json", headers={"content-type": "application/json"}
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
