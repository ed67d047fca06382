"""The field-embedding layer every feature-aware neural model shares.

An entity (the users, or the items) is described by fields: its id and its side features. Each
field becomes one d-dimensional vector, so a batch of rows gives [B, F, d]: FM-style models
interact the F vectors, MLP models concatenate them. Kinds:
    id           one embedding per row;
    categorical  one embedding per category (missing → a zero vector);
    multi_hot    the mean of its labels' embeddings (an empty set → zeros);
    numeric      a learned vector scaled by the z-scored value (missing → zeros).
Text features are skipped (turn them into categories or TF-IDF first).

The feature tables live in the module as buffers, so they are saved with its weights; the
layout (`FieldSpec`s) is plain JSON, so a saved model rebuilds the module without the data.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch import nn

from recforge.data.features import FeatureTable

__all__ = ["EntityFields", "FieldSpec", "specs_from_json", "specs_to_json"]


@dataclass(frozen=True)
class FieldSpec:
    """One field: name, kind (id | categorical | multi_hot | numeric), size (rows for id,
    vocabulary for categorical and multi_hot, 1 for numeric) and width (the most labels of a
    multi-hot row; 1 otherwise)."""

    name: str
    kind: str
    size: int
    width: int = 1


def specs_to_json(specs: list[FieldSpec]) -> str:
    return json.dumps([asdict(s) for s in specs])


def specs_from_json(text: str) -> list[FieldSpec]:
    return [FieldSpec(**d) for d in json.loads(text)]


class EntityFields(nn.Module):
    """Embeds rows of one entity: forward(rows int64 [B]) → float [B, n_fields, dim].

    n_rows: the users or items; specs: the fields (the id first when present); dim: d.
    Build with `from_table` when fitting (fills the buffers from the features); a module built
    from the specs alone gets its buffers from `load_state_dict`.
    """

    categories: torch.Tensor
    numbers: torch.Tensor

    def __init__(self, n_rows: int, specs: list[FieldSpec], dim: int) -> None:
        super().__init__()
        self.specs = list(specs)
        self.dim = dim
        self.embeddings = nn.ModuleDict()
        cat = [s for s in specs if s.kind == "categorical"]
        nums = [s for s in specs if s.kind == "numeric"]
        for j, s in enumerate(specs):  # keyed by position: feature names may hold any character
            if s.kind == "id":
                self.embeddings[f"f{j}"] = nn.Embedding(s.size, dim)
            elif s.kind in ("categorical", "multi_hot"):
                self.embeddings[f"f{j}"] = nn.Embedding(s.size + 1, dim, padding_idx=0)
        self.numeric = nn.Parameter(torch.empty(len(nums), dim))
        # codes + 1 (0 = missing), label lists padded with 0, z-scored numbers (0 = missing)
        self.register_buffer("categories", torch.zeros(n_rows, len(cat), dtype=torch.int64))
        for j, s in enumerate(specs):
            if s.kind == "multi_hot":
                self.register_buffer(f"bag{j}", torch.zeros(n_rows, s.width, dtype=torch.int64))
        self.register_buffer("numbers", torch.zeros(n_rows, len(nums)))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        for emb in self.embeddings.values():
            assert isinstance(emb, nn.Embedding)
            nn.init.normal_(emb.weight, std=0.01)
            if emb.padding_idx is not None:
                with torch.no_grad():
                    emb.weight[emb.padding_idx].zero_()
        nn.init.normal_(self.numeric, std=0.01)

    @property
    def n_fields(self) -> int:
        return len(self.specs)

    @classmethod
    def from_table(
        cls, n_rows: int, table: FeatureTable | None, dim: int, *, with_id: bool = True
    ) -> EntityFields:
        """Fields for the id (when `with_id`) and each non-text feature of `table` (aligned to
        the n_rows indices); text features are left out."""
        specs, categories, bags, numbers = encode_features(n_rows, table, with_id=with_id)
        module = cls(n_rows, specs, dim)
        module.categories.copy_(torch.from_numpy(categories))
        for j, s in enumerate(specs):
            if s.kind == "multi_hot":
                module.get_buffer(f"bag{j}").copy_(torch.from_numpy(bags[s.name]))
        module.numbers.copy_(torch.from_numpy(numbers))
        return module

    def forward(self, rows: torch.Tensor) -> torch.Tensor:
        out: list[torch.Tensor] = []
        c = n = 0
        for j, s in enumerate(self.specs):
            if s.kind == "numeric":
                out.append(self.numbers[rows, n, None] * self.numeric[n])
                n += 1
                continue
            embedding = self.embeddings[f"f{j}"]
            if s.kind == "id":
                out.append(embedding(rows))
            elif s.kind == "categorical":
                out.append(embedding(self.categories[rows, c]))
                c += 1
            else:  # multi_hot
                labels = self.get_buffer(f"bag{j}")[rows]  # [B, width]
                counts = (labels > 0).sum(dim=1, keepdim=True).clamp(min=1)
                out.append(embedding(labels).sum(dim=1) / counts)
        return torch.stack(out, dim=1)


def encode_features(
    n_rows: int, table: FeatureTable | None, *, with_id: bool = True
) -> tuple[list[FieldSpec], np.ndarray, dict[str, np.ndarray], np.ndarray]:
    """The specs and the buffers' contents: categories int64 [n_rows, n_cat] (code + 1),
    bags {name: int64 [n_rows, width]} (label + 1, 0-padded), numbers float32 [n_rows, n_num]."""
    specs: list[FieldSpec] = [FieldSpec("id", "id", n_rows)] if with_id else []
    categories: list[np.ndarray] = []
    bags: dict[str, np.ndarray] = {}
    numbers: list[np.ndarray] = []
    for name in table or ():
        assert table is not None
        feature = table[name]
        if feature.kind == "categorical":
            assert feature.vocabulary is not None
            specs.append(FieldSpec(name, "categorical", int(feature.vocabulary.size)))
            categories.append(feature.values.astype(np.int64) + 1)
        elif feature.kind == "multi_hot":
            csr = feature.values.tocsr()
            counts = np.diff(csr.indptr)
            width = max(int(counts.max()) if counts.size else 0, 1)
            padded = np.zeros((n_rows, width), dtype=np.int64)
            cols = np.arange(csr.indices.size) - np.repeat(csr.indptr[:-1], counts)
            padded[np.repeat(np.arange(n_rows), counts), cols] = csr.indices + 1
            specs.append(FieldSpec(name, "multi_hot", int(csr.shape[1]), width))
            bags[name] = padded
        elif feature.kind == "numeric":
            specs.append(FieldSpec(name, "numeric", 1))
            numbers.append(feature.encode().toarray()[:, 0])
    cat = np.stack(categories, axis=1) if categories else np.zeros((n_rows, 0), np.int64)
    num = (
        np.stack(numbers, axis=1).astype(np.float32)
        if numbers
        else np.zeros((n_rows, 0), np.float32)
    )
    return specs, cat, bags, num
