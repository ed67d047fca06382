"""Similar items of the next-item models: the cosine of their output vectors, bias left out."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from recforge.models import get

from .answers_sequence import cycle

QUICK = {"epochs": 2, "factors": 8, "seed": 0}


@pytest.mark.parametrize(
    ("name", "params"),
    [
        ("sasrec", {"max_len": 6}),
        ("gru4rec", {"max_len": 6, "hidden": 8}),
        ("caser", {"max_len": 3, "vertical": 1, "horizontal": 2}),
        ("bert4rec", {"max_len": 6}),
    ],
)
def test_similar_items_are_the_cosine_of_the_output_vectors(name: str, params: dict) -> None:
    model = get(name, **QUICK, **params).fit(cycle())
    with torch.no_grad():
        vectors = model.module_.item_vectors(None).numpy()
    if model.module_.bias_column:
        vectors = vectors[:, :-1]
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    cosine = unit @ unit.T
    ids, sims = model.similar_items([0, 5], k=7)
    for row, item in enumerate([0, 5]):
        expected = np.delete(cosine[item], item)
        np.testing.assert_allclose(sims[row], np.sort(expected)[::-1], rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(cosine[item, ids[row]], sims[row], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", ["caser", "bert4rec"])
def test_an_item_bias_does_not_change_which_items_are_similar(name: str) -> None:
    """Caser and BERT4Rec carry a per-item bias as the vectors' last column; a huge bias on
    one item (a very popular item) must leave every similarity as it was."""
    model = get(name, **QUICK, max_len=3).fit(cycle())
    before = model.similar_items(np.arange(8), k=7)
    bias = model.module_.output_bias if name == "caser" else model.module_.item_bias
    with torch.no_grad():
        bias[3] += 100.0
    after = model.similar_items(np.arange(8), k=7)
    np.testing.assert_array_equal(before[0], after[0])
    np.testing.assert_allclose(before[1], after[1], rtol=1e-6)
