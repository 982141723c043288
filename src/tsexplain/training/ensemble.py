"""``train_ensemble``: train N independent members of one architecture at once."""

from __future__ import annotations

import copy
import inspect
import threading
import time
import warnings
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import wait as wait_futures
from typing import Any

import numpy as np
import torch
from torch import nn

from tsexplain._allocator import tune_allocator
from tsexplain._validation import check_bool, check_choice, check_int
from tsexplain.exceptions import InputTypeError, ParameterError
from tsexplain.training._data import (
    TrainingData,
    member_seed,
    prepare_training_data,
    resolve_task,
    split_plan,
)
from tsexplain.training._losses import activity_penalty, correct_count, task_loss
from tsexplain.training._wide import scatter, why_not_widenable, widen
from tsexplain.training.fit import (
    TrainingHistory,
    batches,
    fit,
    make_optimizer,
    make_scheduler,
    resolve_settings,
)

__all__ = ["train_ensemble", "EnsembleResult", "METHODS"]

#: Accepted values of ``method``.
METHODS = ("auto", "wide", "vmap", "loop")

_EVAL_CHUNK = 512


def _fused_optimizer(params: Any, s: dict[str, Any]) -> torch.optim.Optimizer:
    """``make_optimizer(params, s)`` with torch's fused (one-kernel) implementation if it has one.

    The fused CPU Adam/AdamW computes the same element-wise update in one pass over all the
    parameters (faster on the wide model's handful of large tensors); it may round
    the last bit differently from the per-tensor loop ``fit`` uses.
    """
    params = list(params)
    opt = make_optimizer(params, s)
    accepted = inspect.signature(type(opt)).parameters
    kwargs = {k: v for k, v in opt.defaults.items() if k in accepted}
    kwargs.update(fused=True, foreach=None)
    try:
        return type(opt)(params, **kwargs)
    except (RuntimeError, TypeError, ValueError):  # no fused version for these tensors/settings
        return opt


class EnsembleResult(list[nn.Module]):
    """The trained members (a plain list of modules) plus how they were trained.

    Attributes
    ----------
    method : str
        ``"wide"``, ``"vmap"`` or ``"loop"``: the strategy actually used.
    reason : str or None
        Why ``"auto"`` fell back to a slower strategy.
    histories : list of TrainingHistory
        One per member.
    seeds : list of int
        Member i's seed (its initialisation, validation split and data order).
    interrupted : bool
        Ctrl-C stopped the training (see :func:`train_ensemble`).
    seconds : float
        Wall-clock training time.
    groups : list of list of int or None
        Member indices trained together, one list per task
        (:func:`tsexplain.scale.train_ensemble_distributed`; None otherwise).
    backend : str or None
        The backend that ran those tasks (None: trained in this process).

    Examples
    --------
    :func:`train_ensemble` returns one:

    >>> import torch
    >>> from tsexplain.models import AGRACNN
    >>> from tsexplain.training import train_ensemble
    >>> X, y = torch.randn(32, 2, 16), torch.randn(32)  # (N, C, T), (N,)
    >>> members = train_ensemble(lambda: AGRACNN(length=16), X, y, n_models=2, epochs=1,
    ...                          batch_size=8, progress=False)
    >>> len(members), members.method, len(members.histories), len(members.seeds)
    (2, 'wide', 2, 2)
    >>> members.interrupted, members[0](X[:4]).shape
    (False, torch.Size([4, 1]))
    """

    method: str
    reason: str | None
    histories: list[TrainingHistory]
    seeds: list[int]
    interrupted: bool
    seconds: float
    groups: list[list[int]] | None = None
    backend: str | None = None


def init_member(model_factory: Callable[[], nn.Module], seed: int) -> nn.Module:
    """Call ``model_factory()`` with the torch RNG seeded by ``seed`` (global state restored)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = model_factory()
    if not isinstance(model, nn.Module):
        raise InputTypeError(
            f"model_factory must return a torch.nn.Module, got {type(model).__name__}."
        )
    return model


def _check_same_architecture(members: list[nn.Module]) -> None:
    ref = [(k, tuple(v.shape)) for k, v in members[0].state_dict().items()]
    for i, mod in enumerate(members[1:], start=1):
        if type(mod) is not type(members[0]) or [
            (k, tuple(v.shape)) for k, v in mod.state_dict().items()
        ] != ref:
            raise ParameterError(
                f"model_factory must build the same architecture every time; member {i} differs "
                f"from member 0."
            )


class _WideEngine:
    """All members as one wide model (grouped convolutions, batched matrix products)."""

    def __init__(self, members: list[nn.Module], task: str, s: dict[str, Any], masked: bool):
        self.members = members
        self.m = len(members)
        self.task, self.s, self.masked = task, s, masked
        self.wide, self.pairs = widen(members)
        self.squeeze = bool(getattr(members[0], "squeeze_output", False))
        self.opt = _fused_optimizer(self.wide.parameters(), s)

    def _forward(self, x: torch.Tensor) -> torch.Tensor:
        m, b, c, t = x.shape
        # (M, B, C, T) -> channels-last (B, M * C, 1, T) in one copy: memory (B, T, M * C)
        wide_x = x.permute(1, 3, 0, 2).reshape(b, t, m * c).permute(0, 2, 1).unsqueeze(2)
        out = self.wide(wide_x)
        out = out.unflatten(1, (m, -1)).movedim(1, 0)
        return out.squeeze(2) if self.squeeze else out

    def step(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        self.wide.train()
        out = self._forward(x)
        loss = task_loss(out, y, self.task, 1, self.masked)
        objective = loss.sum()
        if self.s["activity_l2"] > 0:
            objective = objective + self.s["activity_l2"] * activity_penalty(out, 1).sum()
        self.opt.zero_grad(set_to_none=True)
        objective.backward()
        self.opt.step()
        return loss.detach()

    def outputs(self, x: torch.Tensor) -> torch.Tensor:
        self.wide.eval()
        with torch.no_grad():
            return self._forward(x)

    def state(self) -> dict[str, torch.Tensor]:
        return {
            k: v for k, v in self.wide.state_dict().items() if not k.endswith("num_batches_tracked")
        }

    def finish(self) -> list[nn.Module]:
        scatter(self.pairs)
        return self.members


class _VmapEngine:
    """``torch.func``: stacked parameters, ``vmap`` over ``grad`` of a functional call."""

    def __init__(self, members: list[nn.Module], task: str, s: dict[str, Any], masked: bool):
        from torch.func import functional_call, grad_and_value, stack_module_state, vmap

        self.members = members
        params, buffers = stack_module_state(members)
        self.params = {k: v.detach().clone().requires_grad_(True) for k, v in params.items()}
        self.buffers = {k: v.detach().clone() for k, v in buffers.items()}
        self.base = copy.deepcopy(members[0]).to("meta")
        activity = s["activity_l2"]

        def loss_one(p: dict[str, torch.Tensor], b: dict[str, torch.Tensor],
                     x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            out = functional_call(self.base, (p, b), (x,))
            loss = task_loss(out, y, task, 0, masked)
            objective = loss + activity * activity_penalty(out, 0) if activity > 0 else loss
            return objective, loss

        def out_one(p: dict[str, torch.Tensor], b: dict[str, torch.Tensor],
                    x: torch.Tensor) -> torch.Tensor:
            return functional_call(self.base, (p, b), (x,))

        self._grad = vmap(grad_and_value(loss_one, has_aux=True), randomness="different")
        self._out = vmap(out_one, randomness="different")
        self.opt = _fused_optimizer(self.params.values(), s)

    def step(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        self.base.train()
        grads, (_, loss) = self._grad(self.params, self.buffers, x, y)
        for k, p in self.params.items():
            p.grad = grads[k]
        self.opt.step()
        return loss.detach()

    def outputs(self, x: torch.Tensor) -> torch.Tensor:
        self.base.eval()
        with torch.no_grad():
            return self._out(self.params, self.buffers, x)

    def state(self) -> dict[str, torch.Tensor]:
        return {**{k: v.data for k, v in self.params.items()}, **self.buffers}

    def finish(self) -> list[nn.Module]:
        with torch.no_grad():
            for i, mod in enumerate(self.members):
                mod.load_state_dict(
                    {k: v[i].clone() for k, v in self.state().items()}, strict=False
                )
        return self.members


def _choose_method(method: str, member: nn.Module) -> tuple[str, str | None]:
    wide_issue = why_not_widenable(member)
    has_buffers = any(True for _ in member.buffers())
    vmap_issue = (
        f"{type(member).__name__} has buffers (BatchNorm running statistics), which vmap cannot "
        f"update" if has_buffers else None
    )
    if method == "wide" and wide_issue:
        raise ParameterError(f"method='wide' is not possible: {wide_issue}.")
    if method == "vmap" and vmap_issue:
        raise ParameterError(f"method='vmap' is not possible: {vmap_issue}; use 'wide' or 'loop'.")
    if method != "auto":
        return method, None
    if wide_issue is None:
        return "wide", None
    if vmap_issue is None:
        return "vmap", f"no wide version: {wide_issue}"
    return "loop", f"no wide version ({wide_issue}) and {vmap_issue}"


def train_ensemble(
    model_factory: Callable[[], nn.Module],
    X: Any,
    y: Any = None,
    n_models: int = 20,
    *,
    task: str | None = None,
    epochs: int | None = None,
    lr: float | None = None,
    batch_size: int | None = None,
    val_fraction: float = 0.1,
    patience: int | None = None,
    weight_decay: float | None = None,
    activity_l2: float | None = None,
    lr_schedule: str | None = None,
    optimizer: str | None = None,
    seed: int = 0,
    restore_best: bool = True,
    window: int | None = None,
    method: str = "auto",
    n_workers: int | None = None,
    progress: bool = True,
    callback: Callable[[float], None] | None = None,
) -> EnsembleResult:
    """Train ``n_models`` independent models of one architecture, vectorized.

    Member i is built by ``model_factory()`` under the seed ``seeds[i]`` (which depends on
    ``seed`` and ``i`` only, not on ``n_models``) and trained exactly as
    ``fit(member, X, y, seed=seeds[i], ...)`` would train it: its own initialisation, its own
    validation split, its own data order, its own early stopping. Only the arithmetic is shared.

    Parameters
    ----------
    model_factory : callable
        ``model_factory() -> torch.nn.Module``, the same architecture on every call.
    X, y
        As in :func:`tsexplain.training.fit` (arrays ``(N, C, T)`` and targets, or a dataset).
    n_models : int
        Number of members.
    task, epochs, lr, batch_size, val_fraction, patience, weight_decay, activity_l2,
    lr_schedule, optimizer, restore_best, window
        As in :func:`tsexplain.training.fit`, the same for every member.
    seed : int
        Base seed of the members' seeds.
    method : {"auto", "wide", "vmap", "loop"}
        ``"wide"``: fuse the members into one wide model (grouped convolutions on channels-last
        tensors, ReLU + max-pooling fused, batched matrix products, one fused Adam step; the
        fastest, handles BatchNorm with its running statistics); needs a tsexplain reference
        model.
        ``"vmap"``: ``torch.func`` stacked parameters + ``vmap(grad(functional_call))``; any
        model without buffers. ``"loop"``: one ``fit`` after the other. ``"auto"`` picks the
        first that applies, in that order, and warns when it has to loop.
    n_workers : int, optional
        Vectorized methods: split the members into this many groups, each trained in its own
        thread with one intra-op thread. Default: ``torch.get_num_threads()`` (capped at
        ``n_models``). 1 trains all members as one group with the usual intra-op threads.
    progress : bool
        tqdm progress bar (over epochs, or over members for the loop).
    callback : callable, optional
        ``callback(fraction)`` with the share of the training done (0..1), after every
        optimiser step of the vectorized methods (from each group's thread) and after every
        member of the loop. Raising ``KeyboardInterrupt`` in it stops the training as Ctrl-C
        does.

    Returns
    -------
    EnsembleResult
        A list of ``n_models`` ordinary modules in eval mode, with ``method``, ``histories``,
        ``seeds`` and ``interrupted`` attributes.

    Notes
    -----
    Dropout masks are drawn from one stream for all members in the vectorized methods (shared
    by the worker threads), so a model with dropout does not reproduce its alone-trained twin
    bit for bit, nor itself across runs with ``n_workers > 1``; without dropout it does, up to
    float rounding (the wide convolutions and the fused Adam may round differently from
    ``fit``). Ctrl-C: the vectorized methods return every member with the best (or last)
    weights reached so far; the loop returns the members completed so far. Either way
    ``interrupted`` is True and a warning is issued.

    The vectorized methods raise glibc's malloc mmap and trim thresholds once per process
    (32 MB, 256 MB), so the activations freed after a step are reused by the next one instead
    of being returned to the OS and faulted in again (15-25% of a wide step otherwise). Set
    ``TSEXPLAIN_TUNE_ALLOCATOR=0`` (or glibc's ``MALLOC_*_THRESHOLD_`` variables) to opt out.

    Examples
    --------
    >>> import torch
    >>> from tsexplain.models import AGRACNN
    >>> X, y = torch.randn(64, 2, 32), torch.randn(64)
    >>> members = train_ensemble(lambda: AGRACNN(length=32), X, y, n_models=3, epochs=1,
    ...                          progress=False)
    >>> len(members), members.method
    (3, 'wide')
    """
    if not callable(model_factory):
        raise InputTypeError(f"model_factory must be callable, got {type(model_factory).__name__}.")
    n_models = check_int(n_models, "n_models", minimum=1)
    check_choice(method, "method", METHODS)
    seeds = [member_seed(check_int(seed, "seed", minimum=0), i) for i in range(n_models)]
    members = [init_member(model_factory, s) for s in seeds]
    _check_same_architecture(members)
    task = resolve_task(task, members[0], X, y)
    s = resolve_settings(
        members[0], epochs=epochs, lr=lr, batch_size=batch_size, patience=patience,
        window=window, weight_decay=weight_decay, activity_l2=activity_l2, seed=seed,
        lr_schedule=lr_schedule,
        optimizer=optimizer,
    )
    s.update(task=task, val_fraction=val_fraction, restore_best=check_bool(restore_best, "restore_best"))
    data = prepare_training_data(members[0], X, y, task, s["window"])
    chosen, reason = _choose_method(method, members[0])
    if reason is not None and chosen == "loop":
        warnings.warn(f"train_ensemble falls back to a loop: {reason}.", RuntimeWarning,
                      stacklevel=2)
    t0 = time.perf_counter()
    if chosen == "loop":
        result = _train_loop(members, seeds, data, s, progress, callback)
    else:
        engine_cls = _WideEngine if chosen == "wide" else _VmapEngine
        workers = torch.get_num_threads() if n_workers is None else check_int(
            n_workers, "n_workers", minimum=1
        )
        result = _train_vectorized(engine_cls, members, seeds, data, s, progress, workers,
                                   callback)
    result.method, result.reason, result.seeds = chosen, reason, seeds
    result.seconds = time.perf_counter() - t0
    return result


def _train_loop(
    members: list[nn.Module], seeds: list[int], data: TrainingData, s: dict[str, Any],
    progress: bool, callback: Callable[[float], None] | None = None,
) -> EnsembleResult:
    from tqdm.auto import tqdm

    result = EnsembleResult()
    result.histories, result.interrupted = [], False
    try:
        for model, sd in tqdm(list(zip(members, seeds, strict=True)), desc="ensemble (loop)",
                              disable=not progress, leave=False):
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message="fit interrupted")
                hist = fit(
                    model, data.X, data.y, task=s["task"], epochs=s["epochs"], lr=s["lr"],
                    batch_size=s["batch_size"], val_fraction=s["val_fraction"],
                    patience=s["patience"], weight_decay=s["weight_decay"],
                    activity_l2=s["activity_l2"], lr_schedule=s["lr_schedule"], optimizer=s["optimizer"], seed=sd,
                    restore_best=s["restore_best"],
                    window=s["window"], progress=False,
                )
            if hist.interrupted:  # Ctrl-C inside fit: this member is incomplete
                raise KeyboardInterrupt
            result.append(model)
            result.histories.append(hist)
            if callback is not None:
                callback(len(result) / len(members))
    except KeyboardInterrupt:
        result.interrupted = True
        warnings.warn(
            f"train_ensemble interrupted: returning the {len(result)} member(s) completed.",
            RuntimeWarning, stacklevel=3,
        )
    return result


def _train_vectorized(
    engine_cls: type[_WideEngine] | type[_VmapEngine],
    members: list[nn.Module],
    seeds: list[int],
    data: TrainingData,
    s: dict[str, Any],
    progress: bool,
    n_workers: int,
    callback: Callable[[float], None] | None = None,
) -> EnsembleResult:
    """Split the members into ``n_workers`` groups, each trained vectorized in its own thread.

    Each group runs with one intra-op thread: the members are independent, so the groups never
    wait for one another, and large grouped operations on one core each use the cores better
    than small operations spread over all of them.
    """
    from tqdm.auto import tqdm

    tune_allocator()
    m = len(members)
    n_groups = max(1, min(n_workers, m))
    bounds = np.linspace(0, m, n_groups + 1).round().astype(int)
    groups = [list(range(a, b)) for a, b in zip(bounds[:-1], bounds[1:], strict=True) if b > a]
    label = "wide" if engine_cls is _WideEngine else "vmap"
    bar = tqdm(total=s["epochs"] * len(groups), desc=f"ensemble x{m} ({label})",
               disable=not progress, leave=False)
    stop = threading.Event()
    outcomes: list[tuple[list[nn.Module], list[TrainingHistory], bool]] = []
    t_start = time.perf_counter()

    def run(group: list[int], single_thread: bool) -> tuple[list[nn.Module], list[TrainingHistory], bool]:
        if single_thread:
            torch.set_num_threads(1)
        return _train_group(
            engine_cls, [members[i] for i in group], [seeds[i] for i in group], data, s, bar, stop,
            callback,
        )

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(s["seed"])
        try:
            if len(groups) == 1:
                outcomes.append(run(groups[0], False))
            else:
                previous = torch.get_num_threads()
                torch.set_num_threads(1)
                try:
                    with ThreadPoolExecutor(len(groups)) as pool:
                        futures = [pool.submit(run, g, True) for g in groups]
                        try:
                            while not all(f.done() for f in futures):
                                wait_futures(futures, timeout=0.25)
                        except KeyboardInterrupt:
                            stop.set()
                        outcomes = [f.result() for f in futures]
                finally:
                    torch.set_num_threads(previous)
        finally:
            bar.close()
    seconds = time.perf_counter() - t_start
    result = EnsembleResult()
    result.histories = []
    result.interrupted = any(o[2] for o in outcomes)
    for trained, histories, _ in outcomes:
        for model, hist in zip(trained, histories, strict=True):
            model.eval()
            hist.interrupted = result.interrupted
            hist.seconds = seconds
            result.append(model)
            result.histories.append(hist)
    if result.interrupted:
        warnings.warn(
            f"train_ensemble interrupted after {min(h.epochs_run for h in result.histories)} "
            f"epoch(s): every member keeps the best (or last) weights reached.",
            RuntimeWarning, stacklevel=3,
        )
    return result


def _train_group(
    engine_cls: type[_WideEngine] | type[_VmapEngine],
    members: list[nn.Module],
    seeds: list[int],
    data: TrainingData,
    s: dict[str, Any],
    bar: Any,
    stop: threading.Event,
    callback: Callable[[float], None] | None = None,
) -> tuple[list[nn.Module], list[TrainingHistory], bool]:
    """Train one group of members as one vectorized model; returns (members, histories, interrupted)."""
    m = len(members)
    task = s["task"]
    masked = task == "regression" and not bool(torch.isfinite(data.y).all())
    plans = [split_plan(data.X.shape[0], s["val_fraction"], sd) for sd in seeds]
    val_idx = torch.stack([p.val_idx for p in plans])  # (M, n_val)
    n_val = val_idx.shape[1]
    histories = [TrainingHistory(settings={**s, "seed": sd}) for sd in seeds]
    engine = engine_cls(members, task, s, masked)
    scheduler = make_scheduler(engine.opt, s["lr_schedule"], s["epochs"])
    live = engine.state()
    keep: dict[str, torch.Tensor] | None = None
    best = torch.full((m,), float("inf"))
    wait = torch.zeros(m, dtype=torch.long)
    active = torch.ones(m, dtype=torch.bool)
    interrupted = False
    try:
        for epoch in range(s["epochs"]):
            orders = torch.stack([p.epoch_order() for p in plans])  # (M, n_train)
            total = torch.zeros(m)
            count = 0
            for cols in batches(torch.arange(orders.shape[1]), s["batch_size"]):
                if stop.is_set():
                    raise KeyboardInterrupt
                idx = orders[:, cols]
                loss = engine.step(data.X[idx], data.y[idx])
                total += loss * cols.numel()
                count += cols.numel()
                if callback is not None:
                    callback((epoch + count / orders.shape[1]) / s["epochs"])
            train_loss = (total / count).tolist()
            if scheduler is not None:
                scheduler.step()
            for i in range(m):
                if active[i]:
                    histories[i].train_loss.append(train_loss[i])
            postfix = {"loss": f"{sum(train_loss) / m:.4g}"}
            if n_val:
                vloss, vacc = _validate(engine, data, val_idx, task)
                improved = active & (vloss < best)
                best = torch.where(improved, vloss, best)
                wait = torch.where(improved, 0, wait + 1)
                take = improved if s["restore_best"] else active
                keep = _snapshot(live, keep, take, m)
                for i in torch.nonzero(active).flatten().tolist():
                    histories[i].val_loss.append(float(vloss[i]))
                    if vacc is not None:
                        histories[i].val_accuracy.append(float(vacc[i]))
                    if improved[i]:
                        histories[i].best_epoch = epoch
                if s["patience"] is not None:
                    stopping = active & (wait >= s["patience"])
                    for i in torch.nonzero(stopping).flatten().tolist():
                        histories[i].stopped_early = epoch + 1 < s["epochs"]
                    active &= ~stopping
                postfix["val"] = f"{float(vloss.mean()):.4g}"
            bar.update(1)
            bar.set_postfix(postfix, refresh=False)
            if not bool(active.any()):
                break
    except KeyboardInterrupt:
        interrupted = True
        stop.set()
    if keep is not None:
        with torch.no_grad():
            for k, v in live.items():
                v.copy_(keep[k])
    return engine.finish(), histories, interrupted


def _validate(
    engine: _WideEngine | _VmapEngine, data: TrainingData, val_idx: torch.Tensor, task: str
) -> tuple[torch.Tensor, torch.Tensor | None]:
    m, n_val = val_idx.shape
    total = torch.zeros(m)
    hits = torch.zeros(m)
    for start in range(0, n_val, _EVAL_CHUNK):
        idx = val_idx[:, start : start + _EVAL_CHUNK]
        out = engine.outputs(data.X[idx])
        yb = data.y[idx]
        total += task_loss(out, yb, task, 1) * idx.shape[1]
        if task != "regression":
            hits += correct_count(out, yb, task, 1).to(hits.dtype)
    return total / n_val, (hits / n_val if task != "regression" else None)


def _snapshot(
    live: dict[str, torch.Tensor],
    keep: dict[str, torch.Tensor] | None,
    take: torch.Tensor,
    m: int,
) -> dict[str, torch.Tensor]:
    """Copy the members selected by ``take`` from the live state into the kept state."""
    if keep is None:
        return {k: v.detach().clone() for k, v in live.items()}
    if bool(take.any()):
        with torch.no_grad():
            for k, v in live.items():
                keep[k].view(m, -1)[take] = v.detach().reshape(m, -1)[take]
    return keep
