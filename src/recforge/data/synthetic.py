"""Synthetic interactions with a known structure, for tests, demos and benchmarks at any scale.

The generative story (all of it vectorised; 20M interactions take seconds):

- items have a Zipf-like popularity p_i ∝ rank_i^-popularity_exponent (ranks shuffled over ids);
- users have a Zipf-like activity ∝ rank_u^-activity_exponent: user u gets n_u interactions
  (≥ 1 each when n_interactions ≥ n_users, ≤ ⌊n_items / 2⌋);
- users and items belong to C = min(factors, 32, ⌊2·10^7 / n_items⌋) taste clusters with
  orthonormal centroids in R^factors; a latent factor is its cluster's centroid plus noise,
  so users prefer the items whose factors align with theirs. A user's items are drawn
  without replacement, each draw from the global popularity (probability 0.25) or from the
  user's cluster distribution q_c(i) ∝ p_i · exp(3 · <centroid_c, v_i>);
- timestamps increase along each user's sequence, inside a per-user window of the three years
  from 2020-01-01; ratings (explicit=True) are 1–5, rounded from
  2.3 + 1.4 · <w_u, v_i> + user bias + item bias (popular items higher) + noise.

Draws without replacement are made in rounds (sample, drop repeated pairs, top up the users
still short, with more draws for those who found few new items). A user still short after five
rounds gets the rest uniformly among the items they do not hold yet (three more rounds); one
left short after that ends below its count, so the total can be slightly below n_interactions
(never above; the 20M benchmark comes out exact).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from recforge._validation import check_float, check_int, check_seed
from recforge.data.idmap import IdMap
from recforge.data.interactions import Interactions
from recforge.errors import ParameterError

__all__ = ["SyntheticModel", "synthetic_arrays", "synthetic_interactions", "synthetic_model"]

_START = 1_577_836_800  # 2020-01-01T00:00:00Z
_SPAN = 3 * 365 * 86_400
_EXPLORE = 0.25  # share of draws from the global popularity instead of the user's cluster
_AFFINITY = 3.0  # sharpness of the cluster preference
_NOISE = 0.5  # spread of a latent factor around its centroid
_MAX_CLUSTERS = 32
_ROUNDS = 8
_UNIFORM_ROUNDS = 3  # the last rounds draw uniformly, so heavy users of peaked tastes fill up


@dataclass(frozen=True)
class SyntheticModel:
    """The ground truth behind synthetic data (same arguments and seed → same model).

    user_cluster: int32 [n_users]; item_cluster: int32 [n_items] (cluster of each, in [0, C)).
    user_factors: float32 [n_users, factors]; item_factors: float32 [n_items, factors].
    item_popularity: float64 [n_items], sums to 1; user_activity: float64 [n_users], sums to 1.
    cluster_items: float64 [C, n_items], row c is cluster c's item distribution (sums to 1).
    """

    user_cluster: np.ndarray
    item_cluster: np.ndarray
    user_factors: np.ndarray
    item_factors: np.ndarray
    item_popularity: np.ndarray
    user_activity: np.ndarray
    cluster_items: np.ndarray

    @property
    def n_clusters(self) -> int:
        """Number of taste clusters C."""
        return int(self.cluster_items.shape[0])


def synthetic_model(
    n_users: int,
    n_items: int,
    *,
    factors: int = 16,
    popularity_exponent: float = 1.0,
    activity_exponent: float = 0.5,
    seed: int | None = 0,
) -> SyntheticModel:
    """Draw the latent structure (clusters, factors, popularity, activity) of synthetic data."""
    owner = "synthetic_model"
    n_users = check_int(n_users, "n_users", owner, low=1)
    n_items = check_int(n_items, "n_items", owner, low=1)
    factors = check_int(factors, "factors", owner, low=1)
    a_pop = check_float(popularity_exponent, "popularity_exponent", owner, low=0)
    a_act = check_float(activity_exponent, "activity_exponent", owner, low=0)
    model_rng, _ = _rngs(check_seed(seed, owner=owner))
    return _model(n_users, n_items, factors, a_pop, a_act, model_rng)


def synthetic_arrays(
    n_users: int,
    n_items: int,
    n_interactions: int,
    *,
    factors: int = 16,
    popularity_exponent: float = 1.0,
    activity_exponent: float = 0.5,
    explicit: bool = False,
    timestamps: bool = True,
    seed: int | None = 0,
) -> dict[str, np.ndarray]:
    """Synthetic interactions as columns, ready to write to a file.

    Returns {"user": int64 [n], "item": int64 [n], "rating" (explicit) or "weight": float32 [n],
    "timestamp": int64 [n] (when timestamps)}, sorted by user then time, with no repeated
    (user, item) pair; ids are indices 0…n_users-1 / 0…n_items-1 and n ≤ n_interactions (see
    the module docstring). The latent structure is `synthetic_model` with the same arguments.
    """
    owner = "synthetic_arrays"
    n_users = check_int(n_users, "n_users", owner, low=1)
    n_items = check_int(n_items, "n_items", owner, low=1)
    cap = max(1, n_items // 2)
    n = check_int(n_interactions, "n_interactions", owner, low=1)
    if n > n_users * cap:
        raise ParameterError(
            f"The 'n_interactions' parameter of {owner} must be an int ≤ n_users × "
            f"max(1, n_items // 2) = {n_users * cap} (synthetic data is sparse). "
            f"Got {n_interactions!r} instead."
        )
    factors = check_int(factors, "factors", owner, low=1)
    a_pop = check_float(popularity_exponent, "popularity_exponent", owner, low=0)
    a_act = check_float(activity_exponent, "activity_exponent", owner, low=0)
    if not isinstance(explicit, bool) or not isinstance(timestamps, bool):
        raise ParameterError(
            f"The 'explicit' and 'timestamps' parameters of {owner} must be bools. "
            f"Got {explicit!r} and {timestamps!r} instead."
        )
    model_rng, rng = _rngs(check_seed(seed, owner=owner))
    model = _model(n_users, n_items, factors, a_pop, a_act, model_rng)

    counts = _user_counts(model.user_activity, n, cap, rng)
    users, items = _sample_pairs(model, counts, rng)
    users, items, indptr = _shuffle_within_users(users, items, n_users, n_items, rng)
    out: dict[str, np.ndarray] = {"user": users, "item": items}
    if explicit:
        out["rating"] = _ratings(model, users, items, rng)
    else:
        out["weight"] = np.ones(users.size, dtype=np.float32)
    if timestamps:
        out["timestamp"] = _timestamps(indptr, rng)
    return out


def synthetic_interactions(
    n_users: int,
    n_items: int,
    n_interactions: int,
    *,
    factors: int = 16,
    popularity_exponent: float = 1.0,
    activity_exponent: float = 0.5,
    explicit: bool = False,
    timestamps: bool = True,
    seed: int | None = 0,
) -> Interactions:
    """`synthetic_arrays` as an `Interactions` of shape exactly [n_users, n_items] (raw ids are
    the indices; items, or users when n_interactions < n_users, may have no interactions)."""
    cols = synthetic_arrays(
        n_users,
        n_items,
        n_interactions,
        factors=factors,
        popularity_exponent=popularity_exponent,
        activity_exponent=activity_exponent,
        explicit=explicit,
        timestamps=timestamps,
        seed=seed,
    )
    return Interactions.from_indices(
        cols["user"],
        cols["item"],
        cols["rating"] if explicit else cols["weight"],
        cols.get("timestamp"),
        user_ids=IdMap(np.arange(n_users, dtype=np.int64)),
        item_ids=IdMap(np.arange(n_items, dtype=np.int64)),
        explicit=explicit,
        source="synthetic",
    )


# ---------------------------------------------------------------------- the model
def _rngs(seed: int | None) -> tuple[np.random.Generator, np.random.Generator]:
    """Independent streams for the model and for the sampling, so both are reproducible."""
    model_seq, sample_seq = np.random.SeedSequence(seed).spawn(2)
    return np.random.default_rng(model_seq), np.random.default_rng(sample_seq)


def _zipf(n: int, exponent: float, rng: np.random.Generator) -> np.ndarray:
    """Probabilities ∝ rank^-exponent over n ids, ranks shuffled (float64 [n], sums to 1)."""
    weights = np.arange(1, n + 1, dtype=np.float64) ** -exponent
    weights = weights[rng.permutation(n)]
    return weights / weights.sum()


def _model(
    n_users: int,
    n_items: int,
    factors: int,
    popularity_exponent: float,
    activity_exponent: float,
    rng: np.random.Generator,
) -> SyntheticModel:
    n_clusters = max(1, min(factors, _MAX_CLUSTERS, 20_000_000 // n_items))
    q, _ = np.linalg.qr(rng.standard_normal((factors, n_clusters)))
    centroids = q.T  # [C, factors], orthonormal rows
    user_cluster = rng.integers(0, n_clusters, size=n_users).astype(np.int32)
    item_cluster = rng.integers(0, n_clusters, size=n_items).astype(np.int32)
    spread = _NOISE / np.sqrt(factors)
    user_factors = centroids[user_cluster] + spread * rng.standard_normal((n_users, factors))
    item_factors = centroids[item_cluster] + spread * rng.standard_normal((n_items, factors))
    popularity = _zipf(n_items, popularity_exponent, rng)
    activity = _zipf(n_users, activity_exponent, rng)
    affinity = centroids @ item_factors.T  # [C, n_items]
    cluster_items = popularity[None, :] * np.exp(_AFFINITY * (affinity - affinity.max()))
    cluster_items /= cluster_items.sum(axis=1, keepdims=True)
    return SyntheticModel(
        user_cluster=user_cluster,
        item_cluster=item_cluster,
        user_factors=user_factors.astype(np.float32),
        item_factors=item_factors.astype(np.float32),
        item_popularity=popularity,
        user_activity=activity,
        cluster_items=cluster_items,
    )


def _user_counts(activity: np.ndarray, n: int, cap: int, rng: np.random.Generator) -> np.ndarray:
    """Interactions per user (int64 [n_users]) summing to n: ≥ 1 each when n ≥ n_users, ≤ cap;
    what the cap cuts from heavy users is handed to the others by activity."""
    n_users = activity.size
    base = 1 if n >= n_users else 0
    counts = base + rng.multinomial(n - base * n_users, activity).astype(np.int64)
    for _ in range(64):
        over = counts > cap
        if not bool(over.any()):
            return counts
        excess = int((counts[over] - cap).sum())
        counts[over] = cap
        weights = np.where(counts < cap, activity, 0.0)
        counts += rng.multinomial(excess, weights / weights.sum())
    excess = int(np.maximum(counts - cap, 0).sum())  # left over: fill the most active first
    counts = np.minimum(counts, cap)
    by_activity = np.argsort(-activity, kind="stable")
    room = cap - counts[by_activity]
    give = np.minimum(room, np.maximum(excess - (np.cumsum(room) - room), 0))
    counts[by_activity] += give
    return counts


# ---------------------------------------------------------------------- sampling
class _InverseCdf:
    """Inverse-CDF sampling from several item distributions at once (rows of `probs`).

    The CDFs are laid end to end (row r shifted by r, so one sorted array) and a guide table
    gives each draw a starting index a few steps below its answer: O(1) expected per draw.
    """

    def __init__(self, probs: np.ndarray) -> None:
        n_rows, self.n_items = probs.shape
        cdf = np.cumsum(probs, axis=1)
        cdf /= cdf[:, -1:]
        cdf[:, -1] = 1.0
        self.flat = (cdf + np.arange(n_rows)[:, None]).reshape(-1)
        n_guide = min(4 * self.flat.size, 1 << 24)
        self.scale = n_guide / n_rows
        edges = np.arange(n_guide, dtype=np.float64) / self.scale
        guide = np.searchsorted(self.flat, edges, side="right") - 1
        self.guide = np.maximum(guide, 0).astype(np.int64)

    def sample(self, rows: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """One item (int64) per entry of `rows` (the distribution to draw from)."""
        x = rows + rng.random(rows.size)
        bucket = np.minimum((x * self.scale).astype(np.int64), self.guide.size - 1)
        idx = self.guide[bucket]
        active = np.flatnonzero(self.flat[idx] <= x)
        while active.size:
            idx[active] += 1
            active = active[self.flat[idx[active]] <= x[active]]
        return idx - rows.astype(np.int64) * self.n_items


def _sample_pairs(
    model: SyntheticModel, counts: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Distinct (user, item) pairs, counts[u] per user where the rounds allow.

    Returns (users, items), int64 [n], sorted by user then item.
    """
    n_users, n_items = counts.size, model.item_popularity.size
    shape = (n_users, n_items)
    n_clusters = model.n_clusters
    uniform = np.full((1, n_items), 1.0 / n_items)
    sampler = _InverseCdf(np.vstack([model.cluster_items, model.item_popularity[None, :], uniform]))
    need = counts.copy()
    factor = np.ones(n_users)
    held: sp.csr_array | None = None  # pairs taken so far, value 1
    for round_ in range(_ROUNDS):
        if not bool((need > 0).any()):
            break
        draws = np.ceil(need * factor).astype(np.int64)
        du = np.repeat(np.arange(n_users, dtype=np.int64), draws)
        if round_ >= _ROUNDS - _UNIFORM_ROUNDS:  # the few still short: any item not yet held
            source = np.full(du.size, n_clusters + 1, dtype=np.int64)
        else:
            explore = rng.random(du.size) < _EXPLORE
            source = np.where(explore, n_clusters, model.user_cluster[du]).astype(np.int64)
        di = sampler.sample(source, rng)
        new = sp.csr_array((np.ones(du.size, dtype=np.int32), (du, di)), shape=shape)
        new.data = np.ones(new.nnz, dtype=np.int8)  # distinct drawn pairs
        if held is not None:  # drop pairs already taken (sparse merges are linear, no sort)
            new = new - new.multiply(held)
            new.eliminate_zeros()
        new_per_user = np.diff(new.indptr).astype(np.int64)
        rows = np.repeat(np.arange(n_users, dtype=np.int64), new_per_user)
        keep = _trim(rows, need, new_per_user, rng)
        taken = np.bincount(rows[keep], minlength=n_users)
        indptr = np.zeros(n_users + 1, dtype=np.int64)
        np.cumsum(taken, out=indptr[1:])
        accepted = sp.csr_array(
            (np.ones(indptr[-1], dtype=np.int8), new.indices[keep], indptr), shape=shape
        )
        held = accepted if held is None else held + accepted
        need -= taken
        # Users who found few new items get proportionally more draws next round.
        factor = np.clip(draws / np.maximum(new_per_user, 1), 1.0, 20.0)
    assert held is not None  # n ≥ 1, so the first round ran
    users = np.repeat(np.arange(n_users, dtype=np.int64), np.diff(held.indptr))
    return users, held.indices.astype(np.int64)


def _trim(
    rows: np.ndarray, need: np.ndarray, new_per_user: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Bool mask keeping, for users with more new pairs than they need, a random `need` of them
    (`rows` is sorted)."""
    keep = np.ones(rows.size, dtype=bool)
    excess_users = new_per_user > need
    if not bool(excess_users.any()):
        return keep
    sel = np.flatnonzero(excess_users[rows])
    key = (rows[sel] << 32) | rng.integers(0, 1 << 32, size=sel.size, dtype=np.int64)
    order = sel[np.argsort(key, kind="stable")]
    first = np.searchsorted(rows[order], rows[order], side="left")
    rank = np.arange(order.size) - first
    keep[order[rank >= need[rows[order]]]] = False
    return keep


def _shuffle_within_users(
    users: np.ndarray, items: np.ndarray, n_users: int, n_items: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pairs sorted by user with a random order inside each user (the time order to come).

    Returns (users int64 [n], items int64 [n], indptr int64 [n_users + 1]).
    """
    bits_u = max(1, (n_users - 1).bit_length())
    bits_i = max(1, (n_items - 1).bit_length())
    bits_r = 63 - bits_u - bits_i
    if bits_r >= 16:  # pack (user, random, item) in one int64 and sort the keys themselves
        noise = rng.integers(0, 1 << bits_r, size=users.size, dtype=np.int64)
        key = np.sort((users << (bits_r + bits_i)) | (noise << bits_i) | items)
        users, items = key >> (bits_r + bits_i), key & ((1 << bits_i) - 1)
    else:
        noise = rng.integers(0, 1 << 32, size=users.size, dtype=np.int64)
        order = np.lexsort((noise, users))
        users, items = users[order], items[order]
    indptr = np.zeros(n_users + 1, dtype=np.int64)
    np.cumsum(np.bincount(users, minlength=n_users), out=indptr[1:])
    return users, items, indptr


def _timestamps(indptr: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Strictly increasing epoch seconds along each user's run (int64 [indptr[-1]]): events
    spread with jitter over a random window of the span."""
    n_users = indptr.size - 1
    counts = np.diff(indptr)
    rows = np.repeat(np.arange(n_users, dtype=np.int64), counts)
    start = _START + (rng.random(n_users) * 0.75 * _SPAN).astype(np.int64)
    length = rng.uniform(0.05, 1.0, n_users) * (_START + _SPAN - start)
    step = np.maximum(length - counts, 0.0) / np.maximum(counts, 1)  # seconds per event
    position = np.arange(rows.size, dtype=np.int64) - indptr[rows]
    jittered = (position + rng.random(rows.size)) * step[rows]  # increasing in position
    return start[rows] + jittered.astype(np.int64) + position


def _ratings(
    model: SyntheticModel, users: np.ndarray, items: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Ratings 1–5 (float32 [n]) from the latent dot product, biases and noise."""
    user_bias = 0.35 * rng.standard_normal(len(model.user_factors))
    log_pop = np.log(model.item_popularity)
    item_bias: np.ndarray = 0.35 * (log_pop - log_pop.mean()) / max(float(log_pop.std()), 1e-12)
    out = np.empty(users.size, dtype=np.float32)
    chunk = 1 << 20
    for lo in range(0, users.size, chunk):
        u, i = users[lo : lo + chunk], items[lo : lo + chunk]
        dot = np.einsum("ij,ij->i", model.user_factors[u], model.item_factors[i])
        raw = 2.3 + 1.4 * dot + user_bias[u] + item_bias[i] + rng.normal(0.0, 0.7, u.size)
        out[lo : lo + chunk] = np.clip(np.rint(raw), 1, 5)
    return out
