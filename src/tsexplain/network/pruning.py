"""Influence-guided pruning (TSViz Section IV-F, Figure 10, Table 1), always on a copy of the model."""

from __future__ import annotations

import copy
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import torch
from torch import nn

from tsexplain._model_state import budget_rows
from tsexplain._task import TASK_CHOICES
from tsexplain._typing import SeriesBatch, Target
from tsexplain._validation import check_choice, check_int, check_model, check_series_batch
from tsexplain.exceptions import ParameterError
from tsexplain.network._batchnorm_after import batchnorms_after
from tsexplain.network._hooks import (
    LayerRef,
    check_filter_output,
    conv1d_layer_names,
    frozen_eval,
    resolve_layer,
    run_until_captured,
)
from tsexplain.network._model_inputs import series_alone
from tsexplain.network._output import as_2d, is_probability_output, task_loss, task_of
from tsexplain.network.filter_importance import FilterImportanceStats, filter_importance_stats

LossArg = Literal["auto"] | Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


class _ChannelMask:
    """Forward hook that zeroes chosen output channels (keeps pruned filters dead while fine-tuning)."""

    def __init__(self, keep: torch.Tensor) -> None:
        self.keep = keep

    def __call__(self, module: nn.Module, inp: Any, out: torch.Tensor) -> torch.Tensor:
        shape = (1, -1) + (1,) * (out.dim() - 2)  # (N, F, T') or (N, F)
        return out * self.keep.to(dtype=out.dtype, device=out.device).view(shape)


def _mask_channels(module: nn.Module, keep: torch.Tensor) -> None:
    """Multiply ``module``'s output channels by ``keep`` (F,) from now on, combined with any
    mask an earlier pruning put on it."""
    old = getattr(module, "_tsexplain_prune_mask", None)
    if old is not None:  # pruning a copy that was already pruned: combine the masks
        old.keep.mul_(keep)
    else:
        mask = _ChannelMask(keep.clone())
        module.register_forward_hook(mask)
        setattr(module, "_tsexplain_prune_mask", mask)  # noqa: B010  (nn.Module types attributes as Tensor | Module)


def _silence_batchnorms(model: nn.Module, name: str, keep: torch.Tensor) -> None:
    """Zero the channels of the BatchNorms that normalise layer ``name``'s removed filters.

    A BatchNorm maps a zero channel to ``beta - gamma * mean / sqrt(var + eps)``, not to zero;
    its weight and bias of those channels are set to zero (its output there is then exactly
    zero, in eval and in train mode) and a mask keeps them so while fine-tuning.
    """
    found = batchnorms_after(model, name, int(keep.shape[0]))
    if not found.traced and not found.names and any(
        isinstance(m, nn.modules.batchnorm._BatchNorm) for m in model.modules()
    ):
        warnings.warn(
            f"prune_filters: torch.fx cannot trace the model and no BatchNorm1d follows layer "
            f"{name!r} in the order the model registers its layers; if the layer's output goes "
            f"through a BatchNorm, prune the same channels of that BatchNorm too "
            f"(prune_filters(pruned, bn_name, filters, sample=x)), or its constant output still "
            f"reaches the model's output",
            UserWarning,
            stacklevel=3,
        )
    idx = torch.nonzero(keep == 0).flatten()
    modules = dict(model.named_modules())
    for bn_name in found.names:
        bn = modules[bn_name]
        _mask_channels(bn, keep)
        with torch.no_grad():
            for p in (bn.weight, bn.bias):
                if isinstance(p, torch.Tensor):
                    p[idx] = 0.0


def _layer_filter_count(model: nn.Module, module: nn.Module, name: str, x: torch.Tensor) -> int:
    if isinstance(module, nn.Conv1d):
        return int(module.out_channels)
    with frozen_eval(model), torch.no_grad():
        out = run_until_captured(model, x[:1], [module])[module]
    check_filter_output(out, name, 1, module)
    return int(out.shape[1])


@series_alone
def prune_filters(
    model: nn.Module,
    layer: LayerRef,
    filters: Sequence[int],
    *,
    sample: SeriesBatch | None = None,
) -> nn.Module:
    """A deep copy of ``model`` with the given filters of ``layer`` removed (zeroed).

    A removed filter contributes nothing downstream. For a ``Conv1d`` the filters' weights and
    biases are set to zero, as in TSViz; for any layer a forward hook on the copy also multiplies
    those output channels by zero, so they stay removed during fine-tuning. A ``BatchNorm1d``
    that normalises the layer's output (directly or after a ReLU, dropout or pooling) would map
    the zero channel to the constant ``beta - gamma * mean / sqrt(var + eps)``, so its weight and
    bias of those channels are zeroed too and its output there is masked the same way. The
    caller's model is never modified.

    Parameters
    ----------
    model : torch.nn.Module
    layer : str or nn.Module
        Layer of ``model`` (the same layer is found in the copy by name).
    filters : sequence of int
        Filter (output channel) indices to remove.
    sample : array of shape (N, C, T), optional
        A sample input, needed only when ``layer`` is not a ``Conv1d`` (to count its filters).

    Returns
    -------
    torch.nn.Module
        The pruned copy, with the same training flag as ``model``.

    Raises
    ------
    ParameterError
        ``filters`` holds an index outside [0, F), or ``layer`` is not a ``Conv1d`` and no
        ``sample`` was given.

    Warns
    -----
    UserWarning
        The model holds BatchNorm layers, ``torch.fx`` cannot trace it and no ``BatchNorm1d``
        is registered right after ``layer``: a BatchNorm fed by the layer could not be found,
        so prune its channels too, by name.

    Notes
    -----
    The BatchNorms fed by ``layer`` are found by tracing the model with ``torch.fx``. A model
    that cannot be traced (control flow on tensor values) falls back on the order in which it
    registers its layers: the ``BatchNorm1d`` of F features registered right after ``layer``
    (``nn.Sequential(conv, bn, relu)``, or ``self.conv1`` then ``self.bn1``).

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> from tsexplain.network import conv_activations, prune_filters
    >>> _ = torch.manual_seed(0)
    >>> net = nn.Sequential(nn.Conv1d(2, 4, 3, padding=1), nn.ReLU(),
    ...                     nn.Conv1d(4, 3, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(48, 1))
    >>> x = torch.randn(3, 2, 16)
    >>> pruned = prune_filters(net, "0", [1])
    >>> acts = conv_activations(pruned, x, "0")["0"]  # (N, F, T')
    >>> bool((acts[:, 1] == 0).all()), bool(net[0].weight[1].abs().sum() > 0)  # model untouched
    (True, True)
    >>> bn_net = nn.Sequential(nn.Conv1d(2, 4, 3, padding=1), nn.BatchNorm1d(4), nn.ReLU()).eval()
    >>> with torch.no_grad():
    ...     _ = bn_net[1].running_mean.fill_(-0.5)  # BN maps a zero channel to 0.5, not 0
    >>> pruned = prune_filters(bn_net, "0", [2])
    >>> bool((pruned(x)[:, 2] == 0).all()), pruned[1].weight[2].item(), pruned[1].bias[2].item()
    (True, 0.0, 0.0)
    """
    model = check_model(model)
    name, module = resolve_layer(model, layer)
    if isinstance(module, nn.Conv1d):
        n_filters = int(module.out_channels)
    else:
        if sample is None:
            raise ParameterError(
                f"layer {name!r} is a {type(module).__name__}, not a Conv1d: pass sample= (N, C, T) "
                f"so its number of filters can be found."
            )
        n_filters = _layer_filter_count(model, module, name, check_series_batch(sample, "sample"))
    idx = sorted({int(f) for f in filters})
    if any(not 0 <= f < n_filters for f in idx):
        raise ParameterError(f"filters must be indices in [0, {n_filters}); got {list(filters)}.")
    pruned = copy.deepcopy(model)
    target = dict(pruned.named_modules())[name]
    keep = torch.ones(n_filters)
    keep[idx] = 0.0
    _mask_channels(target, keep)
    if isinstance(target, nn.Conv1d) and idx:
        with torch.no_grad():
            target.weight[idx] = 0.0
            if target.bias is not None:
                target.bias[idx] = 0.0
    if idx:
        _silence_batchnorms(pruned, name, keep)
    return pruned


@series_alone
def evaluate_loss(
    model: nn.Module,
    x: SeriesBatch,
    y: Any,
    *,
    loss: LossArg = "auto",
    task: str | None = "auto",
    probabilities: bool | None = None,
    memory_budget: int | str | None = None,
    batch_size: int | None = None,
) -> float:
    """Mean loss of ``model`` on ``(x, y)`` in eval mode (the model's flags are restored).

    ``loss="auto"`` uses the task's loss: binary cross-entropy, cross-entropy or squared error.
    ``task="auto"`` (or None): several outputs -> multiclass; one output -> binary when ``y``
    holds only 0/1 labels, else regression; an explicit task wins.
    The forward passes are chunked to fit ``memory_budget`` (bytes or "512MB"; default: the
    package's budget); ``batch_size`` (rows) is its deprecated former spelling.

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> from tsexplain.network import evaluate_loss
    >>> _ = torch.manual_seed(0)
    >>> net = nn.Sequential(nn.Conv1d(2, 4, 3, padding=1), nn.ReLU(),
    ...                     nn.Conv1d(4, 3, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(48, 1))
    >>> x, y = torch.randn(3, 2, 16), torch.tensor([0.0, 1.0, 1.0])
    >>> import torch.nn.functional as F
    >>> loss = evaluate_loss(net, x, y)  # one logit, 0/1 labels: binary cross-entropy
    >>> abs(loss - F.binary_cross_entropy_with_logits(net(x)[:, 0], y).item()) < 1e-6
    True
    >>> evaluate_loss(net, x, y, loss=lambda out, yb: (out[:, 0] - out[:, 0]).abs().mean())
    0.0
    """
    model = check_model(model)
    xt = check_series_batch(x, "x")
    yt = torch.as_tensor(np.asarray(y) if not isinstance(y, torch.Tensor) else y)
    if yt.shape[0] != xt.shape[0]:
        raise ParameterError(f"y has {yt.shape[0]} entries for {xt.shape[0]} series.")
    total = 0.0
    rows = budget_rows(model, xt, memory_budget, batch_size, "evaluate_loss")
    with frozen_eval(model), torch.no_grad():
        probs = is_probability_output(model, probabilities)
        task_r: str | None = None
        for s in range(0, xt.shape[0], rows):
            out = model(xt[s : s + rows])
            yb = yt[s : s + rows]
            if callable(loss):
                total += float(loss(out, yb)) * out.shape[0]
                continue
            if task_r is None:
                check_choice(task, "task", (*TASK_CHOICES, None))
                task_r = task_of(task, out, labels=yt, model=model)
            total += float(task_loss(out, yb, task_r, probabilities=probs, reduction="sum")) / (
                as_2d(out).shape[1] if task_r == "regression" else 1
            )
    return total / xt.shape[0]


def _fine_tune(
    model: nn.Module,
    train: tuple[Any, Any],
    epochs: int,
    *,
    loss: LossArg,
    task: str | None,
    probabilities: bool,
    lr: float,
    batch_size: int,
    seed: int,
) -> None:
    xt = check_series_batch(train[0], "train[0]")
    yt = torch.as_tensor(np.asarray(train[1]) if not isinstance(train[1], torch.Tensor) else train[1])
    gen = torch.Generator().manual_seed(seed)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.Adam(params, lr=lr)
    was_training = model.training
    model.train()
    try:
        for _ in range(epochs):
            order = torch.randperm(xt.shape[0], generator=gen)
            for s in range(0, xt.shape[0], batch_size):
                b = order[s : s + batch_size]
                out = model(xt[b])
                if callable(loss):
                    value = loss(out, yt[b])
                else:
                    task_r = task_of(task, out, labels=yt, model=model)
                    value = task_loss(out, yt[b], task_r, probabilities=probabilities, reduction="mean")
                opt.zero_grad(set_to_none=True)
                value.backward()
                opt.step()
    finally:
        model.train(was_training)
        for p in params:
            p.grad = None


@dataclass
class PruningCurve:
    """Test loss as filters of one layer are removed one by one (TSViz Figure 10).

    Attributes
    ----------
    layer : str
    order : {"least", "most"}
        Least influential first (TSViz) or most influential first.
    n_pruned : numpy.ndarray of shape (S,)
        Number of filters removed (0 = original model).
    loss : numpy.ndarray of shape (S,)
        Test loss after removing that many (and fine-tuning, if asked).
    removal_order : numpy.ndarray of shape (F,)
        Filter indices in the order they are removed.
    importance : numpy.ndarray of shape (F,)
        Mean importance used for the ranking.

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> from tsexplain.network import pruning_curve
    >>> _ = torch.manual_seed(0)
    >>> net = nn.Sequential(nn.Conv1d(2, 4, 3, padding=1), nn.ReLU(),
    ...                     nn.Conv1d(4, 3, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(48, 1))
    >>> x, y = torch.randn(3, 2, 16), torch.tensor([0.0, 1.0, 1.0])
    >>> curve = pruning_curve(net, "2", x, y, x_importance=x)  # returns a PruningCurve
    >>> curve.layer, curve.order, curve.n_pruned.tolist(), curve.loss.shape
    ('2', 'least', [0, 1, 2], (3,))
    >>> sorted(curve.removal_order.tolist()), curve.importance.shape
    ([0, 1, 2], (3,))
    """

    layer: str
    order: str
    n_pruned: np.ndarray
    loss: np.ndarray
    removal_order: np.ndarray
    importance: np.ndarray


def _importance_of(
    model: nn.Module,
    name: str,
    importance: Any,
    x_importance: Any,
    target: Target,
    memory_budget: int | str | None,
) -> np.ndarray:
    if isinstance(importance, FilterImportanceStats):
        return np.asarray(importance.mean)
    if importance is not None:
        return np.asarray(importance, dtype=np.float64).reshape(-1)
    if x_importance is None:
        raise ParameterError("pass importance= (F,) or x_importance= data to compute it on (TSViz: the training set).")
    stats = filter_importance_stats(
        model, x_importance, [name], target, memory_budget=memory_budget, progress=False
    )
    return stats[name].mean


@series_alone
def pruning_curve(
    model: nn.Module,
    layer: LayerRef,
    x_test: SeriesBatch,
    y_test: Any,
    *,
    importance: np.ndarray | FilterImportanceStats | None = None,
    x_importance: SeriesBatch | None = None,
    target: Target = None,
    order: Literal["least", "most"] = "least",
    max_pruned: int | None = None,
    loss: LossArg = "auto",
    task: str | None = "auto",
    probabilities: bool | None = None,
    fine_tune_epochs: int = 0,
    train: tuple[Any, Any] | None = None,
    lr: float = 1e-3,
    batch_size: int = 64,
    seed: int = 0,
    memory_budget: int | str | None = None,
) -> PruningCurve:
    """Remove the filters of ``layer`` one at a time by importance and record the test loss.

    The ranking is the mean importance (TSViz Eq. 16 averaged over a data set, their Eq. 29),
    computed once. Each step removes one more filter from a copy; with ``fine_tune_epochs > 0``
    the copy is trained that many epochs on ``train`` after each removal (TSViz: 10), with the
    removed filters kept at zero. The caller's model is never modified.

    Parameters
    ----------
    model : torch.nn.Module
    layer : str or nn.Module
    x_test : array of shape (N, C, T)
    y_test : array of shape (N,) or (N, K)
        Labels (classification) or targets (regression).
    importance : array of shape (F,) or FilterImportanceStats, optional
        Ranking to use; otherwise computed on ``x_importance``.
    x_importance : array of shape (M, C, T), optional
        Data for the ranking (TSViz: the training set).
    target : as in :func:`filter_importance`
    order : {"least", "most"}
    max_pruned : int, optional
        Stop after this many; default F - 1 (one filter left, as TSViz).
    loss, task, probabilities
        As in :func:`evaluate_loss`.
    fine_tune_epochs : int
    train : (x_train, y_train), required when fine-tuning.
    lr, batch_size, seed
        Fine-tuning settings (Adam; ``batch_size`` is the optimiser's, series per step).
    memory_budget : int or str, optional
        Bytes (or "512MB") for the importance and loss evaluations; default: the package's
        budget (:func:`tsexplain.attribution.set_memory_budget`).

    Returns
    -------
    PruningCurve

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> from tsexplain.network import evaluate_loss, pruning_curve
    >>> _ = torch.manual_seed(0)
    >>> net = nn.Sequential(nn.Conv1d(2, 4, 3, padding=1), nn.ReLU(),
    ...                     nn.Conv1d(4, 3, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(48, 1))
    >>> x, y = torch.randn(3, 2, 16), torch.tensor([0.0, 1.0, 1.0])
    >>> curve = pruning_curve(net, "2", x, y, x_importance=x)
    >>> curve.n_pruned.tolist()  # 0 .. F - 1 filters removed
    [0, 1, 2]
    >>> bool(curve.loss[0] == evaluate_loss(net, x, y))  # step 0 is the unpruned model
    True
    >>> bool(curve.importance[curve.removal_order[0]] == curve.importance.min())  # least first
    True
    >>> tuned = pruning_curve(net, "2", x, y, importance=curve.importance,
    ...                       fine_tune_epochs=1, train=(x, y))
    >>> tuned.loss.shape
    (3,)
    """
    model = check_model(model)
    check_choice(order, "order", ("least", "most"))
    fine_tune_epochs = check_int(fine_tune_epochs, "fine_tune_epochs", minimum=0)
    if fine_tune_epochs and train is None:
        raise ParameterError("fine_tune_epochs > 0 needs train=(x_train, y_train).")
    name, module = resolve_layer(model, layer)
    xt = check_series_batch(x_test, "x_test")
    imp = _importance_of(model, name, importance, x_importance, target, memory_budget)
    n_filters = _layer_filter_count(model, module, name, xt)
    if imp.shape[0] != n_filters:
        raise ParameterError(f"importance has {imp.shape[0]} entries; layer {name!r} has {n_filters} filters.")
    ranking = np.argsort(imp if order == "least" else -imp, kind="stable")
    limit = n_filters - 1 if max_pruned is None else check_int(max_pruned, "max_pruned", minimum=0)
    limit = min(limit, n_filters)
    probs = is_probability_output(model, probabilities)
    losses = [evaluate_loss(model, xt, y_test, loss=loss, task=task, probabilities=probs,
                            memory_budget=memory_budget)]
    current = model
    sample = xt[:1]
    for i in range(limit):
        current = prune_filters(current, name, [int(ranking[i])], sample=sample)
        if fine_tune_epochs:
            assert train is not None
            _fine_tune(current, train, fine_tune_epochs, loss=loss, task=task, probabilities=probs,
                       lr=lr, batch_size=check_int(batch_size, "batch_size", minimum=1),
                       seed=seed + i)
        losses.append(evaluate_loss(current, xt, y_test, loss=loss, task=task, probabilities=probs,
                                    memory_budget=memory_budget))
    return PruningCurve(
        layer=name,
        order=order,
        n_pruned=np.arange(limit + 1),
        loss=np.asarray(losses),
        removal_order=ranking,
        importance=imp,
    )


@dataclass
class FaithfulnessRow:
    """One row of :func:`faithfulness_table`."""

    layer: str
    n_filters: int
    most_filter: int
    least_filter: int
    loss_without_most: float
    loss_without_least: float


@dataclass
class FaithfulnessTable:
    """TSViz Table 1: test loss with the most vs the least influential filter of each layer removed.

    Attributes
    ----------
    baseline_loss : float
        Test loss of the unpruned model.
    rows : list of FaithfulnessRow
        One per layer: ``layer``, ``n_filters``, ``most_filter``, ``least_filter``,
        ``loss_without_most``, ``loss_without_least``.

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> from tsexplain.network import evaluate_loss, faithfulness_table
    >>> _ = torch.manual_seed(0)
    >>> net = nn.Sequential(nn.Conv1d(2, 4, 3, padding=1), nn.ReLU(),
    ...                     nn.Conv1d(4, 3, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(48, 1))
    >>> x, y = torch.randn(3, 2, 16), torch.tensor([0.0, 1.0, 1.0])
    >>> table = faithfulness_table(net, x, y)  # returns a FaithfulnessTable
    >>> table.baseline_loss == evaluate_loss(net, x, y), len(table.rows)
    (True, 2)
    >>> row = table.rows[0]  # layer "0", 4 filters
    >>> row.layer, row.n_filters, row.most_filter != row.least_filter
    ('0', 4, True)
    >>> str(table).splitlines()[1].split()[:2]
    ['layer', 'filters']
    """

    baseline_loss: float
    rows: list[FaithfulnessRow]

    def __str__(self) -> str:
        lines = [
            f"test loss of the unpruned model: {self.baseline_loss:.4f}",
            f"{'layer':<16}{'filters':>8}{'most (idx)':>12}{'loss w/o most':>15}{'least (idx)':>13}{'loss w/o least':>16}",
        ]
        for r in self.rows:
            lines.append(
                f"{r.layer:<16}{r.n_filters:>8}{r.most_filter:>12}{r.loss_without_most:>15.4f}"
                f"{r.least_filter:>13}{r.loss_without_least:>16.4f}"
            )
        return "\n".join(lines)


@series_alone
def faithfulness_table(
    model: nn.Module,
    x_test: SeriesBatch,
    y_test: Any,
    *,
    x_importance: SeriesBatch | None = None,
    layers: Sequence[LayerRef] | None = None,
    target: Target = None,
    loss: LossArg = "auto",
    task: str | None = "auto",
    probabilities: bool | None = None,
    memory_budget: int | str | None = None,
    batch_size: int | None = None,
) -> FaithfulnessTable:
    """For each layer, remove its most and its least influential filter (no fine-tuning): TSViz Table 1.

    Importance is the mean of Eq. 16 over ``x_importance`` (default: ``x_test``). A faithful
    importance makes the loss rise much more without the most influential filter.
    ``memory_budget`` bounds the importance and loss evaluations (``batch_size``: deprecated).

    Returns
    -------
    FaithfulnessTable
        ``.rows`` per layer; ``str(table)`` prints it.

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> from tsexplain.network import faithfulness_table, filter_importance_stats
    >>> _ = torch.manual_seed(0)
    >>> net = nn.Sequential(nn.Conv1d(2, 4, 3, padding=1), nn.ReLU(),
    ...                     nn.Conv1d(4, 3, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(48, 1))
    >>> x, y = torch.randn(3, 2, 16), torch.tensor([0.0, 1.0, 1.0])
    >>> table = faithfulness_table(net, x, y)
    >>> [(row.layer, row.n_filters) for row in table.rows]
    [('0', 4), ('2', 3)]
    >>> stats = filter_importance_stats(net, x, progress=False)
    >>> [row.most_filter for row in table.rows] == [int(s.mean.argmax()) for s in stats.values()]
    True
    """
    model = check_model(model)
    xt = check_series_batch(x_test, "x_test")
    refs = list(conv1d_layer_names(model)) if layers is None else list(layers)
    names = [resolve_layer(model, r, "layers")[0] for r in refs]
    stats = filter_importance_stats(
        model, xt if x_importance is None else x_importance, names, target,
        memory_budget=memory_budget, batch_size=batch_size, progress=False
    )
    probs = is_probability_output(model, probabilities)
    def loss_of(m: nn.Module) -> float:
        return evaluate_loss(m, xt, y_test, loss=loss, task=task, probabilities=probs,
                             memory_budget=memory_budget)

    base = loss_of(model)
    rows = []
    for name in names:
        mean = stats[name].mean
        most, least = int(np.argmax(mean)), int(np.argmin(mean))
        lm = loss_of(prune_filters(model, name, [most], sample=xt[:1]))
        ll = loss_of(prune_filters(model, name, [least], sample=xt[:1]))
        rows.append(FaithfulnessRow(name, int(mean.shape[0]), most, least, lm, ll))
    return FaithfulnessTable(baseline_loss=base, rows=rows)
