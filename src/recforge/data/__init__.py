"""Data layer: interactions, id maps, loaders, features, splits and synthetic data."""

from recforge.data.idmap import IdMap, factorize
from recforge.data.interactions import (
    DUPLICATE_POLICIES,
    Histories,
    Interactions,
    InteractionStats,
    concat,
)
from recforge.data.split import (
    SPLIT_METHODS,
    ColdStart,
    Split,
    SplitReport,
    kfold,
    leave_last_out,
    random_split,
    split,
    time_split,
    user_split,
)
from recforge.data.synthetic import (
    SyntheticModel,
    synthetic_arrays,
    synthetic_interactions,
    synthetic_model,
)

__all__ = [
    "DUPLICATE_POLICIES",
    "SPLIT_METHODS",
    "ColdStart",
    "Histories",
    "IdMap",
    "InteractionStats",
    "Interactions",
    "Split",
    "SplitReport",
    "SyntheticModel",
    "concat",
    "factorize",
    "kfold",
    "leave_last_out",
    "random_split",
    "split",
    "synthetic_arrays",
    "synthetic_interactions",
    "synthetic_model",
    "time_split",
    "user_split",
]
