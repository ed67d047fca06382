"""The peer virtual environment (benchmarks/.peer-venv), built from requirements-peers.txt.

.venv/bin/python benchmarks/peers.py      # build or refresh it; prints its python
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
VENV = HERE / ".peer-venv"
REQUIREMENTS = HERE / "requirements-peers.txt"


def peer_python() -> Path:
    """Path to the peer venv's python, building the venv first when it is missing or stale."""
    python = VENV / "bin" / "python"
    stamp = VENV / ".requirements-sha256"
    wanted = hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()
    if python.exists() and stamp.exists() and stamp.read_text().strip() == wanted:
        return python
    base = shutil.which("python3.11") or sys.executable
    print(f"building peer venv {VENV} (scikit-surprise compiles; a few minutes)", file=sys.stderr)
    subprocess.run([base, "-m", "venv", "--clear", str(VENV)], check=True)
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "-r", str(REQUIREMENTS)], check=True
    )
    stamp.write_text(wanted + "\n")
    return python


if __name__ == "__main__":
    print(peer_python())
