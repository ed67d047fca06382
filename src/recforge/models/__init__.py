"""Recommenders behind one protocol, and the registry that names them.

`recforge.models.get("bias", reg_items=5)` builds one by name; `available()` lists them.
"""

from recforge.models.als import ALS, IALS, PMF
from recforge.models.autorec import IAutoRec, UAutoRec
from recforge.models.base import Recommender
from recforge.models.baseline import BiasBaseline
from recforge.models.bert4rec import BERT4Rec
from recforge.models.bpmf import BPMF
from recforge.models.bpr import BPR
from recforge.models.caser import Caser
from recforge.models.content import ContentBased
from recforge.models.deep_rating import DeepRating
from recforge.models.din import DIN
from recforge.models.ease import EASE
from recforge.models.feature_interaction import FM, AutoInt, DCNv2, DeepFM, WideDeep
from recforge.models.gru4rec import GRU4Rec
from recforge.models.hybrid import Hybrid
from recforge.models.knn import ItemKNN, UserKNN
from recforge.models.lightgcn import LightGCN
from recforge.models.mf import NMF, BiasedMF, SVDpp
from recforge.models.ncf import GMF, MLP, NeuMF
from recforge.models.popularity import Popularity
from recforge.models.puresvd import PureSVD
from recforge.models.registry import available, get, model_class, register
from recforge.models.sasrec import SASRec
from recforge.models.sparse_ease import SparseEASE
from recforge.models.torch_mf import TorchMF
from recforge.models.two_tower import TwoTower
from recforge.models.vae import MultDAE, MultVAE

__all__ = [
    "ALS",
    "BPMF",
    "BPR",
    "DIN",
    "EASE",
    "FM",
    "GMF",
    "IALS",
    "MLP",
    "NMF",
    "PMF",
    "AutoInt",
    "BERT4Rec",
    "BiasBaseline",
    "BiasedMF",
    "Caser",
    "ContentBased",
    "DCNv2",
    "DeepFM",
    "DeepRating",
    "GRU4Rec",
    "Hybrid",
    "IAutoRec",
    "ItemKNN",
    "LightGCN",
    "MultDAE",
    "MultVAE",
    "NeuMF",
    "Popularity",
    "PureSVD",
    "Recommender",
    "SASRec",
    "SVDpp",
    "SparseEASE",
    "TorchMF",
    "TwoTower",
    "UAutoRec",
    "UserKNN",
    "WideDeep",
    "available",
    "get",
    "model_class",
    "register",
]
