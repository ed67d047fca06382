"""The command line, driven as a user would: files in, files and one-line errors out."""

from __future__ import annotations

import gzip
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from recforge.cli import main

COMMANDS = [
    ["data", "info"],
    ["data", "list"],
    ["data", "download"],
    ["split"],
    ["train"],
    ["recommend"],
    ["predict"],
    ["evaluate"],
    ["models"],
    ["demo"],
    ["serve"],
]


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_error(code: int, err: str, *fragments: str) -> None:
    assert code != 0
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ")
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


@pytest.fixture
def ratings_file(tmp_path: Path) -> Path:
    """30 users × 12 items: user u rates items with the parity of u, ratings 1–5, timestamps."""
    rng = np.random.default_rng(0)
    lines = ["user,item,rating,timestamp"]
    t = 1_000_000
    for u in range(30):
        for i in range(u % 2, 12, 2):
            if rng.random() < 0.8:
                t += 1
                lines.append(f"u{u},m{i},{1 + (u + i) % 5},{t}")
    path = tmp_path / "ratings.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_every_command_has_help_with_an_example(
    capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    code, out, _ = run(capsys, *command, "--help")
    assert code == 0
    assert "Example" in out
    assert "recforge" in out


def test_models_lists_the_registry(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "models")
    assert code == 0
    names = [line.split()[0] for line in out.splitlines()]
    assert {"popularity", "bias"} <= set(names)


def test_data_info_counts_a_csv(capsys: pytest.CaptureFixture[str], ratings_file: Path) -> None:
    code, out, _ = run(capsys, "data", "info", str(ratings_file), "--json")
    assert code == 0
    info = json.loads(out)
    text = ratings_file.read_text().splitlines()[1:]
    assert info["interactions"] == len(text)
    assert info["users"] == len({line.split(",")[0] for line in text})
    assert info["items"] == len({line.split(",")[1] for line in text})
    assert sum(info["rating_histogram"].values()) == len(text)
    assert info["time_min"] is not None


def test_data_info_table(capsys: pytest.CaptureFixture[str], ratings_file: Path) -> None:
    code, out, _ = run(capsys, "data", "info", str(ratings_file))
    assert code == 0
    assert "sparsity" in out
    assert "time span" in out


def test_a_session_log_is_counted_in_sessions(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """info and train name a session log's rows sessions, not users."""
    path = tmp_path / "clicks.csv"
    path.write_text("session_id,timestamp,item_id\ns1,1,a\ns1,2,b\ns2,3,a\ns3,4,c\n")
    code, out, _ = run(capsys, "data", "info", str(path))
    assert code == 0
    lines = out.splitlines()
    assert "sessions       3" in lines
    assert not any(line.startswith("users") for line in lines)
    assert any(line.startswith("per session") for line in lines)
    code, out, _ = run(capsys, "data", "info", str(path), "--json")
    assert (json.loads(out)["rows"], json.loads(out)["users"]) == ("session", 3)
    code, out, _ = run(
        capsys, "train", "--data", str(path), "--model", "popularity", "--out", str(tmp_path / "m")
    )
    assert code == 0
    assert "(3 sessions × 3 items)" in out
    code, out, _ = run(
        capsys, "split", str(path), "--out", str(tmp_path / "s"), "--method", "leave-last-out"
    )
    assert code == 0
    assert "(1 test sessions)" in out
    assert "2 sessions had too few interactions" in out
    assert json.loads((tmp_path / "s" / "split.json").read_text())["rows"] == "session"
    code, out, _ = run(capsys, "data", "info", str(tmp_path / "s" / "train.tsv"), "--json")
    assert json.loads(out)["rows"] == "session"


def test_missing_file_is_one_line(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = run(capsys, "data", "info", str(tmp_path / "nope.csv"))
    assert_one_line_error(code, err, "nope.csv")


def test_malformed_line_names_file_and_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("user,item,rating\n1,2,3\n1,3,abc\n")
    code, _, err = run(capsys, "data", "info", str(path))
    assert_one_line_error(code, err, "bad.csv:3")


def test_usage_error_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "train", "--model", "bias")
    assert code == 2
    assert_one_line_error(code, err, "--data")


def test_unknown_model_and_parameter(
    capsys: pytest.CaptureFixture[str], ratings_file: Path, tmp_path: Path
) -> None:
    code, _, err = run(
        capsys, "train", "--data", str(ratings_file), "--model", "bais", "--out", str(tmp_path)
    )
    assert_one_line_error(code, err, "bais", "bias")
    code, _, err = run(
        capsys,
        "train",
        "--data",
        str(ratings_file),
        "--model",
        "bias",
        "--param",
        "n_epoch=3",
        "--out",
        str(tmp_path),
    )
    assert_one_line_error(code, err, "n_epoch")
    code, _, err = run(
        capsys,
        "train",
        "--data",
        str(ratings_file),
        "--model",
        "bias",
        "--param",
        "reg_items",
        "--out",
        str(tmp_path),
    )
    assert_one_line_error(code, err, "key=value")


def test_train_recommend_predict_evaluate(
    capsys: pytest.CaptureFixture[str], ratings_file: Path, tmp_path: Path
) -> None:
    splits = tmp_path / "splits"
    code, _, err = run(
        capsys,
        "split",
        str(ratings_file),
        "--method",
        "user-time",
        "--test",
        "0.25",
        "--out",
        str(splits),
    )
    assert code == 0, err
    train_lines = (splits / "train.tsv").read_text().splitlines()
    test_lines = (splits / "test.tsv").read_text().splitlines()
    n_rows = len(ratings_file.read_text().splitlines()) - 1
    assert len(train_lines) - 1 + len(test_lines) - 1 == n_rows

    run_dir = tmp_path / "run"
    code, out, err = run(
        capsys,
        "train",
        "--data",
        str(splits / "train.tsv"),
        "--model",
        "bias",
        "--param",
        "n_epochs=5",
        "--out",
        str(run_dir),
    )
    assert code == 0, err
    assert (run_dir / "model" / "manifest.json").exists()
    assert "bias recommends the items of highest predicted rating" in " ".join(err.split())

    recs = tmp_path / "recs.tsv"
    code, _, err = run(
        capsys, "recommend", str(run_dir), "--users", "all", "-k", "3", "--out", str(recs)
    )
    assert code == 0, err
    seen: dict[str, set[str]] = {}
    for line in train_lines[1:]:
        user, item = line.split("\t")[:2]
        seen.setdefault(user, set()).add(item)
    lines = recs.read_text().splitlines()
    assert len(lines) == len(seen)
    for line in lines:
        user, items = line.split("\t")
        listed = items.split(",")
        assert len(listed) == 3
        assert not set(listed) & seen[user]

    pairs = tmp_path / "pairs.tsv"
    pairs.write_text("u0\tm0\nu1\tm1\n")
    preds = tmp_path / "preds.tsv"
    code, _, err = run(capsys, "predict", str(run_dir), "--pairs", str(pairs), "--out", str(preds))
    assert code == 0, err
    rows = [line.split("\t") for line in preds.read_text().splitlines()]
    assert [r[:2] for r in rows] == [["u0", "m0"], ["u1", "m1"]]
    assert all(1.0 <= float(r[2]) <= 5.0 for r in rows)

    code, out, err = run(
        capsys,
        "evaluate",
        str(run_dir),
        "--test",
        str(splits / "test.tsv"),
        "--k",
        "5,10",
        "--json",
    )
    assert code == 0, err
    result = json.loads(out)
    for key in ("ndcg@5", "recall@10", "precision@5", "map@10", "mrr@5", "hit_rate@10", "rmse"):
        assert key in result
        assert np.isfinite(result[key])
    assert 0.0 <= result["ndcg@5"] <= 1.0

    code, out, err = run(
        capsys,
        "evaluate",
        "--recs",
        str(recs),
        "--test",
        str(splits / "test.tsv"),
        "--train",
        str(splits / "train.tsv"),
        "--k",
        "3",
        "--json",
    )
    assert code == 0, err
    from_file = json.loads(out)
    assert 0.0 <= from_file["recall@3"] <= 1.0


def test_recommend_unknown_user_is_one_line(
    capsys: pytest.CaptureFixture[str], ratings_file: Path, tmp_path: Path
) -> None:
    run_dir = tmp_path / "run"
    code, _, err = run(
        capsys, "train", "--data", str(ratings_file), "--model", "popularity", "--out", str(run_dir)
    )
    assert code == 0, err
    users = tmp_path / "users.txt"
    users.write_text("u0\nstranger\n")
    code, _, err = run(
        capsys, "recommend", str(run_dir), "--users", str(users), "--out", str(tmp_path / "r.tsv")
    )
    assert_one_line_error(code, err, "users.txt:2", "stranger")


def test_recommend_for_new_sessions_from_a_file(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """recommend --sessions: each new session's list is the model's recommend_for_history of
    its known items in time order; unknown items and item-less sessions are counted in
    warnings. evaluate --sessions: next-item prediction in those sessions."""
    from recforge import load
    from recforge.data import read_interactions
    from recforge.evaluation import evaluate_sessions

    clicks = ["session_id,timestamp,item_id"]
    for s in range(40):
        clicks += [f"s{s},{t},i{(s + 2 * t) % 15}" for t in range(5)]
    (tmp_path / "clicks.csv").write_text("\n".join(clicks) + "\n")
    run_dir = tmp_path / "gru"
    code, _, err = run(
        capsys, "train", "--data", str(tmp_path / "clicks.csv"), "--model", "gru4rec",
        "--param", "epochs=2", "--out", str(run_dir),
    )  # fmt: skip
    assert code == 0, err
    new = tmp_path / "new.csv"
    new.write_text("session_id,timestamp,item_id\nb,9,i4\nb,2,i7\nb,5,zz\na,1,i3\nc,1,nope\n")
    out = tmp_path / "next.tsv"
    code, stdout, err = run(
        capsys, "recommend", str(run_dir), "--sessions", str(new), "-k", "4", "--out", str(out)
    )
    assert code == 0, err
    assert "wrote top-4 lists for 2 sessions" in stdout
    assert "2 of 5 interactions are with items the model does not know" in err
    assert "get no list: 1 (the first: 'c')" in err
    model = load(run_dir / "model")
    lines = dict(line.split("\t") for line in out.read_text().splitlines())
    for session, history in (("b", ["i7", "i4"]), ("a", ["i3"])):  # b's clicks by time
        ids, _ = model.recommend_for_history(model.item_ids_.to_index(history), k=4)
        assert lines.pop(session).split(",") == [str(i) for i in model.item_ids_.to_raw(ids[0])]
    assert lines == {}
    code, out, err = run(
        capsys, "evaluate", str(run_dir), "--sessions", str(new), "--k", "1,4", "--json"
    )
    assert code == 0, err
    expected = evaluate_sessions(model, read_interactions(new), k=[1, 4]).as_dict()
    assert json.loads(out) == expected
    assert (expected["unit"], expected["users"], expected["users_skipped"]) == ("sessions", 1, 2)
    later = tmp_path / "later.csv"  # s1 comes back: its training clicks come first
    later.write_text("session_id,timestamp,item_id\ns1,99,i3\n")
    code, _, err = run(capsys, "evaluate", str(run_dir), "--sessions", str(later))
    assert_one_line_error(code, err, "no session has two items the model knows")
    code, out, err = run(
        capsys, "evaluate", str(run_dir), "--sessions", str(later),
        "--train", str(tmp_path / "clicks.csv"), "--k", "1,4", "--json",
    )  # fmt: skip
    assert code == 0, err
    earlier = read_interactions(tmp_path / "clicks.csv")
    expected = evaluate_sessions(model, read_interactions(later), before=earlier, k=[1, 4])
    assert json.loads(out) == expected.as_dict()
    assert expected.n_users == 1
    assert expected.notes[0].startswith("predictions: 1;")
    code, _, err = run(capsys, "evaluate", str(run_dir), "--test", str(new))
    assert_one_line_error(code, err, "none of its sessions is known", f"--sessions {new}")
    code, _, err = run(capsys, "evaluate", str(run_dir), "--sessions", str(new), "--test", str(new))
    assert_one_line_error(code, err, "drop --test")
    code, _, err = run(
        capsys, "recommend", str(run_dir), "--sessions", str(new), "--include-seen",
        "--out", str(out),
    )  # fmt: skip
    assert_one_line_error(code, err, "drop --users and --include-seen")
    code, _, err = run(
        capsys, "train", "--data", str(tmp_path / "clicks.csv"), "--model", "popularity",
        "--out", str(tmp_path / "pop"),
    )  # fmt: skip
    code, _, err = run(
        capsys, "recommend", str(tmp_path / "pop"), "--sessions", str(new), "--out", str(out)
    )
    assert_one_line_error(code, err, "--sessions needs a model with supports_history")


def test_console_script_prints_no_traceback(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "recforge", "data", "info", str(tmp_path / "missing.tsv")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 1
    assert proc.stderr.startswith("error: ")
    assert "Traceback" not in proc.stderr


def test_feature_models_need_a_movielens_feature_source(
    capsys: pytest.CaptureFixture[str], ratings_file: Path, tmp_path: Path
) -> None:
    code, _, err = run(
        capsys, "train", "--data", str(ratings_file), "--model", "content",
        "--out", str(tmp_path / "m"),
    )  # fmt: skip
    assert_one_line_error(code, err, "--item-features", "model 'content' needs item features")
    # a wrong path is never ignored, even for a model that only keeps titles from it
    code, _, err = run(
        capsys, "train", "--data", str(ratings_file), "--model", "popularity",
        "--item-features", str(tmp_path / "nowhere"), "--out", str(tmp_path / "p"),
    )  # fmt: skip
    assert_one_line_error(code, err, "nowhere' is not a MovieLens dataset name or folder")
    assert not (tmp_path / "p" / "model").exists()


@pytest.mark.ml100k
def test_train_min_rating_learns_from_liked_ratings_and_never_recommends_the_rest(
    capsys: pytest.CaptureFixture[str], ratings_file: Path, tmp_path: Path
) -> None:
    out_dir = tmp_path / "knn"
    argv = ["train", "--data", str(ratings_file), "--model", "itemknn", "--out", str(out_dir)]
    code, _, err = run(capsys, *argv, "--min-rating", "4")
    assert code == 0, err
    assert "highest predicted rating" not in err  # item-KNN ranks by summed similarity
    manifest = json.loads((out_dir / "model" / "manifest.json").read_text())
    assert manifest["min_rating"] == 4.0
    recs = tmp_path / "recs.tsv"
    code, _, err = run(capsys, "recommend", str(out_dir), "--users", "all", "-k", "3", "--out",
                       str(recs))  # fmt: skip
    assert code == 0, err
    rated: dict[str, set[str]] = {}
    for line in ratings_file.read_text().splitlines()[1:]:
        user, item = line.split(",")[:2]
        rated.setdefault(user, set()).add(item)
    for line in recs.read_text().splitlines():
        user, items = line.split("\t")
        assert not set(items.split(",")) & rated[user]  # low ratings are not recommended either
    code, _, err = run(capsys, *argv[:-1], str(tmp_path / "again"), "--min-rating", "9")
    assert_one_line_error(code, err, "lower min_rating")


def test_content_trains_on_a_split_with_movielens_features(
    capsys: pytest.CaptureFixture[str], ml100k_dir: Path, tmp_path: Path
) -> None:
    splits = tmp_path / "splits"
    assert run(capsys, "split", str(ml100k_dir), "--out", str(splits))[0] == 0
    code, out, err = run(
        capsys, "train", "--data", str(splits / "train.tsv"), "--model", "content",
        "--item-features", str(ml100k_dir), "--out", str(tmp_path / "m"),
    )  # fmt: skip
    assert code == 0, err
    assert "trained content" in out
    # titles and genres of the MovieLens items, and the training ratings, are kept for serving
    from recforge.artifact import load_for_serving

    model, _, shown, ratings = load_for_serving(tmp_path / "m" / "model")
    assert shown is not None
    assert ratings is not None
    star_wars = int(model.item_ids_.to_index([50])[0])
    assert shown["title"].values[star_wars] == "Star Wars (1977)"
    assert "Sci-Fi" in shown["genres"].vocabulary[shown["genres"].values[[star_wars]].indices]
    assert set(np.unique(ratings.data)) == {1.0, 2.0, 3.0, 4.0, 5.0}
    code, out, _ = run(
        capsys, "evaluate", str(tmp_path / "m"), "--test", str(splits / "test.tsv"), "--json"
    )
    assert code == 0
    assert json.loads(out)["ndcg@10"] > 0.02


@pytest.mark.ml100k
def test_a_hybrid_takes_its_cf_model_and_parameters_from_the_command_line(
    capsys: pytest.CaptureFixture[str], ml100k_dir: Path, tmp_path: Path
) -> None:
    model_dir = tmp_path / "hybrid"
    code, _, err = run(
        capsys, "train", "--data", str(ml100k_dir), "--model", "hybrid", "--param", "cf=ials",
        "--param", "cf_params={'factors': 8, 'iterations': 2}", "--out", str(model_dir),
    )  # fmt: skip
    assert code == 0, err
    from recforge import load

    model = load(model_dir)
    assert model.cf_params == {"factors": 8, "iterations": 2}
    assert model._cf.item_factors_.shape[1] == 8
    code, _, err = run(
        capsys, "train", "--data", str(ml100k_dir), "--model", "hybrid", "--param", "cf=nope",
        "--out", str(model_dir),
    )  # fmt: skip
    assert_one_line_error(code, err, "Hybrid's CF model (cf='nope')", "unknown model 'nope'")


def test_a_neural_model_writes_its_run_dir_and_resumes(
    capsys: pytest.CaptureFixture[str], ratings_file: Path, tmp_path: Path
) -> None:
    out_dir = tmp_path / "mf"
    args = ["train", "--data", str(ratings_file), "--model", "torchmf", "--out", str(out_dir)]
    code, _, err = run(capsys, *args, "--param", "epochs=2", "--param", "seed=0")
    assert code == 0, err
    lines = (out_dir / "run" / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(line)["epoch"] for line in lines] == [1, 2]
    assert (out_dir / "run" / "checkpoint.pt").is_file()
    # more epochs on the same run: it continues from epoch 3 instead of starting over
    code, _, err = run(capsys, *args, "--param", "epochs=4", "--param", "seed=0", "--resume")
    assert code == 0, err
    lines = (out_dir / "run" / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(line)["epoch"] for line in lines] == [1, 2, 3, 4]
    # resuming with another learning rate is refused, naming the difference
    code, _, err = run(capsys, *args, "--param", "lr=0.5", "--param", "seed=0", "--resume")
    assert_one_line_error(code, err, "checkpoint.pt", "lr: 0.005 there, 0.5 now")


def test_neural_only_options_are_refused_for_other_models(
    capsys: pytest.CaptureFixture[str], ratings_file: Path, tmp_path: Path
) -> None:
    base = ["train", "--data", str(ratings_file), "--out", str(tmp_path / "m")]
    code, _, err = run(capsys, *base, "--model", "bias", "--resume")
    assert_one_line_error(code, err, "not a neural model", "--resume")
    code, _, err = run(capsys, *base, "--model", "bias", "--user-features", "ml-100k")
    assert_one_line_error(code, err, "does not use user features")
    code, _, err = run(capsys, *base, "--model", "torchmf", "--param", "device=cuda:7")
    assert_one_line_error(code, err, "device='cuda:7'", "device='cpu'")


def test_index_builds_an_ann_index_and_reports_its_recall(
    capsys: pytest.CaptureFixture[str], ratings_file: Path, tmp_path: Path
) -> None:
    out_dir = tmp_path / "ials"
    code, _, err = run(
        capsys, "train", "--data", str(ratings_file), "--model", "ials", "--param", "factors=4",
        "--out", str(out_dir),
    )  # fmt: skip
    assert code == 0, err
    code, out, err = run(capsys, "index", str(out_dir), "--kind", "ivf")
    assert code == 0, err
    assert "as ivf" in out
    assert (out_dir / "model" / "ann" / "ann.json").is_file()
    recall = float(out.strip().splitlines()[-1].rsplit(" ", 1)[1])
    assert recall > 0.9  # a tiny catalogue: the lists nearly always hold the exact top-10
    code, _, err = run(capsys, "index", str(out_dir), "--kind", "annoy")
    assert_one_line_error(code, err, "'kind'", "'hnsw', 'ivf'")
    code, _, err = run(
        capsys,
        "train",
        "--data",
        str(ratings_file),
        "--model",
        "bias",
        "--out",
        str(tmp_path / "b"),
    )
    code, _, err = run(capsys, "index", str(tmp_path / "b"))
    assert_one_line_error(code, err, "not an embedding model")


def test_unusable_outputs_fail_before_any_work(
    capsys: pytest.CaptureFixture[str], ratings_file: Path, tmp_path: Path
) -> None:
    """--out naming a file once gave a traceback, and for train only after the whole fit."""
    taken = tmp_path / "taken"
    taken.write_text("")
    code, _, err = run(
        capsys, "train", "--data", str(ratings_file), "--model", "bias", "--out", str(taken)
    )
    assert_one_line_error(code, err, f"--out {taken} is a file, not a directory")
    code, _, err = run(capsys, "split", str(ratings_file), "--out", str(taken))
    assert_one_line_error(code, err, "is a file, not a directory")
    assert taken.read_text() == ""


def test_ids_and_recommendation_files_must_be_utf8(
    capsys: pytest.CaptureFixture[str], ratings_file: Path, tmp_path: Path
) -> None:
    model = tmp_path / "run"
    assert (
        run(capsys, "train", "--data", str(ratings_file), "--model", "bias", "--out", str(model))[0]
        == 0
    )
    latin = tmp_path / "users.txt"
    latin.write_bytes(b"u1\nu2\nJos\xe9\n")
    code, _, err = run(
        capsys, "recommend", str(model), "--users", str(latin), "--out", str(tmp_path / "r.tsv")
    )
    assert_one_line_error(code, err, f"{latin}:3: not valid UTF-8 (byte 0xe9)")
    code, _, err = run(capsys, "evaluate", "--recs", str(latin), "--test", str(ratings_file))
    assert_one_line_error(code, err, f"{latin}:3: not valid UTF-8")
    for bad in ("0", "-5"):
        code, _, err = run(
            capsys, "recommend", str(model), "--batch-size", bad, "--out", str(tmp_path / "r.tsv")
        )
        assert_one_line_error(code, err, "--batch-size")
        assert not (tmp_path / "r.tsv").exists()


def test_predict_reads_split_files_and_skips_unknown_pairs_on_request(
    capsys: pytest.CaptureFixture[str], ratings_file: Path, tmp_path: Path
) -> None:
    """A split file's quoted header was once read as a user id, and one unknown id stopped the
    whole file."""
    model = tmp_path / "run"
    assert (
        run(capsys, "train", "--data", str(ratings_file), "--model", "bias", "--out", str(model))[0]
        == 0
    )
    pairs = tmp_path / "test.tsv"
    pairs.write_text(
        '"user"\t"item"\t"rating"\n\nu0\tm0\t4\nu0\tghost\t3\nnobody\tm2\t1\nu1\tm1\t2\n'
    )
    preds = tmp_path / "preds.tsv"
    argv = ["predict", str(model), "--pairs", str(pairs), "--out", str(preds)]
    code, _, err = run(capsys, *argv)
    assert_one_line_error(
        code, err, f"{pairs}:4: item 'ghost' is unknown", "2 pairs", "--unknown skip"
    )
    assert not preds.exists()
    code, _, err = run(capsys, *argv, "--unknown", "skip")
    assert code == 0, err
    assert "skipped 2 of 4 pairs" in err
    assert f"{pairs}:4" in err
    assert [line.split("\t")[:2] for line in preds.read_text().splitlines()] == [
        ["u0", "m0"],
        ["u1", "m1"],
    ]
    code, _, err = run(capsys, *argv, "--unknown", "ignore")
    assert_one_line_error(code, err, "--unknown must be 'error' or 'skip'")


def test_recommend_says_what_it_wrote_when_k_exceeds_the_catalogue(
    capsys: pytest.CaptureFixture[str], ratings_file: Path, tmp_path: Path
) -> None:
    model = tmp_path / "run"
    argv = ["train", "--data", str(ratings_file), "--model", "popularity", "--out", str(model)]
    assert run(capsys, *argv)[0] == 0
    recs = tmp_path / "recs.tsv"
    code, out, err = run(capsys, "recommend", str(model), "-k", "1000000000", "--out", str(recs))
    assert code == 0, err
    longest = max(len(line.split("\t")[1].split(",")) for line in recs.read_text().splitlines())
    assert longest < 12  # every user has seen items, left out of the 12
    assert f"wrote lists of at most {longest} items (every unseen item" in out
    argv = ["recommend", str(model), "-k", "1000000000", "--include-seen", "--out", str(recs)]
    code, out, _ = run(capsys, *argv)
    assert code == 0
    assert "wrote lists of at most 12 items (every item;" in out
    code, out, _ = run(capsys, "recommend", str(model), "-k", "2", "--out", str(recs))
    assert "wrote top-2 lists for 30 users" in out


def test_a_full_disk_during_save_is_one_line_and_keeps_the_old_model(
    capsys: pytest.CaptureFixture[str],
    ratings_file: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import errno

    from recforge import load

    out = tmp_path / "run"
    argv = ["train", "--data", str(ratings_file), "--out", str(out), "--model"]
    assert run(capsys, *argv, "bias")[0] == 0

    def full(*args: object, **kwargs: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device", str(out / "model"))

    monkeypatch.setattr(np, "savez", full)
    code, _, err = run(capsys, *argv, "popularity")
    assert_one_line_error(code, err, "no space left to write the model", "free space")
    assert load(out).name == "bias"
    versions = out / ".model.versions"
    assert not [p for p in versions.iterdir() if p.name.startswith(".tmp")]


def test_encoding_and_compressed_files_from_the_command_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """The encoding error advised an option the CLI did not have; a gzip file got that error."""
    import gzip

    latin = tmp_path / "latin.csv"
    latin.write_bytes("user,item,rating\nJosé,i1,5\nAna,i2,4\n".encode("latin-1"))
    code, _, err = run(capsys, "data", "info", str(latin))
    assert_one_line_error(code, err, f"{latin}:2: not valid utf-8", "--encoding")
    code, out, err = run(capsys, "data", "info", str(latin), "--encoding", "latin-1")
    assert code == 0, err
    assert "users" in out
    code, _, err = run(capsys, "data", "info", str(latin), "--encoding", "nope")
    assert_one_line_error(code, err, "unknown encoding 'nope'")
    packed = tmp_path / "ratings.csv"  # gzip inside, no .gz suffix
    packed.write_bytes(gzip.compress(b"user,item,rating\nu1,i1,5\nu2,i2,4\n"))
    code, out, err = run(capsys, "data", "info", str(packed))
    assert code == 0, err


MALFORMED: dict[str, bytes | None] = {  # file name → content (None: a directory)
    "empty.csv": b"",
    "header-only.csv": b"user,item,rating\n",
    "wrong-separator.csv": b"user;item;rating\nu1;i1;5\n",
    "latin-1.csv": "user,item,rating\nJosé,i1,5\n".encode("latin-1"),
    "binary.csv": bytes(range(256)) * 4,
    "nan-rating.csv": b"user,item,rating\nu1,i1,nan\nu2,i2,4\n",
    "inf-rating.csv": b"user,item,rating\nu1,i1,inf\nu2,i2,4\n",
    "a-directory": None,
}


@pytest.mark.parametrize("case", [*MALFORMED, "missing.csv"])
@pytest.mark.parametrize("command", ["info", "split", "train", "evaluate", "sessions"])
def test_malformed_data_gets_one_line_naming_the_file_from_every_command(
    capsys: pytest.CaptureFixture[str],
    ratings_file: Path,
    tmp_path: Path,
    case: str,
    command: str,
) -> None:
    bad = tmp_path / case
    content = MALFORMED.get(case, b"")
    if case in MALFORMED:
        if content is None:
            bad.mkdir()
        else:
            bad.write_bytes(content)
    model = tmp_path / "run"
    assert run(capsys, "train", "--data", str(ratings_file), "--model", "itemknn", "--out",
               str(model))[0] == 0  # fmt: skip
    argv = {
        "info": ["data", "info", str(bad)],
        "split": ["split", str(bad), "--out", str(tmp_path / "parts")],
        "train": [
            "train",
            "--data",
            str(bad),
            "--model",
            "popularity",
            "--out",
            str(tmp_path / "m"),
        ],
        "evaluate": ["evaluate", str(model), "--test", str(bad)],
        "sessions": ["recommend", str(model), "--sessions", str(bad), "--out", str(tmp_path / "r")],
    }[command]
    code, _, err = run(capsys, *argv)
    assert_one_line_error(code, err, case)


ODD_BUT_VALID: dict[str, tuple[bytes, int, str]] = {  # name → (content, users, warning or "")
    "duplicates.csv": (b"user,item,rating\nu1,i1,5\nu1,i1,3\nu2,i2,4\nu3,i2,5\n", 3, "duplicate"),
    "huge-ids.csv": (
        b"user,item,rating\n99999999999999999999,i1,5\n99999999999999999998,i2,4\n1,i1,3\n",
        3,  # ids beyond int64 are read as text: no two users merge
        "",
    ),
    "one-line.csv": (b"user,item,rating\nu1,i1,5\n", 1, ""),
    "gzip-no-suffix.csv": (gzip.compress(b"user,item,rating\nu1,i1,5\nu2,i2,4\n"), 2, ""),
}


@pytest.mark.parametrize("case", list(ODD_BUT_VALID))
def test_odd_but_valid_data_is_read_whole_and_trained_on(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, case: str
) -> None:
    """The rest of the malformed-data corpus: files that are odd but valid are read whole
    (a merge only with a one-line warning that names the file), and a model trains on them."""
    content, users, warning = ODD_BUT_VALID[case]
    path = tmp_path / case
    path.write_bytes(content)
    code, out, err = run(capsys, "data", "info", str(path))
    assert code == 0, err
    assert re.search(rf"^users\s+{users}$", out, re.MULTILINE), out
    if warning:
        assert len(err.splitlines()) == 1
        assert err.startswith(f"warning: {path}")
        assert warning in err
    else:
        assert err == ""
    code, out, err = run(capsys, "train", "--data", str(path), "--model", "popularity", "--out",
                         str(tmp_path / "m"))  # fmt: skip
    assert code == 0, err
    assert f"({users} users" in out
