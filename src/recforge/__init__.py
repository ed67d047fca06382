"""recforge: recommender systems, from interaction logs to honest evaluation and serving."""

from recforge._numba_cache import use_user_cache

use_user_cache()  # before any kernel module imports numba

from recforge import models  # noqa: E402
from recforge.artifact import load  # noqa: E402
from recforge.data import Interactions  # noqa: E402

__version__ = "0.1.0"

__all__ = ["Interactions", "__version__", "load", "models"]
