"""Column mappings: which column of a file holds the user, item, rating/weight and timestamp.

A session column may stand in for the user column: in a session log (anonymous visits, each a
short sequence of clicks) sessions replace users, so every row of the interactions is a session.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from recforge.errors import DataError, ParameterError

__all__ = ["ROLES", "ColumnMapping", "detect_columns", "header_score", "parse_columns"]

# Roles a column can play. "weight" is an implicit-feedback value (a count, a dwell time);
# "rating" an explicit one. At most one of the two.
# "session" replaces "user" (rows are then sessions): a mapping has one of the two.
ROLES = ("user", "session", "item", "rating", "weight", "timestamp")
SKIP = ("-", "_", "")

# Header names recognised when no mapping is given (compared case-insensitively).
_ALIASES: dict[str, tuple[str, ...]] = {
    "user": ("user", "user_id", "userid", "uid", "users", "customer_id", "visitorid"),
    "session": ("session", "session_id", "sessionid"),
    "item": ("item", "item_id", "itemid", "iid", "movie", "movie_id", "movieid", "product_id"),
    "rating": ("rating", "ratings", "score", "stars"),
    "weight": ("weight", "count", "value", "clicks", "plays"),
    "timestamp": ("timestamp", "time", "ts", "datetime", "date", "event_time", "unix_time"),
}

Column = str | int


@dataclass(frozen=True)
class ColumnMapping:
    """role → column (a header name, or a 0-based position for files without a header).

    positional: the mapping came as bare roles, one per column in file order.
    """

    roles: dict[str, Column]
    positional: bool = False

    def __post_init__(self) -> None:
        if "rating" in self.roles and "weight" in self.roles:
            raise ParameterError(
                "columns: give a rating column or a weight column, not both "
                "(rating = explicit feedback, weight = implicit)"
            )
        if "user" in self.roles and "session" in self.roles:
            raise ParameterError(
                "columns: give a user column or a session column, not both (rows are users, "
                "or sessions when a log is read as sessions)"
            )
        if "user" not in self.roles and "session" not in self.roles:
            raise ParameterError(
                "columns: no user column; add one (or a session column for a session log), "
                "e.g. columns='user,item,rating'"
            )
        if "item" not in self.roles:
            raise ParameterError(
                "columns: no item column; add one, e.g. columns='user,item,rating'"
            )

    @property
    def explicit(self) -> bool | None:
        """True for a rating column, False for a weight column, None when there is neither."""
        if "rating" in self.roles:
            return True
        if "weight" in self.roles:
            return False
        return None

    @property
    def rows(self) -> str:
        """What a row of the interactions is: "user", or "session" for a session log."""
        return "session" if "session" in self.roles else "user"

    @property
    def value(self) -> Column | None:
        return self.roles.get("rating", self.roles.get("weight"))

    def resolve(self, names: Sequence[str], *, has_header: bool, source: str) -> dict[str, int]:
        """role → column position in a file whose columns are `names`; a session column comes
        back under "user", the role it plays."""
        out: dict[str, int] = {}
        for role, column in self.roles.items():
            key = "user" if role == "session" else role
            if isinstance(column, int):
                if not 0 <= column < len(names):
                    raise DataError(
                        f"{source}: the {role} column is position {column}, but the file has "
                        f"{len(names)} columns (positions count from 0)"
                    )
                out[key] = column
                continue
            if not has_header:
                raise DataError(
                    f"{source}: the {role} column is named {column!r}, but the file has no "
                    f"header; map columns by position instead (e.g. columns='user,item,rating')"
                )
            matches = [n for n, name in enumerate(names) if name == column]
            if not matches:
                folded = [n for n, name in enumerate(names) if name.lower() == column.lower()]
                matches = folded
            if not matches:
                raise DataError(
                    f"{source}: no column named {column!r} for the {role}; the header has "
                    f"{list(names)}"
                )
            out[key] = matches[0]
        return out


def parse_columns(spec: str | Mapping[str, Column] | Sequence[str] | None) -> ColumnMapping | None:
    """A ColumnMapping from one of:

    - "user,item,rating,timestamp": bare roles, one per column in file order ("-" skips one);
    - "user=userId,item=movieId,rating=rating": role=column, column a header name or position;
    - a dict {"user": "userId", "item": 1, ...} or a list of bare roles;
    - None: detect from the header (common names such as userId, movieId) or by position.
    """
    if spec is None:
        return None
    if isinstance(spec, Mapping):
        pairs = {str(k).strip().lower(): _column(v) for k, v in spec.items()}
        return ColumnMapping(_check_roles(pairs))
    tokens = [t.strip() for t in spec.split(",")] if isinstance(spec, str) else list(spec)
    if not tokens or all(t in SKIP for t in tokens):
        raise ParameterError(
            "columns is empty; give roles such as 'user,item,rating,timestamp' "
            "or 'user=userId,item=movieId'"
        )
    keyed = [t for t in tokens if "=" in t]
    if keyed and len(keyed) != len(tokens):
        raise ParameterError(
            f"columns {spec!r} mixes role=column pairs and bare roles; use one form, "
            f"e.g. 'user,item,rating' or 'user=userId,item=movieId,rating=rating'"
        )
    if keyed:
        mapping: dict[str, Column] = {}
        for token in keyed:
            role, _, column = token.partition("=")
            role = role.strip().lower()
            if role in mapping:
                raise ParameterError(f"columns: the {role} role is given twice in {spec!r}")
            mapping[role] = _column(column.strip())
        return ColumnMapping(_check_roles(mapping))
    positional: dict[str, Column] = {}
    for position, token in enumerate(tokens):
        role = token.lower()
        if role in SKIP:
            continue
        if role in positional:
            raise ParameterError(f"columns: the {role} role is given twice in {spec!r}")
        positional[role] = position
    return ColumnMapping(_check_roles(positional), positional=True)


def detect_columns(names: Sequence[str], *, has_header: bool, source: str) -> ColumnMapping:
    """The mapping used when none is given: header names by alias, else positions in the order
    user, item[, rating[, timestamp]]."""
    if has_header:
        roles: dict[str, Column] = {}
        lowered = [n.strip().lower() for n in names]
        for role, aliases in _ALIASES.items():
            for n, name in enumerate(lowered):
                if name in aliases and n not in roles.values():
                    roles[role] = n
                    break
        if "rating" in roles and "weight" in roles:
            del roles["weight"]
        if "session" in roles:  # a session log: sessions replace users
            roles.pop("user", None)
        if ("user" in roles or "session" in roles) and "item" in roles:
            return ColumnMapping(roles)
        raise DataError(
            f"{source}: cannot tell which columns hold the user and the item from the header "
            f"{list(names)}; pass columns='user=<name>,item=<name>[,rating=<name>]'"
        )
    count = len(names)
    if count < 2:
        raise DataError(
            f"{source}: found {count} column; an interactions file needs at least user and item "
            f"(check the separator, or pass sep= / --sep)"
        )
    order = ("user", "item", "rating", "timestamp")
    return ColumnMapping({role: n for n, role in enumerate(order[:count])}, positional=True)


def header_score(fields: Sequence[str]) -> int:
    """How many fields look like known column names (used to detect a header line)."""
    known = {alias for aliases in _ALIASES.values() for alias in aliases}
    return sum(f.strip().strip('"').lower() in known for f in fields)


def _column(value: object) -> Column:
    if isinstance(value, bool):
        raise ParameterError(f"columns: {value!r} is not a column name or position")
    if isinstance(value, int):
        return value
    text = str(value).strip()
    if text.isdigit():
        return int(text)
    if not text:
        raise ParameterError("columns: empty column name; write role=name or role=position")
    return text


def _check_roles(mapping: dict[str, Column]) -> dict[str, Column]:
    for role in mapping:
        if role not in ROLES:
            raise ParameterError(
                f"columns: unknown role {role!r}; roles are {', '.join(ROLES)} ('-' skips a "
                f"column); to map a header name write role=name, e.g. 'user=userId'"
            )
    return mapping
