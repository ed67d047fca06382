"""Data layer: interactions, id maps, loaders, features, splits and synthetic data."""

from recforge.data.columns import ROLES, ColumnMapping, parse_columns
from recforge.data.datasets import SOURCE_FORMATS, load
from recforge.data.download import DATASETS, RemoteDataset, data_home, fetch
from recforge.data.features import FEATURE_KINDS, Feature, FeatureTable
from recforge.data.idmap import IdMap, factorize
from recforge.data.interactions import (
    DUPLICATE_POLICIES,
    Histories,
    Interactions,
    InteractionStats,
    concat,
)
from recforge.data.movielens import MovieLensDataset, load_movielens
from recforge.data.readers import FILE_FORMATS, read_interactions, write_interactions
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
    "DATASETS",
    "DUPLICATE_POLICIES",
    "FEATURE_KINDS",
    "FILE_FORMATS",
    "ROLES",
    "SOURCE_FORMATS",
    "SPLIT_METHODS",
    "ColdStart",
    "ColumnMapping",
    "Feature",
    "FeatureTable",
    "Histories",
    "IdMap",
    "InteractionStats",
    "Interactions",
    "MovieLensDataset",
    "RemoteDataset",
    "Split",
    "SplitReport",
    "SyntheticModel",
    "concat",
    "data_home",
    "factorize",
    "fetch",
    "kfold",
    "leave_last_out",
    "load",
    "load_movielens",
    "parse_columns",
    "random_split",
    "read_interactions",
    "split",
    "synthetic_arrays",
    "synthetic_interactions",
    "synthetic_model",
    "time_split",
    "user_split",
    "write_interactions",
]
