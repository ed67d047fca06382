"""EntityFields: one d-vector per field (id, categorical, multi-hot, numeric), checked by hand."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from recforge.data.features import Feature, FeatureTable
from recforge.data.idmap import IdMap
from recforge.neural.fields import EntityFields, FieldSpec, specs_from_json, specs_to_json

DIM = 3


def table() -> FeatureTable:
    """4 items: a category (row 1 missing), a tag set (row 1 empty), a year (row 2 missing) and a
    title (text, skipped). The category's name holds a dot, which module keys cannot."""
    return FeatureTable(
        IdMap(np.array(["i0", "i1", "i2", "i3"])),
        [
            Feature.categorical("genre.main", ["a", None, "b", "a"]),
            Feature.multi_hot("tags", [["x", "y"], [], ["y"], ["x", "y", "z"]]),
            Feature.numeric("year", [1990, 2000, None, 2010]),
            Feature.text("title", ["one", "two", "three", "four"]),
        ],
    )


def fields(with_id: bool = True) -> EntityFields:
    torch.manual_seed(0)
    return EntityFields.from_table(4, table(), DIM, with_id=with_id)


def embedding(module: EntityFields, j: int) -> nn.Embedding:
    found = module.embeddings[f"f{j}"]
    assert isinstance(found, nn.Embedding)
    return found


def weight(module: EntityFields, j: int) -> torch.Tensor:
    return embedding(module, j).weight.detach()


def test_specs_and_output_shape() -> None:
    module = fields()
    assert module.specs == [
        FieldSpec("id", "id", 4),
        FieldSpec("genre.main", "categorical", 2),
        FieldSpec("tags", "multi_hot", 3, 3),
        FieldSpec("year", "numeric", 1),
    ]  # the text feature is skipped
    assert module.n_fields == 4
    rows = torch.tensor([0, 1, 2, 3, 0])
    out = module(rows)
    assert out.shape == (5, 4, DIM)
    assert out.dtype == torch.float32
    without_id = fields(with_id=False)
    assert [s.name for s in without_id.specs] == ["genre.main", "tags", "year"]
    assert without_id(rows).shape == (5, 3, DIM)


def test_id_field_is_the_row_embedding() -> None:
    module = fields()
    out = module(torch.tensor([2, 0]))
    assert torch.equal(out[:, 0], weight(module, 0)[[2, 0]])


def test_categorical_field_and_missing_category() -> None:
    module = fields()
    out = module(torch.arange(4)).detach()
    w = weight(module, 1)  # row 0: missing, row 1 + code: "a" → 1, "b" → 2
    assert torch.equal(out[0, 1], w[1])
    assert torch.equal(out[3, 1], w[1])
    assert torch.equal(out[2, 1], w[2])
    assert torch.equal(out[1, 1], torch.zeros(DIM))  # missing → the zero vector
    assert not torch.equal(w[1], torch.zeros(DIM))


def test_multi_hot_field_is_the_mean_of_its_labels() -> None:
    module = fields()
    out = module(torch.arange(4)).detach()
    w = weight(module, 2)  # labels x, y, z at rows 1, 2, 3
    torch.testing.assert_close(out[0, 2], (w[1] + w[2]) / 2)
    torch.testing.assert_close(out[2, 2], w[2])
    torch.testing.assert_close(out[3, 2], (w[1] + w[2] + w[3]) / 3)
    assert torch.equal(out[1, 2], torch.zeros(DIM))  # an empty set → zeros


def test_numeric_field_is_the_z_scored_value_times_a_vector() -> None:
    module = fields()
    out = module(torch.arange(4)).detach()
    v = module.numeric.detach()[0]
    z = np.array([-1.0, 0.0, 0.0, 1.0]) * np.sqrt(1.5)  # (year - 2000) / std(1990, 2000, 2010)
    for r in range(4):
        torch.testing.assert_close(out[r, 3], float(z[r]) * v)
    assert torch.equal(out[2, 3], torch.zeros(DIM))  # missing → 0
    assert torch.equal(out[1, 3], torch.zeros(DIM))  # the mean → 0 as well


def test_missing_values_get_no_gradient() -> None:
    """The padding rows stay zero: missing categories and empty sets learn nothing."""
    module = fields()
    module(torch.arange(4)).pow(2).sum().mul(-1).backward()
    for j in (1, 2):
        grad = embedding(module, j).weight.grad
        assert grad is not None
        assert torch.equal(grad[0], torch.zeros(DIM))
        assert bool((grad[1:] != 0).any())


def test_rebuilt_from_specs_json_and_state_dict_gives_the_same_outputs() -> None:
    module = fields()
    text = specs_to_json(module.specs)
    assert specs_from_json(text) == module.specs
    rebuilt = EntityFields(4, specs_from_json(text), DIM)
    rows = torch.tensor([3, 1, 2, 0, 3])
    assert not torch.equal(rebuilt(rows), module(rows))  # no data until the state is loaded
    rebuilt.load_state_dict(module.state_dict())
    assert torch.equal(rebuilt(rows), module(rows))
    # the features travel as buffers in the state dict, so the table is not needed again
    names = set(module.state_dict())
    assert {"categories", "numbers", "bag2"} <= names


def test_no_table_gives_the_id_field_only() -> None:
    module = EntityFields.from_table(3, None, DIM)
    assert module.specs == [FieldSpec("id", "id", 3)]
    assert module(torch.tensor([0, 2])).shape == (2, 1, DIM)


@pytest.mark.parametrize(
    "feature",
    [
        Feature.multi_hot("tags", [[], [], []]),
        Feature.numeric("year", [None, None, None]),
        Feature.categorical("genre", [None, None, None]),
    ],
)
def test_a_feature_missing_everywhere_gives_zeros(feature: Feature) -> None:
    module = EntityFields.from_table(3, FeatureTable(IdMap(np.arange(3)), [feature]), DIM)
    out = module(torch.arange(3))
    assert out.shape == (3, 2, DIM)
    assert torch.equal(out[:, 1], torch.zeros(3, DIM))
