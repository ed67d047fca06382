"""recforge: recommender systems, from interaction logs to honest evaluation and serving."""

from recforge import models
from recforge.artifact import load
from recforge.data import Interactions

__version__ = "0.1.0"

__all__ = ["Interactions", "__version__", "load", "models"]
