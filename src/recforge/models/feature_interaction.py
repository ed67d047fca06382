"""Feature-interaction models over user, item and context fields: FM, Wide&Deep, DeepFM, DCN-v2
and AutoInt.

All five read the same input: each field (the user's id and side features, the item's id and
side features, optional time-of-interaction fields) embedded by `recforge.neural.fields.
EntityFields` and stacked into v [N, F, d] (user, context, item fields in that order); they differ
only in the terms that turn v into a logit (`recforge.neural.interaction_layers`):

    fm        b + Σ first-order weights + Σ_{f<g} <v_f, v_g>
    widedeep  b + Σ first-order weights + MLP(v flattened)
    deepfm    b + Σ first-order weights + Σ_{f<g} <v_f, v_g> + MLP(v flattened)
    dcnv2     MLP(CrossNetV2(v flattened)), stacked: the cross layers feed the MLP
    autoint   linear(InteractingLayers(v) flattened)

Training is binary cross-entropy. labels="implicit": every training interaction is a positive
and `negatives` items per positive are drawn from the user's non-interactions (a
NegativeSampler); labels="values": the interaction values are 0/1 labels (clicks and shown but
not clicked) and nothing is sampled.

context="time" adds two categorical fields of the interaction's UTC timestamp: hour of day
(0–23) and day of week (Monday = 0). A positive and its sampled negatives share its context.
Scoring a user against the catalogue uses the context of that user's most recent training
interaction (users without one: the most frequent training context), kept in the module as the
`user_context` buffer so a saved model scores the same.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from recforge._validation import check_choice, check_float, check_int
from recforge.data.features import Feature, FeatureTable
from recforge.data.idmap import IdMap
from recforge.data.interactions import Interactions
from recforge.errors import DataError, ParameterError
from recforge.models.neural_base import NeuralRecommender
from recforge.models.registry import register

if TYPE_CHECKING:
    import torch
    from torch import nn

    from recforge.neural.interaction_layers import FieldInteractionNet, PairFields, Side
    from recforge.neural.loop import Step

__all__ = [
    "FM",
    "AutoInt",
    "DCNv2",
    "DeepFM",
    "FeatureInteractionModel",
    "WideDeep",
    "context_rows",
]

LABELS = ("implicit", "values")
CONTEXTS = ("none", "time")
HOURS, WEEKDAYS = 24, 7
N_CONTEXTS = HOURS * WEEKDAYS
SCORE_FLOATS = 1 << 26  # activation floats of one scoring chunk (~256 MB)


def context_rows(timestamps: np.ndarray) -> np.ndarray:
    """Context row weekday × 24 + hour, int64 [n], of epoch seconds [n] (UTC; Monday = 0, as
    1970-01-01 was a Thursday)."""
    ts = np.asarray(timestamps, dtype=np.int64)
    return ((ts // 86_400 + 3) % WEEKDAYS) * HOURS + (ts // 3_600) % HOURS


def _context_table() -> FeatureTable:
    """The context "entity": N_CONTEXTS rows with an hour and a weekday category each."""
    rows = np.arange(N_CONTEXTS)
    return FeatureTable(
        IdMap(rows),
        [
            Feature.categorical("hour", [str(r % HOURS) for r in rows]),
            Feature.categorical("weekday", [str(r // HOURS) for r in rows]),
        ],
    )


def _keyword_only(function: Any) -> dict[str, Any]:
    signature = inspect.signature(function)
    return {
        p.name: p.default
        for p in signature.parameters.values()
        if p.kind is inspect.Parameter.KEYWORD_ONLY
    }


class FeatureInteractionModel(NeuralRecommender):
    """Shared fitting and scoring of the feature-interaction models.

    Parameters of every one (subclasses add their own):
        factors: d, the width of every field embedding.
        labels: "implicit" (all interactions are positives, with sampled negatives) or
            "values" (0/1 interaction values are the labels; negatives and sampler unused).
        negatives: sampled items per positive; sampler: "uniform" | "popularity".
        context: "none" | "time" (hour-of-day and day-of-week fields; see the module notes).
        reg: L2 on the field embeddings of each batch (reg × their mean squared norm).
    Side features given to fit (user_features, item_features) become fields; text features
    are skipped. Fitted: layout_ (the field specs as JSON) and module_ (FieldInteractionNet).
    """

    accepts_side_features = True
    wide: ClassVar[bool] = False  # a bias and a first-order term
    # tuned on MovieLens 100K (per-user chronological split, NDCG@10 of a validation split)
    training_defaults: ClassVar[dict[str, Any]] = {"epochs": 12, "batch_size": 1024, "lr": 1e-2}
    _learned = ("layout_",)

    module_: FieldInteractionNet
    layout_: str
    _item_side: Side | None = None  # the scored items' side while `_score` runs

    def __init__(
        self,
        *,
        factors: int = 16,
        labels: str = "implicit",
        negatives: int = 4,
        sampler: str = "uniform",
        context: str = "none",
        reg: float = 0.0,
        **training: Any,
    ) -> None:
        super().__init__(**training)
        self.factors = factors
        self.labels = labels
        self.negatives = negatives
        self.sampler = sampler
        self.context = context
        self.reg = reg

    # ------------------------------------------------------------------ parameters
    @classmethod
    def _model_params(cls) -> dict[str, Any]:
        """The keyword-only parameters of every `__init__` from the class up to this base
        (the class's own first, the shared ones last), with their defaults."""
        params: dict[str, Any] = {}
        for klass in cls.__mro__:
            if issubclass(klass, FeatureInteractionModel) and "__init__" in vars(klass):
                for name, default in _keyword_only(klass.__init__).items():
                    params.setdefault(name, default)
        return params

    @classmethod
    def param_names(cls) -> list[str]:
        return list(cls._model_params()) + list(cls._training_defaults())

    @classmethod
    def param_defaults(cls) -> dict[str, Any]:
        return cls._model_params() | cls._training_defaults()

    def _validate_model_params(self) -> None:
        owner = type(self).__name__
        check_int(self.factors, "factors", owner, low=1)
        check_choice(self.labels, "labels", LABELS, owner)
        check_int(self.negatives, "negatives", owner, low=1)
        check_choice(self.sampler, "sampler", ("uniform", "popularity"), owner)
        check_choice(self.context, "context", CONTEXTS, owner)
        check_float(self.reg, "reg", owner, low=0.0)

    def _check_training_data(self, train: Interactions) -> None:
        owner = type(self).__name__
        if self.labels == "values":
            values = train.matrix.data
            bad = values[(values != 0) & (values != 1)]
            if bad.size:
                raise DataError(
                    f"{owner} with labels='values' needs 0/1 interaction values (1 = clicked, "
                    f"0 = shown but not clicked); got {float(bad[0])!r} and {bad.size - 1} more "
                    "values other than 0 and 1. Build 0/1 labels (e.g. rating ≥ 4 → 1, else 0, "
                    "with Interactions.from_arrays) or use labels='implicit'"
                )
        if self.context == "time" and train.timestamps is None:
            raise DataError(
                f"{owner} with context='time' needs interaction timestamps; load the data with "
                "its timestamp column or use context='none'"
            )

    # ------------------------------------------------------------------ the module
    def _terms(self, n_fields: int, dim: int) -> list[nn.Module]:
        """The modules v [N, n_fields, dim] → [N] whose sum (plus the wide part) is the logit."""
        raise NotImplementedError

    def _head_floats(self, n_fields: int, dim: int) -> int:
        """Roughly the activation floats per scored pair of the terms (for chunking)."""
        raise NotImplementedError

    def _build_module(self, train: Interactions | None) -> nn.Module:
        import torch

        from recforge.neural.fields import EntityFields, specs_from_json, specs_to_json
        from recforge.neural.interaction_layers import FieldInteractionNet, PairFields

        d = int(self.factors)
        if train is not None:
            contexts = _context_table() if self.context == "time" else None

            def build(dim: int) -> PairFields:
                return PairFields(
                    EntityFields.from_table(self.n_users_, self._user_features, dim),
                    EntityFields.from_table(self.n_items_, self._item_features, dim),
                    None
                    if contexts is None
                    else EntityFields.from_table(N_CONTEXTS, contexts, dim, with_id=False),
                )

            fields = build(d)
            self.layout_ = json.dumps(
                {
                    "user": specs_to_json(fields.user.specs),
                    "item": specs_to_json(fields.item.specs),
                    "context": None
                    if fields.context is None
                    else specs_to_json(fields.context.specs),
                }
            )
        else:
            layout = json.loads(self.layout_)

            def build(dim: int) -> PairFields:
                context = layout["context"]
                return PairFields(
                    EntityFields(self.n_users_, specs_from_json(layout["user"]), dim),
                    EntityFields(self.n_items_, specs_from_json(layout["item"]), dim),
                    None
                    if context is None
                    else EntityFields(N_CONTEXTS, specs_from_json(context), dim),
                )

            fields = build(d)
        linear = build(1) if self.wide else None
        net = FieldInteractionNet(fields, linear, self._terms(fields.n_fields, d), self.n_users_)
        if train is not None and self.context == "time":
            net.user_context.copy_(torch.from_numpy(_latest_contexts(train)))
        return net

    # ------------------------------------------------------------------ training
    def _examples(self, train: Interactions) -> tuple[torch.Tensor, ...]:
        import torch

        from recforge.neural.sampling import NegativeSampler

        users, items, values = train.coo()
        if self.context == "time":
            assert train.timestamps is not None
            contexts = context_rows(train.timestamps)
        else:
            contexts = np.zeros(users.size, dtype=np.int64)
        tensors = [
            torch.from_numpy(users.astype(np.int64)),
            torch.from_numpy(items.astype(np.int64)),
            torch.from_numpy(contexts),
        ]
        if self.labels == "values":
            tensors.append(torch.from_numpy(values.astype(np.float32)))
        else:
            self._sampler = NegativeSampler(self.seen_, self._device, self.sampler)
        return tuple(tensors)

    def _batch_loss(
        self, module: FieldInteractionNet, batch: tuple[torch.Tensor, ...], step: Step
    ) -> torch.Tensor:
        import torch
        from torch.nn.functional import binary_cross_entropy_with_logits

        from recforge.neural import losses

        users, items, contexts = batch[:3]
        if self.labels == "values":
            logits, size = module(users, items[:, None], contexts)
            loss = binary_cross_entropy_with_logits(logits[:, 0].float(), batch[3])
        else:
            negatives = self._sampler.sample(users, int(self.negatives), step.generator)
            logits, size = module(users, torch.cat([items[:, None], negatives], 1), contexts)
            loss = losses.bce_with_negatives(logits[:, 0], logits[:, 1:])
        return loss + float(self.reg) * size

    # ------------------------------------------------------------------ scoring
    def _score(self, users: np.ndarray, items: np.ndarray | None) -> np.ndarray:
        """The item side of the scored items is embedded once; `_score_batch` broadcasts it
        against each chunk of users."""
        import torch

        rows = np.arange(self.n_items_) if items is None else items
        was_training = self.module_.training
        self.module_.eval()
        with torch.no_grad():
            index = torch.as_tensor(np.array(rows, dtype=np.int64), device=self.device_)
            self._item_side = self.module_.item_side(index)
        self.module_.train(was_training)
        try:
            return super()._score(users, items)
        finally:
            self._item_side = None

    def _score_batch(
        self, module: FieldInteractionNet, users: torch.Tensor, items: torch.Tensor | None
    ) -> torch.Tensor:
        import torch

        item = self._item_side
        if item is None:
            rows = torch.arange(self.n_items_, device=users.device) if items is None else items
            item = module.item_side(rows)
        query = module.query_side(users, module.user_context[users])
        return module.combine(query, item)

    def _score_pairs(self) -> int:
        n_fields, d = self.module_.fields.n_fields, int(self.factors)
        return max(1, SCORE_FLOATS // (3 * n_fields * d + self._head_floats(n_fields, d)))


def _latest_contexts(train: Interactions) -> np.ndarray:
    """int64 [n_users]: the context row of each user's most recent interaction (users without
    interactions: the most frequent context)."""
    assert train.timestamps is not None
    order = train.time_order()
    ends = train.matrix.indptr[1:].astype(np.int64)
    counts = train.user_counts()
    rows = context_rows(train.timestamps)
    out = np.full(train.n_users, int(np.bincount(rows, minlength=N_CONTEXTS).argmax()))
    has = counts > 0
    out[has] = rows[order[ends[has] - 1]]
    return out.astype(np.int64)


def _check_layers(value: Any, owner: str) -> None:
    ok = isinstance(value, list | tuple) and all(
        isinstance(v, int | np.integer) and not isinstance(v, bool) and v >= 1 for v in value
    )
    if not ok:
        raise ParameterError(
            f"The 'layers' parameter of {owner} must be a list of ints ≥ 1 (the hidden sizes "
            f"of the MLP; [] for none). Got {value!r} instead."
        )


class _DeepModel(FeatureInteractionModel):
    """A feature-interaction model with an MLP: layers (hidden sizes) and dropout."""

    def __init__(
        self,
        *,
        layers: Sequence[int] = [64, 32],
        dropout: float = 0.0,
        **common: Any,
    ) -> None:
        super().__init__(**common)
        self.layers = layers
        self.dropout = dropout

    def _validate_model_params(self) -> None:
        super()._validate_model_params()
        owner = type(self).__name__
        _check_layers(self.layers, owner)
        check_float(self.dropout, "dropout", owner, low=0.0, high=1.0, high_open=True)

    def _mlp_floats(self, width: int) -> int:
        return width + 2 * sum(int(h) for h in self.layers)


@register
class FM(FeatureInteractionModel):
    """Factorization machine (Rendle 2010): logit = b + Σ_f w_f + Σ_{f<g} <v_f, v_g>."""

    name = "fm"
    description = "factorization machine over user, item and context fields (BCE, negatives)"
    wide = True

    def _terms(self, n_fields: int, dim: int) -> list[nn.Module]:
        from recforge.neural.interaction_layers import FMInteraction

        return [FMInteraction()]

    def _head_floats(self, n_fields: int, dim: int) -> int:
        return 2 * n_fields * dim


@register
class WideDeep(_DeepModel):
    """Wide & Deep (Cheng et al. 2016): logit = b + Σ_f w_f + MLP(concatenated fields). The
    wide part is the first-order term over the fields (no hand-made cross features)."""

    name = "widedeep"
    description = "Wide & Deep: a linear term plus an MLP over user, item and context fields"
    wide = True

    def _terms(self, n_fields: int, dim: int) -> list[nn.Module]:
        from recforge.neural.interaction_layers import DeepTower

        return [DeepTower(n_fields, dim, [int(h) for h in self.layers], float(self.dropout))]

    def _head_floats(self, n_fields: int, dim: int) -> int:
        return self._mlp_floats(n_fields * dim)


@register
class DeepFM(_DeepModel):
    """DeepFM (Guo et al. 2017): the FM logit plus an MLP over the same field embeddings."""

    name = "deepfm"
    description = "DeepFM: FM plus an MLP sharing the field embeddings"
    wide = True

    def _terms(self, n_fields: int, dim: int) -> list[nn.Module]:
        from recforge.neural.interaction_layers import DeepTower, FMInteraction

        deep = DeepTower(n_fields, dim, [int(h) for h in self.layers], float(self.dropout))
        return [FMInteraction(), deep]

    def _head_floats(self, n_fields: int, dim: int) -> int:
        return 2 * n_fields * dim + self._mlp_floats(n_fields * dim)


@register
class DCNv2(_DeepModel):
    """DCN-v2 (Wang et al. 2021), stacked: `cross_layers` full-rank cross layers
    x_{l+1} = x_0 ⊙ (W_l x_l + b_l) + x_l over the concatenated fields, then the MLP
    (`layers`, `dropout`) to the logit."""

    name = "dcnv2"
    description = "DCN-v2: cross network then MLP over user, item and context fields"

    def __init__(self, *, cross_layers: int = 2, **deep: Any) -> None:
        super().__init__(**deep)
        self.cross_layers = cross_layers

    def _validate_model_params(self) -> None:
        super()._validate_model_params()
        check_int(self.cross_layers, "cross_layers", "DCNv2", low=0)

    def _terms(self, n_fields: int, dim: int) -> list[nn.Module]:
        from recforge.neural.interaction_layers import CrossTower

        layers = [int(h) for h in self.layers]
        return [CrossTower(n_fields, dim, int(self.cross_layers), layers, float(self.dropout))]

    def _head_floats(self, n_fields: int, dim: int) -> int:
        width = n_fields * dim
        return 3 * width * int(self.cross_layers) + self._mlp_floats(width)


@register
class AutoInt(FeatureInteractionModel):
    """AutoInt (Song et al. 2019): `attention_layers` multi-head self-attention layers across
    the fields (`heads` heads of width d each, with a residual), then a linear logit over the
    concatenated outputs."""

    name = "autoint"
    description = "AutoInt: self-attention across user, item and context fields"

    def __init__(self, *, attention_layers: int = 2, heads: int = 2, **common: Any) -> None:
        super().__init__(**common)
        self.attention_layers = attention_layers
        self.heads = heads

    def _validate_model_params(self) -> None:
        super()._validate_model_params()
        check_int(self.attention_layers, "attention_layers", "AutoInt", low=1)
        check_int(self.heads, "heads", "AutoInt", low=1)

    def _terms(self, n_fields: int, dim: int) -> list[nn.Module]:
        from recforge.neural.interaction_layers import InteractingTower

        return [InteractingTower(n_fields, dim, int(self.attention_layers), int(self.heads))]

    def _head_floats(self, n_fields: int, dim: int) -> int:
        heads = int(self.heads)
        per_layer = 6 * n_fields * heads * dim + 2 * heads * n_fields * n_fields
        return int(self.attention_layers) * per_layer
