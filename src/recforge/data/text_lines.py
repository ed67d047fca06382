"""Small text files given to the CLI and evaluator (id lists, pairs, recommendation lists),
read as UTF-8 lines with a file:line error for bytes that are not UTF-8."""

from __future__ import annotations

from pathlib import Path

from recforge.errors import DataError

__all__ = ["read_text_lines"]


def read_text_lines(path: Path) -> list[str]:
    """The lines of a UTF-8 text file, without their line ends (a BOM is dropped)."""
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise DataError(
            f"{path}:{line}: not valid UTF-8 (byte 0x{raw[exc.start]:02x}); save the file as UTF-8"
        ) from None
    return text.splitlines()
