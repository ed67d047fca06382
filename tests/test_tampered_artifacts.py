"""Artifacts truncated, emptied, edited or swapped between models are refused alike by the
library (`load`), the command line (`recforge recommend`, `recforge serve`) and the running
server (`POST /admin/reload`), each with one line that names the damaged file; the server keeps
serving the models it had."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from recforge import load
from recforge.artifact import ARRAYS_FILE, MANIFEST_FILE
from recforge.cli import main
from recforge.data import Interactions
from recforge.errors import DataError
from recforge.models import get
from recforge.serving.app import create_app
from recforge.serving.store import ModelStore

Tamper = Callable[[Path, Path, Path], None]  # (artifact, same kind refit, another model)


def cut_in_half(file: Path) -> None:
    file.write_bytes(file.read_bytes()[: file.stat().st_size // 2])


def edit_a_param(artifact: Path, _same: Path, _other: Path) -> None:
    manifest = json.loads((artifact / MANIFEST_FILE).read_text())
    manifest["params"]["n_epochs"] = 99
    (artifact / MANIFEST_FILE).write_text(json.dumps(manifest))


TAMPERINGS: dict[str, tuple[Tamper, str]] = {
    # name: (what is done to the artifact, what the error must say: the file at fault)
    "arrays truncated": (lambda a, s, o: cut_in_half(a / ARRAYS_FILE), ARRAYS_FILE),
    "arrays empty": (lambda a, s, o: (a / ARRAYS_FILE).write_bytes(b""), ARRAYS_FILE),
    "manifest truncated": (lambda a, s, o: cut_in_half(a / MANIFEST_FILE), MANIFEST_FILE),
    "manifest empty": (lambda a, s, o: (a / MANIFEST_FILE).write_bytes(b""), MANIFEST_FILE),
    "manifest edited": (edit_a_param, MANIFEST_FILE),
    "arrays of another fit": (
        lambda a, s, o: shutil.copy(s / ARRAYS_FILE, a / ARRAYS_FILE),
        ARRAYS_FILE,
    ),
    "arrays of another model": (
        lambda a, s, o: shutil.copy(o / ARRAYS_FILE, a / ARRAYS_FILE),
        "come from different models",
    ),
    "manifest of another model": (
        lambda a, s, o: shutil.copy(o / MANIFEST_FILE, a / MANIFEST_FILE),
        "come from different models",
    ),
    "arrays deleted": (lambda a, s, o: (a / ARRAYS_FILE).unlink(), ARRAYS_FILE),
}


@pytest.fixture
def artifacts(tiny_explicit: Interactions, tmp_path: Path) -> tuple[Path, Path, Path]:
    """models/bias (served), a refit of bias with other params, and an ease model."""
    bias = get("bias", n_epochs=3).fit(tiny_explicit).save(tmp_path / "models" / "bias")
    get("bias", n_epochs=7).fit(tiny_explicit).save(tmp_path / "spare" / "bias")
    get("ease").fit(tiny_explicit).save(tmp_path / "spare" / "ease")
    return Path(bias), tmp_path / "spare" / "bias", tmp_path / "spare" / "ease"


def one_line_error(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    code = main(list(argv))
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert code != 0
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ")
    assert "Traceback" not in err
    return lines[0]


@pytest.mark.parametrize("how", list(TAMPERINGS))
def test_a_tampered_artifact_is_refused_by_library_cli_and_server(
    how: str,
    artifacts: tuple[Path, Path, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    artifact, same_kind, other = artifacts
    store = ModelStore(artifact.parent)
    client = TestClient(create_app(store), client=("127.0.0.1", 50000))
    served = client.get("/health").json()["models"]
    tamper, named_file = TAMPERINGS[how]
    tamper(artifact, same_kind, other)

    with pytest.raises(DataError) as refused:
        load(artifact)
    message = str(refused.value)
    assert str(artifact) in message
    assert named_file in message

    line = one_line_error(
        capsys, "recommend", str(artifact), "--users", "all", "--out", str(tmp_path / "r.tsv")
    )
    assert str(artifact) in line
    assert named_file in line
    assert not (tmp_path / "r.tsv").exists()
    line = one_line_error(capsys, "serve", str(artifact.parent), "--port", "1")
    assert "bias" in line
    assert named_file in line

    response = client.post("/admin/reload")
    assert response.status_code == 422
    assert "models/bias" in response.json()["detail"]
    assert named_file in response.json()["detail"]
    assert client.get("/health").json()["models"] == served
    assert client.get("/users/u1/recommendations?k=2").status_code == 200


def test_an_empty_directory_or_a_file_in_place_of_the_model_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "empty").mkdir()
    (tmp_path / "file").write_text("not a model")
    for where in (tmp_path / "empty", tmp_path / "file"):
        with pytest.raises(DataError, match="no recforge model there"):
            load(where)
        out = str(tmp_path / "r.tsv")
        line = one_line_error(capsys, "recommend", str(where), "--users", "all", "--out", out)
        assert str(where) in line
        line = one_line_error(capsys, "serve", str(where))
        assert "no recforge model there" in line
