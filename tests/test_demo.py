"""The demo: which models it trains, the leaderboard it builds, and the command a new user runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from recforge.cli import main
from recforge.data import Interactions
from recforge.demo import DEEP_SAMPLE, LeaderboardRow, demo_models, leaderboard
from recforge.errors import ParameterError
from recforge.models import available, model_class
from recforge.models.neural_base import NeuralRecommender


def test_the_default_demo_trains_every_classical_model_and_one_deep_model_per_family() -> None:
    chosen = demo_models()
    neural = [n for n in available() if issubclass(model_class(n), NeuralRecommender)]
    classical = [n for n in available() if n not in neural]
    assert set(classical) <= set(chosen)
    assert sorted(n for n in chosen if n in neural) == sorted(DEEP_SAMPLE)
    assert set(DEEP_SAMPLE) <= set(neural)
    assert demo_models(everything=True) == list(available())


@pytest.mark.ml100k
def test_the_leaderboard_is_sorted_and_reports_each_row_as_it_comes(ml100k: Interactions) -> None:
    seen: list[LeaderboardRow] = []
    rows, best = leaderboard(ml100k, models=["bias", "popularity", "ease"], on_row=seen.append)
    assert [r.model for r in seen] == ["bias", "popularity", "ease"]
    assert [r.ndcg10 for r in rows] == sorted((r.ndcg10 for r in rows), reverse=True)
    assert rows[0].model == "ease"
    assert best.name == "ease"
    by_name = {r.model: r for r in rows}
    assert by_name["popularity"].rmse is None
    assert by_name["bias"].rmse is not None
    assert 0.85 < by_name["bias"].rmse < 1.0
    assert 0.0 < by_name["popularity"].ndcg10 < by_name["ease"].ndcg10
    # bias lists the highest predicted ratings: marked as a rating model
    assert [by_name[n].rating_ranker for n in ("bias", "popularity", "ease")] == [
        True,
        False,
        False,
    ]


@pytest.mark.ml100k
def test_demo_command_with_named_models(
    capsys: pytest.CaptureFixture[str], ml100k_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RECFORGE_DATA", str(ml100k_dir.parent))
    code = main(["demo", "--models", "popularity,ease,bias"])
    out = capsys.readouterr().out
    assert code == 0
    assert "3 models" in out
    assert "predicted rating" in out
    assert "for top-N lists use the models that rank by a ranking score" in " ".join(out.split())
    assert "Top-10 for user 1 from ease" in out
    assert "more deep models" not in out  # the hint is for the default selection only


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["demo", "--models", "easy"], "did you mean 'ease'"),
        (["demo", "--models", ","], "name at least one model"),
        (["demo", "--all", "--models", "ease"], "not both"),
    ],
)
def test_demo_refuses_bad_model_choices_in_one_line(
    capsys: pytest.CaptureFixture[str], argv: list[str], fragment: str
) -> None:
    code = main(argv)
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert code != 0
    assert len(lines) == 1
    assert lines[0].startswith("error: ")
    assert fragment in lines[0]


def test_a_leaderboard_of_only_feature_models_without_features_says_why(
    tiny_explicit: Interactions,
) -> None:
    with pytest.raises(ParameterError, match="needs item features"):
        leaderboard(tiny_explicit, models=["content"])
