"""CaserNet: the paper's convolutions, blind to padding, the bias folded into the dot
product, anonymous sessions scored as the average known user, eval == train at dropout 0."""

from __future__ import annotations

import torch
from torch.nn import functional

from recforge.neural.caser_net import CaserNet

N_USERS, N_ITEMS, DIM, MAX_LEN = 4, 9, 8, 5


def net(vertical: int = 3, horizontal: int = 2, dropout: float = 0.0) -> CaserNet:
    torch.manual_seed(0)
    model = CaserNet(N_USERS, N_ITEMS, DIM, MAX_LEN, vertical, horizontal, dropout)
    with torch.no_grad():  # non-zero biases, so that a dropped bias term would show
        model.output_bias.normal_()
        for conv in model.horizontal:
            conv.bias.normal_()
    return model


SEQ = torch.tensor([[0, 0, 0, 0, 4], [0, 0, 3, 1, 2], [5, 6, 7, 8, 9]])
USERS = torch.tensor([2, 0, 3])


def test_the_convolutions_are_the_papers_2d_filters() -> None:
    """Horizontal: h × d filters, ReLU, max over time; vertical: L × 1 filters; then the
    fully connected layer with ReLU (Tang & Wang 2018, eq. 2–6)."""
    model = net().eval()
    image = model.items(SEQ).unsqueeze(1)  # [B, 1, L, d]
    pooled = []
    for h, conv in enumerate(model.horizontal, start=1):
        kernel = conv.weight.transpose(1, 2).unsqueeze(1)  # [n_h, 1, h, d]
        assert kernel.shape[2:] == (h, DIM)
        out = functional.conv2d(image, kernel, conv.bias).squeeze(3)  # [B, n_h, L - h + 1]
        pooled.append(functional.relu(out).amax(dim=2))
    assert model.vertical is not None
    kernel_v = model.vertical.weight[:, None, :, None]  # [n_v, 1, L, 1]
    vertical = functional.conv2d(image, kernel_v, model.vertical.bias)  # [B, n_v, 1, d]
    features = torch.cat([vertical.transpose(1, 3).flatten(1), *pooled], dim=1)
    z = functional.relu(model.hidden(features))
    with torch.no_grad():
        torch.testing.assert_close(model.sequence_embedding(SEQ), z)


def test_the_one_convolution_trains_each_height_as_its_own_would() -> None:
    """All heights run as one padded convolution: each height's weights get the gradient
    that its own convolution would give them, and the saved state still holds a weight and a
    bias per height (so artifacts saved before still load)."""
    model = net(vertical=0, horizontal=3).train()
    channels = model.items(SEQ).transpose(1, 2).detach()  # [B, d, L]
    probe = torch.randn(SEQ.shape[0], 3 * MAX_LEN)
    (model.horizontal_features(channels) * probe).sum().backward()
    batched = [(conv.weight.grad.clone(), conv.bias.grad.clone()) for conv in model.horizontal]
    model.zero_grad()
    per_height = torch.cat(
        [torch.relu(conv(channels)).amax(dim=-1) for conv in model.horizontal], dim=1
    )
    (per_height * probe).sum().backward()
    for h, (conv, (weight, bias)) in enumerate(zip(model.horizontal, batched, strict=True), 1):
        assert conv.weight.shape == (3, DIM, h)
        torch.testing.assert_close(weight, conv.weight.grad)
        torch.testing.assert_close(bias, conv.bias.grad)
    keys = set(model.state_dict())
    assert {f"horizontal.{h}.{part}" for h in range(MAX_LEN) for part in ("weight", "bias")} <= keys
    assert not any("fits" in key for key in keys)


def test_the_score_is_the_output_layer_with_its_bias() -> None:
    model = net().eval()
    with torch.no_grad():
        state = model.last_state(SEQ, USERS)
        scores = state @ model.item_vectors(None).T
        z = model.sequence_embedding(SEQ)
        joint = torch.cat([z, model.users(USERS)], dim=1)  # [B, 2d]
        expected = joint @ model.output.weight.T + model.output_bias.T
        items = torch.tensor([8, 0, 3])
        some = state @ model.item_vectors(items).T
    assert state.shape == (3, 2 * DIM + 1)
    torch.testing.assert_close(state[:, -1], torch.ones(3))
    torch.testing.assert_close(scores, expected)
    torch.testing.assert_close(some, expected[:, items])


def test_padding_contributes_nothing_whatever_its_row_holds() -> None:
    model = net().eval()
    short = torch.tensor([[0, 0, 0, 3, 7], [0, 0, 0, 0, 1]])
    with torch.no_grad():
        before = model.last_state(short, USERS[:2])
        model.items.weight[0] = torch.randn(DIM) * 10
        after = model.last_state(short, USERS[:2])
    torch.testing.assert_close(after, before)


def test_the_order_of_the_items_matters() -> None:
    for vertical, horizontal in ((3, 0), (0, 2)):  # each kind of filter alone sees the order
        model = net(vertical, horizontal).eval()
        with torch.no_grad():
            a = model.sequence_embedding(torch.tensor([[0, 0, 0, 3, 7]]))
            b = model.sequence_embedding(torch.tensor([[0, 0, 0, 7, 3]]))
        assert not torch.allclose(a, b), (vertical, horizontal)


def test_an_anonymous_session_scores_as_the_average_known_user() -> None:
    model = net().eval()
    model.history[1] = torch.tensor([0, 0, 0, 2, 5])
    model.history[3] = torch.tensor([1, 2, 3, 4, 5])  # users 0 and 2 have no training items
    seq = SEQ[1:2]
    with torch.no_grad():
        anonymous = model.last_state(seq, None) @ model.item_vectors(None).T
        each = [
            model.last_state(seq, torch.tensor([u])) @ model.item_vectors(None).T for u in (1, 3)
        ]
        torch.testing.assert_close(anonymous, (each[0] + each[1]) / 2)
        model.history.zero_()  # no known user at all: no user term
        state = model.last_state(seq, None)
    torch.testing.assert_close(state[:, DIM : 2 * DIM], torch.zeros(1, DIM))


def test_states_are_finite_and_equal_in_eval_and_training_mode() -> None:
    model = net()
    model.train()
    trained = model.last_state(SEQ, USERS)
    model.eval()
    with torch.no_grad():
        evaluated = model.last_state(SEQ, USERS)
    assert torch.isfinite(evaluated).all()
    torch.testing.assert_close(evaluated, trained.detach())
    dropped = net(dropout=0.5).train()
    assert not torch.allclose(dropped.last_state(SEQ, USERS), trained.detach())


def test_weight_norms_is_recboles_penalty() -> None:
    model = net()
    expected = sum(w.norm() for name, w in model.named_parameters() if name.endswith("weight"))
    torch.testing.assert_close(model.weight_norms(), expected)


def test_a_session_fits_its_own_user_vector_from_its_transitions() -> None:
    """session_state: without steps (or without transitions) the average known user; with
    them P is the MAP vector of the session's transitions, which explains them better."""
    from recforge.neural.fold_in import gaussian_prior

    model = net().eval()
    model.history[1] = torch.tensor([0, 0, 0, 2, 5])
    model.history[2] = torch.tensor([0, 1, 3, 5, 7])
    model.history[3] = torch.tensor([1, 2, 3, 4, 5])
    seq = SEQ[1:2]
    windows = torch.tensor([[0, 0, 0, 0, 3], [0, 0, 0, 3, 1]])  # 3 → 1, then 3, 1 → 2
    targets = torch.tensor([0, 1])  # item indices (codes − 1)
    with torch.no_grad():
        mean_state = model.last_state(seq, None)
        torch.testing.assert_close(model.session_state(seq, windows, targets, 0), mean_state)
        no_targets = model.session_state(seq, windows[:0], targets[:0], 10)
        torch.testing.assert_close(no_targets, mean_state)
        fitted = model.session_state(seq, windows, targets, 10)
        # z and the bias column are the session's own; only P moved
        torch.testing.assert_close(fitted[:, :DIM], mean_state[:, :DIM])
        assert fitted[0, -1] == 1.0
        assert not torch.allclose(fitted[:, DIM : 2 * DIM], mean_state[:, DIM : 2 * DIM])

        def log_posterior(p: torch.Tensor) -> float:
            states = model.last_state(windows, None).clone()
            states[:, DIM : 2 * DIM] = p
            logits = states @ model.item_vectors(None).T
            prior = gaussian_prior(model.users.weight[1:])
            assert prior is not None
            gap = p.double() - prior[0]
            nll = functional.cross_entropy(logits.double(), targets, reduction="sum")
            return float(-nll - 0.5 * gap @ prior[1] @ gap)

        assert log_posterior(fitted[0, DIM : 2 * DIM]) > log_posterior(mean_state[0, DIM : 2 * DIM])


def test_the_session_prior_follows_the_user_embeddings() -> None:
    """The cached prior is dropped when the embeddings change in place (training, loading)."""
    model = net().eval()
    model.history[1:] = torch.tensor([1, 2, 3, 4, 5])
    windows, targets = SEQ[1:2], torch.tensor([3])
    with torch.no_grad():
        before = model.session_state(SEQ[1:2], windows, targets, 10)
        model.users.weight.mul_(3.0)
        after = model.session_state(SEQ[1:2], windows, targets, 10)
        fresh = net().eval()
        fresh.load_state_dict(model.state_dict())
        expected = fresh.session_state(SEQ[1:2], windows, targets, 10)
    assert not torch.allclose(before, after)
    torch.testing.assert_close(after, expected)
