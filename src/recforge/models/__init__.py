"""Recommenders behind one protocol, and the registry that names them.

`recforge.models.get("bias", reg_items=5)` builds one by name; `available()` lists them.
"""

from recforge.models.als import ALS, IALS, PMF
from recforge.models.base import Recommender
from recforge.models.baseline import BiasBaseline
from recforge.models.bpmf import BPMF
from recforge.models.bpr import BPR
from recforge.models.content import ContentBased
from recforge.models.ease import EASE
from recforge.models.hybrid import Hybrid
from recforge.models.knn import ItemKNN, UserKNN
from recforge.models.mf import NMF, BiasedMF, SVDpp
from recforge.models.popularity import Popularity
from recforge.models.puresvd import PureSVD
from recforge.models.registry import available, get, model_class, register
from recforge.models.torch_mf import TorchMF

__all__ = [
    "ALS",
    "BPMF",
    "BPR",
    "EASE",
    "IALS",
    "NMF",
    "PMF",
    "BiasBaseline",
    "BiasedMF",
    "ContentBased",
    "Hybrid",
    "ItemKNN",
    "Popularity",
    "PureSVD",
    "Recommender",
    "SVDpp",
    "TorchMF",
    "UserKNN",
    "available",
    "get",
    "model_class",
    "register",
]
