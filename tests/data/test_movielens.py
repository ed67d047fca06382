"""MovieLens loaders on the real 100K release and on small hand-written 1M-style and 20M-style
folders; features are aligned to the id maps."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from recforge.data import load, load_movielens
from recforge.errors import DataError, DatasetNotFoundError


def test_ml100k_known_counts_and_features(ml100k_dir: Path) -> None:
    ml = load_movielens(ml100k_dir)
    data = ml.interactions
    assert (data.n_users, data.n_items, data.nnz) == (943, 1682, 100_000)
    assert data.explicit
    assert data.timestamps is not None
    assert float(data.matrix.data.mean()) == pytest.approx(3.52986, abs=1e-5)
    toy_story = int(data.item_ids.to_index([1])[0])
    assert ml.item_titles[toy_story] == "Toy Story (1995)"
    genres = ml.item_features["genres"]
    labels = set(genres.vocabulary[genres.values[[toy_story]].indices])
    assert labels == {"Animation", "Children's", "Comedy"}
    assert "unknown" not in set(genres.vocabulary)
    assert ml.item_features["year"].values[toy_story] == 1995
    assert ml.user_features is not None
    user1 = int(data.user_ids.to_index([1])[0])
    assert ml.user_features["age"].values[user1] == 24
    gender = ml.user_features["gender"]
    assert gender.vocabulary[gender.values[user1]] == "M"
    assert ml.item_features.matrix().shape == (1682, 18 + 1)


def test_ml100k_by_name_through_recforge_data(ml100k_dir: Path) -> None:
    by_name = load("ml-100k", home=ml100k_dir.parent)
    by_folder = load(ml100k_dir)
    assert (by_name.matrix != by_folder.matrix).nnz == 0
    u_data = load(ml100k_dir / "u.data", format="movielens")
    assert u_data.nnz == 100_000


@pytest.fixture
def ml1m_like(tmp_path: Path) -> Path:
    """A 1M-layout folder: '::' files, Latin-1 titles, coded occupations, a tags file (10M)."""
    root = tmp_path / "ml-1m"
    root.mkdir()
    (root / "ratings.dat").write_text("1::10::5::978300760\n1::20::3::978302109\n2::10::4::5\n")
    (root / "movies.dat").write_bytes(
        "10::Amélie (2001)::Comedy|Romance\n20::Heat (1995)::Action|Crime|Thriller\n"
        "30::Unrated (1990)::(no genres listed)\n".encode("latin-1")
    )
    (root / "users.dat").write_text("1::F::1::10::48067\n2::M::56::16::70072\n")
    (root / "tags.dat").write_text("1::10::Paris::1\n2::10::paris ::2\n2::20::heist::3\n")
    return root


def test_dat_layout(ml1m_like: Path) -> None:
    ml = load_movielens(ml1m_like)
    data = ml.interactions
    assert (data.n_users, data.n_items, data.nnz) == (2, 2, 3)
    assert list(ml.item_titles) == ["Amélie (2001)", "Heat (1995)"]
    tags = ml.item_features["tags"]
    assert list(tags.vocabulary) == ["heist", "paris"]
    np.testing.assert_array_equal(tags.values.toarray(), [[0, 1], [1, 0]])
    assert ml.user_features is not None
    occupation = ml.user_features["occupation"]
    assert list(occupation.vocabulary[occupation.values]) == ["K-12 student", "self-employed"]


def test_csv_layout_with_quoted_titles_and_missing_metadata(tmp_path: Path) -> None:
    root = tmp_path / "ml-latest-small"
    root.mkdir()
    (root / "ratings.csv").write_text(
        "userId,movieId,rating,timestamp\n1,1,4.0,964982703\n1,3,4.5,964981247\n2,99,1.0,5\n"
    )
    (root / "movies.csv").write_text(
        'movieId,title,genres\n1,Toy Story (1995),Adventure|Animation\n3,"Grumpier Old Men, The '
        '(1995)",Comedy|Romance\n7,Sabrina (1995),Comedy\n'
    )
    (root / "tags.csv").write_text("userId,movieId,tag,timestamp\n2,1,pixar,1\n2,1,fun,2\n")
    ml = load_movielens(root)
    assert ml.user_features is None
    assert list(ml.item_titles) == ["Toy Story (1995)", "Grumpier Old Men, The (1995)", ""]
    year = ml.item_features["year"].values
    assert year[0] == 1995
    assert np.isnan(year[2])  # movie 99 has no metadata: missing, not dropped
    assert ml.item_features["genres"].values[[2]].nnz == 0
    assert ml.item_features["tags"].values.toarray()[0].sum() == 2


def test_missing_or_broken_folders_say_what_is_wrong(tmp_path: Path, ml1m_like: Path) -> None:
    with pytest.raises(DatasetNotFoundError, match="neither a known dataset"):
        load_movielens(tmp_path / "nope")
    (ml1m_like / "movies.dat").write_text("10::Only two fields\n")
    with pytest.raises(DataError, match=r"movies\.dat:1: expected 3 fields"):
        load_movielens(ml1m_like)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DataError, match="not a MovieLens folder"):
        load_movielens(empty)
