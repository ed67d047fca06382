"""DINNet: the activation unit as the paper writes it, blind to padding and to order, Dice by
hand, and the user fields of an anonymous session."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from recforge.data.features import Feature, FeatureTable
from recforge.data.idmap import IdMap
from recforge.neural.din_net import ActivationUnit, Dice, DINNet
from recforge.neural.fields import EntityFields

N_USERS, N_ITEMS, DIM = 3, 9, 4


def net(activation: str = "prelu", user_features: bool = True) -> DINNet:
    """Items: id + a genre; users: an age group (user 2's missing) when `user_features`."""
    torch.manual_seed(0)
    genres = FeatureTable(
        IdMap(np.arange(N_ITEMS)), [Feature.categorical("genre", [str(i % 3) for i in range(9)])]
    )
    ages = FeatureTable(IdMap(np.arange(N_USERS)), [Feature.categorical("age", ["a", "b", None])])
    users = EntityFields.from_table(N_USERS, ages if user_features else None, DIM, with_id=False)
    items = EntityFields.from_table(N_ITEMS, genres, DIM)
    model = DINNet(N_USERS, users, items, 5, [6, 5], [7], activation, 0.0)
    with torch.no_grad():  # weights of a trained size, not the 0.01 of a fresh field layer
        for fields in (model.users, model.items):
            for emb in fields.embeddings.values():
                assert isinstance(emb, nn.Embedding)
                emb.weight.normal_()
                if emb.padding_idx is not None:
                    emb.weight[emb.padding_idx].zero_()
    return model


SEQ = torch.tensor([[0, 0, 3, 7, 2], [0, 0, 0, 0, 9], [5, 6, 1, 8, 4]])


def test_the_unit_applied_by_parts_is_the_mlp_over_the_four_blocks() -> None:
    torch.manual_seed(1)
    unit = ActivationUnit(3, [4, 2])
    history, shared, per_row = torch.randn(2, 5, 3), torch.randn(6, 3), torch.randn(2, 6, 3)
    for candidates in (shared, per_row):
        c = candidates.expand(2, 6, 3)[:, :, None, :].expand(2, 6, 5, 3)
        h = history[:, None, :, :].expand(2, 6, 5, 3)
        expected = nn.functional.softplus(unit.mlp(torch.cat([h, c, h - c, h * c], -1))[..., 0])
        torch.testing.assert_close(unit(history, candidates), expected)
        assert (unit(history, candidates) >= 0).all()


def test_padding_gets_weight_zero_and_changes_nothing() -> None:
    model = net().eval()
    with torch.no_grad():
        weights = model.attention_weights(SEQ, torch.arange(N_ITEMS))
        codes = SEQ[:, None, :].expand_as(weights)
        assert (weights[codes == 0] == 0).all()
        assert (weights[codes > 0] > 0).all()
        users = torch.arange(3)
        longer = torch.cat([torch.zeros(3, 4, dtype=torch.long), SEQ], dim=1)
        torch.testing.assert_close(
            model(longer, users, torch.arange(N_ITEMS)), model(SEQ, users, torch.arange(N_ITEMS))
        )
        bare = model(torch.tensor([[9]]), users[1:2], torch.arange(N_ITEMS))
        torch.testing.assert_close(bare, model(SEQ[1:2], users[1:2], torch.arange(N_ITEMS)))


def test_the_history_is_read_as_a_set() -> None:
    model = net().eval()
    with torch.no_grad():
        users, items = torch.arange(3), torch.arange(N_ITEMS)
        shuffled = SEQ[:, [3, 0, 4, 1, 2]]
        torch.testing.assert_close(model(shuffled, users, items), model(SEQ, users, items))


def test_shared_candidates_equal_per_row_candidates_and_eval_equals_training() -> None:
    model = net()
    users, items = torch.arange(3), torch.arange(N_ITEMS)
    trained = model.train()(SEQ, users, items[None, :].expand(3, N_ITEMS))
    with torch.no_grad():
        shared = model.eval()(SEQ, users, items)
    torch.testing.assert_close(shared, trained.detach())


def test_a_session_has_the_fields_of_a_user_with_unknown_features() -> None:
    model = net().eval()
    with torch.no_grad():
        items = torch.arange(N_ITEMS)
        anonymous = model(SEQ[:1], None, items)
        unknown = model(SEQ[:1], torch.tensor([2]), items)  # user 2's age is missing
        known = model(SEQ[:1], torch.tensor([0]), items)
        torch.testing.assert_close(anonymous, unknown)
        assert not torch.allclose(anonymous, known)
        no_features = net(user_features=False).eval()
        assert no_features.user_width == 0
        torch.testing.assert_close(
            no_features(SEQ, None, items), no_features(SEQ, torch.arange(3), items)
        )


def test_dice_uses_batch_statistics_in_training_and_moving_averages_after() -> None:
    torch.manual_seed(2)
    dice = Dice(3)
    with torch.no_grad():
        dice.alpha.copy_(torch.tensor([0.0, 0.5, -1.0]))
    s = torch.randn(8, 3) * 2 + 1

    def by_hand(mean: torch.Tensor, var: torch.Tensor) -> torch.Tensor:
        p = torch.sigmoid((s - mean) / torch.sqrt(var + 1e-8))
        return p * s + (1 - p) * dice.alpha * s

    out = dice.train()(s)
    torch.testing.assert_close(out, by_hand(s.mean(0), s.var(0, unbiased=False)))
    with torch.no_grad():
        evaluated = dice.eval()(s)
        expected = by_hand(dice.norm.running_mean, dice.norm.running_var)
    torch.testing.assert_close(evaluated, expected)
    assert not torch.allclose(evaluated, out.detach())


def test_dice_net_scores_rows_independently_at_inference() -> None:
    model = net("dice")
    model.train()(SEQ, torch.arange(3), torch.arange(N_ITEMS))  # moves the running averages
    model.eval()
    with torch.no_grad():
        together = model(SEQ, torch.arange(3), torch.arange(N_ITEMS))
        alone = torch.cat(
            [model(SEQ[u : u + 1], torch.tensor([u]), torch.arange(9)) for u in range(3)]
        )
    torch.testing.assert_close(together, alone)
