"""DeepRating: a rating regressor, an MLP over user and item embeddings (and side features).

A rebuild of a Keras model: user and item embeddings of size k side by side, then Dropout 0.2,
Dense(k, ReLU), Dropout 0.5, Dense(k/4, ReLU), Dropout 0.5, Dense(k/16, ReLU), Dropout 0.5,
Dense(1), trained with the squared error by Adam. Here the network predicts the rating minus
the global mean (the output starts near μ, not near 0), and each side feature given to `fit`
gets its own embedding next to the id's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from recforge._validation import check_float, check_int
from recforge.data.interactions import Interactions
from recforge.errors import DataError
from recforge.models.neural_base import NeuralRecommender
from recforge.models.registry import register

if TYPE_CHECKING:
    import torch
    from torch import nn

    from recforge.neural.loop import Step
    from recforge.neural.ncf_modules import DeepRatingNet

__all__ = ["DeepRating"]

PREDICT_PAIRS = 1 << 16  # pairs run through the network at once by predict


@register
class DeepRating(NeuralRecommender):
    """r̂(u, i) = μ + MLP([fields(u), fields(i)]), clipped to the training rating range.

    factors: k, the size of every field embedding and of the first hidden layer (then k/4,
    k/16); input_dropout: on the concatenated embeddings; dropout: before each later layer.
    Fields: the id, plus, when `fit` is given user_features / item_features, one embedding per
    categorical, multi-hot (mean of its labels) or numeric (a vector scaled by the z-score)
    feature; text features are skipped. The layout is saved, so a loaded model needs no
    features. An unknown user or item (index −1 in `predict`) gets the mean field vector of its
    side: the rating the network gives an average user (item). `score` ranks by the unclipped
    prediction. Training defaults: 20 epochs of Adam, batch 1024, lr 3e-3; with `valid`, early
    stopping on its RMSE.
    """

    module_: DeepRatingNet

    name = "deeprating"
    description = "rating regression by an MLP over user and item (and side-feature) embeddings"
    predicts_ratings = True
    accepts_side_features = True
    training_defaults: ClassVar[dict[str, Any]] = {
        "epochs": 20,
        "batch_size": 1024,
        "lr": 3e-3,
        "valid_metric": "rmse",
    }
    _learned = ("global_mean_", "rating_min_", "rating_max_", "user_fields_", "item_fields_")

    global_mean_: float
    rating_min_: float
    rating_max_: float
    user_fields_: str  # the field layouts (FieldSpec JSON)
    item_fields_: str

    def __init__(
        self,
        *,
        factors: int = 128,
        input_dropout: float = 0.2,
        dropout: float = 0.5,
        **training: Any,
    ) -> None:
        super().__init__(**training)
        self.factors = factors
        self.input_dropout = input_dropout
        self.dropout = dropout

    def _validate_model_params(self) -> None:
        check_int(self.factors, "factors", "DeepRating", low=1)
        check_float(
            self.input_dropout, "input_dropout", "DeepRating", low=0.0, high=1.0, high_open=True
        )
        check_float(self.dropout, "dropout", "DeepRating", low=0.0, high=1.0, high_open=True)

    def _check_training_data(self, train: Interactions) -> None:
        if not train.explicit:
            raise DataError(
                "DeepRating needs explicit ratings, but these interactions are implicit; "
                "load them with a rating column or use a ranking model such as 'neumf'"
            )

    def _fit(self, train: Interactions, valid: Interactions | None) -> None:
        _, _, values = train.coo()
        ratings = values.astype(np.float64)
        self.global_mean_ = float(ratings.mean())
        self.rating_min_ = float(ratings.min())
        self.rating_max_ = float(ratings.max())
        super()._fit(train, valid)

    def _build_module(self, train: Interactions | None) -> nn.Module:
        from recforge.neural.fields import EntityFields, specs_from_json, specs_to_json
        from recforge.neural.ncf_modules import DeepRatingNet

        k = int(self.factors)
        if train is not None:
            users = EntityFields.from_table(self.n_users_, self._user_features, k)
            items = EntityFields.from_table(self.n_items_, self._item_features, k)
            self.user_fields_ = specs_to_json(users.specs)
            self.item_fields_ = specs_to_json(items.specs)
        else:
            users = EntityFields(self.n_users_, specs_from_json(self.user_fields_), k)
            items = EntityFields(self.n_items_, specs_from_json(self.item_fields_), k)
        return DeepRatingNet(users, items, k, float(self.input_dropout), float(self.dropout))

    def _examples(self, train: Interactions) -> tuple[torch.Tensor, ...]:
        """users, items int64 [nnz] and their ratings float32 [nnz]."""
        import torch

        users, items, values = train.coo()
        return (
            torch.from_numpy(users.astype(np.int64)),
            torch.from_numpy(items.astype(np.int64)),
            torch.from_numpy(values.astype(np.float32)),
        )

    def _batch_loss(
        self, module: DeepRatingNet, batch: tuple[torch.Tensor, ...], step: Step
    ) -> torch.Tensor:
        from recforge.neural import losses

        users, items, ratings = batch
        return losses.mse_loss(module(users, items), ratings - self.global_mean_)

    def _score_batch(
        self, module: DeepRatingNet, users: torch.Tensor, items: torch.Tensor | None
    ) -> torch.Tensor:
        return module.grid(users, items) + self.global_mean_

    def _predict(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        import torch

        module, device = self.module_, self.device_
        out = np.empty(users.size, dtype=np.float32)
        was_training = module.training
        module.eval()
        try:
            with torch.no_grad():
                for start in range(0, users.size, PREDICT_PAIRS):
                    part = slice(start, start + PREDICT_PAIRS)
                    u = torch.as_tensor(users[part].astype(np.int64), device=device)
                    i = torch.as_tensor(items[part].astype(np.int64), device=device)
                    out[part] = module(u, i).float().cpu().numpy()
        finally:
            module.train(was_training)
        return np.clip(out + self.global_mean_, self.rating_min_, self.rating_max_)
