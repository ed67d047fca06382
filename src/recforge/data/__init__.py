"""Data layer: interactions, id maps, loaders, features, splits and synthetic data."""

from recforge.data.idmap import IdMap, factorize
from recforge.data.interactions import Histories, Interactions, InteractionStats

__all__ = ["Histories", "IdMap", "InteractionStats", "Interactions", "factorize"]
