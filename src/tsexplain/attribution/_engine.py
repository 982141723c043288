"""The batched, chunked gradient engine shared by every method.

A method expands each sample into ``R`` rows (noise samples, integration points), the engine
differentiates the selected output of every row with respect to that row, averages over the
models (AGRA), and hands each sample's ``R`` gradients back to the method to reduce. Rows are
processed in chunks: the memory budget bounds a chunk's rows (see ``_memory``), and within that
bound :class:`ChunkTuner` times a few sizes on the call's first rows and keeps the fastest, or
every chunk holds a fixed number of rows (the engine option ``rows_per_chunk``). Results do not
depend on the chunk size up to float rounding; with a fixed size they are the same to the last bit
in every process.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import torch
from torch import nn
from tqdm.auto import tqdm

from tsexplain._targets import (
    Selection,
    check_target_length,
    flatten_output,
    resolve_target,
    select_outputs,
    slice_target,
)
from tsexplain._typing import Target
from tsexplain.attribution._memory import chunk_plan
from tsexplain.exceptions import ParameterError

MakeRows = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
Reduce = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]
#: ``(extras of series idx, idx) -> extras of their rows``.
MakeAdditional = Callable[[tuple[torch.Tensor, ...], torch.Tensor], tuple[torch.Tensor, ...]]
#: ``(gradients of the rows' extras, extras of series idx, idx) -> per-series attributions``.
ReduceAdditional = Callable[
    [tuple[torch.Tensor | None, ...], tuple[torch.Tensor, ...], torch.Tensor],
    tuple[torch.Tensor | None, ...],
]

#: Above this many rows in one call, a progress bar is shown (unless progress=False).
PROGRESS_MIN_ROWS = 20_000


def series_bar(n: int, desc: str, progress: bool | None, rows: int) -> tqdm[Any]:
    """The progress bar over the ``n`` series of a call that runs ``rows`` rows.

    Shown when ``progress`` is True, or when it is None and ``rows`` >= :data:`PROGRESS_MIN_ROWS`.
    """
    show = progress if progress is not None else rows >= PROGRESS_MIN_ROWS
    return tqdm(total=n, desc=desc, unit="series", disable=not show, leave=False)


#: Chunk sizes (rows) timed by :class:`ChunkTuner`, smallest first, up to the budget's bound.
TUNE_SIZES = (16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192)
#: A call differentiates at least this many rows before sizes are timed on it.
TUNE_MIN_ROWS = 1024
#: Chunks timed at the first size; the fastest counts (a process's first chunks run cold:
#: thread pools, kernels and memory are set up on them, which made the first size look slow).
#: Later sizes are timed once, so that a call reaches the large sizes (recurrent models are
#: fastest per row at the largest).
TIMINGS_FIRST_SIZE = 2
#: The fastest size found per model structure, input shape, outputs, device and thread count.
_TUNED: dict[tuple[object, ...], int] = {}
#: The engines created inside :func:`watch_engines` (None outside).
_watching: ContextVar[list[Engine] | None] = ContextVar("_watching", default=None)


def _structure_key(models: list[nn.Module], row: torch.Tensor, n_outputs: int, most: int) -> tuple[object, ...]:
    """What the fastest chunk size depends on: layer types and shapes, input, outputs, threads."""
    layers = tuple(
        (type(m).__qualname__, tuple(tuple(p.shape) for p in m._parameters.values() if p is not None))
        for model in models
        for m in model.modules()
    )
    return (layers, tuple(row.shape[1:]), str(row.device), n_outputs, most, torch.get_num_threads())


class ChunkTuner:
    """Chunk sizes for one call: the fastest measured size within the budget's bound.

    On the CPU, a batch of at least :data:`TUNE_MIN_ROWS` rows (or half the most the budget allows)
    runs its first chunks at the
    sizes of :data:`TUNE_SIZES` (ascending, up to ``most``), the first on
    :data:`TIMINGS_FIRST_SIZE` chunks of which the fastest counts, and times them (a size that
    does not fit in what is left of one batch is timed on the next); after two sizes in a row that are
    slower per row than the best, at ``most``, or at the end of the call, the best is used for
    the rest of the call and remembered for later calls on the same model structure and input
    shape.
    The timed chunks are real work: nothing is computed twice. Chunks are timed in processor
    time of the process (``time.process_time``), which other programs running on the
    machine disturb less than wall-clock time. Elsewhere (CUDA), and until
    sizes are timed, chunks hold ``default`` rows.

    With ``fixed`` rows, on every device, every chunk (and :attr:`most`, :attr:`default`,
    :attr:`best`) is ``min(fixed, most)`` rows: nothing is timed, and the process's remembered
    sizes are neither read nor written.

    Parameters
    ----------
    most : int
        Rows the memory budget allows in one chunk.
    default : int
        Rows per chunk before (or without) timing.
    key : tuple
        Cache key of the fastest size (:func:`_structure_key`).
    timed : bool
        Whether to time sizes (the CPU).
    fixed : int, optional
        Rows per chunk chosen by the caller (the engine option ``rows_per_chunk``).
    """

    def __init__(
        self, most: int, default: int, key: tuple[object, ...], timed: bool, fixed: int | None = None
    ) -> None:
        self.most = max(1, most if fixed is None else min(fixed, most))
        self.default = max(1, min(default, self.most)) if fixed is None else self.most
        self.key = key
        self.best: int | None = _TUNED.get(key) if fixed is None else self.most
        sizes = [s for s in TUNE_SIZES if s < self.most] + [self.most]
        self._sizes = sizes if timed and self.best is None and len(sizes) > 1 else []
        self._per_row: dict[int, float] = {}
        #: Per-row times of the first size so far (fewer than TIMINGS_FIRST_SIZE).
        self._timings: list[float] = []
        self._worse = 0
        #: Whether :meth:`size` has handed out a size to time (only such chunks are timings).
        self._started = False

    @property
    def settled(self) -> int:
        """Rows per chunk this tuner settled on: the fastest size timed (or remembered for the
        model, or fixed), else, when nothing was timed (too few rows, CUDA), :attr:`default`."""
        return self.best if self.best is not None else self.default

    @property
    def tuning(self) -> bool:
        """Whether sizes are still being timed."""
        return bool(self._sizes) and self.best is None

    def clock(self) -> float:
        """Processor time of the process while sizes are timed, else 0.0 (nothing is timed,
        and reading the process clock is a system call)."""
        return time.process_time() if self.tuning else 0.0

    def size(self, remaining: int) -> int:
        """Rows of the next chunk, ``remaining`` rows of the current batch being left."""
        if self.best is not None:
            return self.best
        if (self._per_row or self._timings) and self._sizes[0] > remaining:
            # the next size does not fit in what is left of this batch: run the rest untimed; a
            # later batch of the call may time it (:meth:`Engine.finish` settles the call)
            return remaining
        if self._sizes and (self._started or remaining >= min(TUNE_MIN_ROWS, self.most // 2)):
            self._started = True
            return min(self._sizes[0], remaining)
        return self.default

    def record(self, rows: int, seconds: float) -> None:
        """Report that a chunk of ``rows`` rows took ``seconds`` (ignored unless timing; a chunk
        run at the default before timing started is not a timing, whatever its rows)."""
        if not self.tuning or not self._started or rows != self._sizes[0]:
            return
        self._timings.append(seconds / rows)
        if not self._per_row and len(self._timings) < TIMINGS_FIRST_SIZE:
            return
        self._settle_size()
        if self._worse >= 2 or not self._sizes:
            self._finish()

    def _settle_size(self) -> None:
        """The size being timed gets its fastest per-row time."""
        size = self._sizes.pop(0)
        per_row = min(self._timings)
        self._timings = []
        fastest = min(self._per_row.values(), default=float("inf"))
        self._per_row[size] = per_row
        self._worse = self._worse + 1 if per_row > fastest else 0

    def finish(self) -> None:
        """End the timing at the end of a call: keep the fastest size measured so far (a size
        timed on fewer chunks than :data:`TIMINGS_FIRST_SIZE` counts with what it has)."""
        if not self.tuning:
            return
        if self._timings:
            self._settle_size()
        if self._per_row:
            self._finish()

    def _finish(self) -> None:
        self.best = min(self._per_row, key=self._per_row.__getitem__)
        _TUNED[self.key] = self.best
        self._sizes = []


def row_gradient(
    model: nn.Module, rows: torch.Tensor, sel: Selection, extras: tuple[torch.Tensor, ...] = ()
) -> torch.Tensor:
    """Gradient of each row's selected output with respect to that row.

    Parameters
    ----------
    model : torch.nn.Module
        A model whose rows do not interact (eval mode), called as ``model(rows, *extras)``.
    rows : torch.Tensor of shape (R, C, T)
    sel : Selection
        Per-row selection (mode "single", "index" or "all").
    extras : tuple of torch.Tensor, each with R rows
        Additional model inputs, one row per row of ``rows``.

    Returns
    -------
    torch.Tensor of shape (R, C, T), or (R, K, C, T) for mode "all".
    """
    return row_gradients(model, rows, sel, extras, wrt_extras=False)[0]


def row_gradients(
    model: nn.Module,
    rows: torch.Tensor,
    sel: Selection,
    extras: tuple[torch.Tensor, ...] = (),
    wrt_extras: bool = False,
) -> tuple[torch.Tensor, tuple[torch.Tensor | None, ...]]:
    """:func:`row_gradient`, and with ``wrt_extras`` the gradients of the floating extras too.

    Returns ``(g, extra_grads)``: ``extra_grads[i]`` has the shape of ``extras[i]`` (with a K axis
    after the rows for mode "all"), or is None for a non-floating extra or without ``wrt_extras``.
    """
    rows = rows.detach().requires_grad_(True)
    wrt = [rows]
    extras_in = list(extras)
    grad_pos: list[int | None] = []
    for i, e in enumerate(extras):
        if wrt_extras and e.is_floating_point():
            extras_in[i] = e.detach().requires_grad_(True)
            grad_pos.append(len(wrt))
            wrt.append(extras_in[i])
        else:
            grad_pos.append(None)
    with torch.enable_grad():
        out = flatten_output(model(rows, *extras_in), rows.shape[0])
        # allow_unused=True: an input the output does not depend on gets None (torch's stub
        # says Tensor)
        grads: tuple[torch.Tensor | None, ...]
        if sel.mode in ("single", "index"):
            if sel.mode == "single":
                picked = out[:, 0].sum()
            else:
                assert sel.index is not None
                picked = out.gather(1, sel.index[:, None]).sum()
            grads = torch.autograd.grad(picked, wrt, allow_unused=True)
        else:
            k = out.shape[1]
            eye = torch.eye(k, dtype=out.dtype, device=out.device)
            cotangents = eye[:, None, :].expand(k, rows.shape[0], k)
            try:
                grads = torch.autograd.grad(out, wrt, cotangents, is_grads_batched=True, allow_unused=True)
            except RuntimeError:  # an op without a batching rule: one backward per output
                per_output = [
                    torch.autograd.grad(out[:, j].sum(), wrt, retain_graph=True, allow_unused=True)
                    for j in range(k)
                ]
                grads = tuple(
                    _join([p[i] for p in per_output], torch.stack) for i in range(len(wrt))
                )
            grads = tuple(None if g is None else g.movedim(0, 1) for g in grads)
    lead = (out.shape[1],) if sel.mode == "all" else ()
    filled = [
        g if g is not None else w.new_zeros(w.shape[0], *lead, *w.shape[1:])
        for g, w in zip(grads, wrt, strict=True)
    ]
    extra_grads = tuple(None if p is None else filled[p] for p in grad_pos)
    return filled[0], extra_grads


class Engine:
    """Chunked gradients of one or several models (averaged: AGRA) for one call.

    Parameters
    ----------
    models : list of torch.nn.Module
        Prepared models (eval mode, possibly BatchNorm-folded copies).
    probe : torch.Tensor of shape (1, C, T)
        One input row, used to measure activation sizes.
    budget : int
        Memory budget in bytes for one chunk's forward and backward.
    progress : bool or None
        Show a progress bar; None shows it for long runs only.
    desc : str
        Label of the progress bar.
    additional : tuple of torch.Tensor
        Additional model inputs, each with one row per series of the call's ``x`` (N, ...): the
        model is called as ``model(rows, *extras)`` with each row's extras (the engine repeats
        them with the rows, sample-major).
    attribute_additional : bool
        Also differentiate with respect to the floating extras; methods that support it leave
        their per-series attributions in :attr:`additional_values`.
    rows_per_chunk : int, optional
        Rows per chunk, fixed (at most what ``budget`` allows), for the gradient chunks and the
        forward-only passes alike; None: timed on the CPU (:class:`ChunkTuner`).
    """

    def __init__(
        self,
        models: list[nn.Module],
        probe: torch.Tensor,
        budget: int,
        progress: bool | None,
        desc: str,
        additional: tuple[torch.Tensor, ...] = (),
        attribute_additional: bool = False,
        rows_per_chunk: int | None = None,
    ) -> None:
        self.models = models
        self.budget = budget
        self.rows_per_chunk = rows_per_chunk
        self.progress = progress
        self.desc = desc
        self._probe = probe
        self._tuners: dict[int, ChunkTuner] = {}
        self.additional = tuple(additional)
        self.attribute_additional = bool(attribute_additional)
        #: Attributions of the additional inputs after :meth:`map_samples` (None: not floating).
        self.additional_values: tuple[torch.Tensor | None, ...] = ()
        #: Rows differentiated so far (every model counted once).
        self.rows_differentiated = 0
        watching = _watching.get()
        if watching is not None:
            watching.append(self)

    def tuner(self, n_outputs: int = 1) -> ChunkTuner:
        """The chunk sizes of this call when ``n_outputs`` outputs are differentiated at once."""
        if n_outputs not in self._tuners:
            extras = tuple(a[:1] for a in self.additional)
            most, default = chunk_plan(self.models, self._probe, self.budget, n_outputs, extras)
            key = _structure_key(self.models, self._probe, n_outputs, most)
            self._tuners[n_outputs] = ChunkTuner(most, default, key, timed=self._probe.device.type == "cpu",
                                                 fixed=self.rows_per_chunk)
        return self._tuners[n_outputs]

    def finish(self) -> None:
        """The call is over: tuners still timing keep (and remember) their fastest size."""
        for tuner in self._tuners.values():
            tuner.finish()

    def settled_rows(self) -> int | None:
        """Rows per chunk the call settled on (:attr:`ChunkTuner.settled`) for its gradient
        chunks (those of the most outputs differentiated at once); None when it planned no
        chunks. Read after :meth:`finish`."""
        return self._tuners[max(self._tuners)].settled if self._tuners else None

    def chunk(self, n_outputs: int = 1) -> int:
        """Most rows per chunk (the memory budget's bound, or ``rows_per_chunk`` when fixed and
        smaller) when ``n_outputs`` outputs are differentiated at once."""
        return self.tuner(n_outputs).most

    def extras_for(self, idx: torch.Tensor | None = None, rows_per_sample: int = 1) -> tuple[torch.Tensor, ...]:
        """The additional inputs of series ``idx`` (all when None), each repeated
        ``rows_per_sample`` times (sample-major, like the rows of :meth:`map_samples`)."""
        if not self.additional:
            return ()
        picked = self.additional if idx is None else tuple(a[idx] for a in self.additional)
        if rows_per_sample == 1:
            return picked
        return tuple(a.repeat_interleave(rows_per_sample, dim=0) for a in picked)

    def forward(self, model: nn.Module, rows: torch.Tensor, extras: tuple[torch.Tensor, ...] = ()) -> torch.Tensor:
        """``model(rows, *extras)`` as (R, K): the one way methods call a model.

        ``extras`` come from :meth:`extras_for` (empty for a single-input model).
        """
        return flatten_output(model(rows, *extras), rows.shape[0])

    def outputs(
        self,
        x: torch.Tensor,
        idx: torch.Tensor | None = None,
        rows_per_sample: int = 1,
        extras: tuple[torch.Tensor, ...] | None = None,
    ) -> torch.Tensor:
        """Model outputs of shape (R, K) on rows ``x`` (R, C, T), averaged over the models.

        With additional inputs, row ``r`` gets the extras of series ``idx[r // rows_per_sample]``
        (``idx`` None: all series of the call, in order), or ``extras`` (one row per row of
        ``x``) when given.
        """
        step = self.tuner().default
        if extras is None:
            extras = self.extras_for(idx, rows_per_sample)
        total: torch.Tensor | None = None
        with torch.no_grad():
            for model in self.models:
                parts = [
                    flatten_output(
                        model(x[i : i + step], *(e[i : i + step] for e in extras)),
                        min(step, x.shape[0] - i),
                    )
                    for i in range(0, x.shape[0], step)
                ]
                out = torch.cat(parts)
                total = out if total is None else total + out
        assert total is not None
        return total / len(self.models)

    def gradients(
        self, rows: torch.Tensor, sel: Selection, extras: tuple[torch.Tensor, ...] = ()
    ) -> torch.Tensor:
        """Model-averaged gradients of ``rows`` (R, C, T) in chunks: (R, C, T) or (R, K, C, T).

        ``extras``: the rows' additional inputs (each with R rows).
        """
        return self.gradients_and_extras(rows, sel, extras, wrt_extras=False)[0]

    def gradients_and_extras(
        self,
        rows: torch.Tensor,
        sel: Selection,
        extras: tuple[torch.Tensor, ...] = (),
        wrt_extras: bool = True,
    ) -> tuple[torch.Tensor, tuple[torch.Tensor | None, ...]]:
        """:meth:`gradients` and the gradients of the floating ``extras`` (None otherwise)."""
        tuner = self.tuner(sel.n_outputs if sel.mode == "all" else 1)
        parts = []
        extra_parts: list[tuple[torch.Tensor | None, ...]] = []
        i, n_rows = 0, rows.shape[0]
        while i < n_rows:
            step = tuner.size(n_rows - i)
            start = tuner.clock()
            part = rows[i : i + step]
            ex = tuple(e[i : i + step] for e in extras)
            psel = sel.for_samples(torch.arange(i, i + part.shape[0]))
            if not ex and not wrt_extras:
                g = row_gradient(self.models[0], part, psel)
                for model in self.models[1:]:
                    g += row_gradient(model, part, psel)
                eg: tuple[torch.Tensor | None, ...] = ()
            else:
                g, eg = row_gradients(self.models[0], part, psel, ex, wrt_extras)
                for model in self.models[1:]:
                    g2, eg2 = row_gradients(model, part, psel, ex, wrt_extras)
                    g += g2
                    eg = tuple(None if a is None or b is None else a + b for a, b in zip(eg, eg2, strict=True))
            if len(self.models) > 1:
                g /= len(self.models)
                eg = tuple(None if a is None else a / len(self.models) for a in eg)
            parts.append(g)
            extra_parts.append(eg)
            tuner.record(part.shape[0], tuner.clock() - start)
            self.rows_differentiated += part.shape[0]
            i += part.shape[0]
        grads = torch.cat(parts) if len(parts) > 1 else parts[0]
        return grads, _cat_extras(extra_parts)

    def gradients_with_outputs(
        self, x: torch.Tensor, target: Target
    ) -> tuple[torch.Tensor, torch.Tensor] | None:
        """Input gradients and model outputs of ``x`` (N, C, T) from one forward pass per chunk.

        Methods whose rows are the samples themselves (saliency, gradient x input) resolve the
        target on each chunk's outputs (``"predicted"`` is a per-sample argmax, so chunks resolve
        as the whole batch does) and differentiate the same forward pass, instead of a separate
        forward pass to resolve the target first.

        Returns
        -------
        (grads, outputs) : torch.Tensor of shape (N, C, T) and (N, K), or None
            None where the target needs every model's averaged output first (several models,
            additional inputs) or the method's rows differ from the samples (``target="all"``):
            the caller then resolves with :meth:`outputs` and uses :meth:`map_samples`.
        """
        if len(self.models) != 1 or self.additional or (isinstance(target, str) and target == "all"):
            return None
        check_target_length(target, x.shape[0])
        model = self.models[0]
        tuner = self.tuner(1)
        n = x.shape[0]
        grads, outs = [], []
        i = 0
        with series_bar(n, self.desc, self.progress, n) as bar:
            while i < n:
                step = tuner.size(n - i)
                start = tuner.clock()
                rows = x[i : i + step].detach().requires_grad_(True)
                with torch.enable_grad():
                    out = flatten_output(model(rows), rows.shape[0])
                    psel = resolve_target(slice_target(target, i, i + rows.shape[0]), out.detach())
                    (g,) = torch.autograd.grad(select_outputs(out, psel).sum(), [rows], allow_unused=True)
                grads.append(torch.zeros_like(rows) if g is None else g)
                outs.append(out.detach())
                tuner.record(rows.shape[0], tuner.clock() - start)
                self.rows_differentiated += rows.shape[0]
                bar.update(rows.shape[0])
                i += rows.shape[0]
        return torch.cat(grads), torch.cat(outs)

    def map_samples(
        self,
        x: torch.Tensor,
        sel: Selection,
        rows_per_sample: int,
        make_rows: MakeRows,
        reduce: Reduce,
        reduce_additional: ReduceAdditional | None = None,
        make_additional: MakeAdditional | None = None,
    ) -> torch.Tensor:
        """Expand, differentiate and reduce every sample of ``x`` (N, C, T).

        ``make_rows(xs, idx)`` turns samples ``xs`` (n, C, T) with global indices ``idx`` (n,)
        into ``n * rows_per_sample`` rows, sample-major; ``reduce(grads, xs, idx)`` turns their
        gradients into ``n`` attributions. With additional inputs, each row gets its series'
        extras (``make_additional(extras, idx)`` builds them instead when given, e.g. to move
        them along a path); with ``attribute_additional``, ``reduce_additional(extra_grads,
        extras, idx)`` reduces their gradients into :attr:`additional_values`.
        """
        if self.attribute_additional and reduce_additional is None:
            raise ParameterError(
                f"{self.desc} does not attribute additional inputs; use attribute_additional=False "
                f"or a gradient method that does (saliency, gradient_x_input, smoothgrad, "
                f"integrated_gradients)"
            )
        n = x.shape[0]
        tuner = self.tuner(sel.n_outputs if sel.mode == "all" else 1)
        total_rows = n * rows_per_sample * len(self.models)
        results = []
        extra_results: list[tuple[torch.Tensor | None, ...]] = []
        with series_bar(n, self.desc, self.progress, total_rows) as bar:
            start = 0
            while start < n:
                # whole samples per batch: up to the budget's bound while sizes are timed, then
                # as many as fill the fastest size (no small remainder chunk per batch)
                per_chunk = max(1, (tuner.best or tuner.most) // rows_per_sample)
                idx = torch.arange(start, min(n, start + per_chunk))
                start += len(idx)
                xs = x[idx]
                rows = make_rows(xs, idx)
                rsel = sel.for_samples(idx).repeat(rows_per_sample)
                if not self.additional:
                    grads = self.gradients(rows, rsel)
                else:
                    own = self.extras_for(idx)
                    ex = (make_additional(own, idx) if make_additional is not None
                          else self.extras_for(idx, rows_per_sample))
                    grads, eg = self.gradients_and_extras(rows, rsel, ex, self.attribute_additional)
                    if self.attribute_additional:
                        assert reduce_additional is not None
                        extra_results.append(reduce_additional(eg, own, idx))
                results.append(reduce(grads, xs, idx))
                bar.update(len(idx))
        if self.attribute_additional:
            self.additional_values = _cat_extras(extra_results)
        return torch.cat(results) if len(results) > 1 else results[0]


@contextmanager
def watch_engines() -> Iterator[list[Engine]]:
    """Collect the engines of the attribution calls made inside the ``with`` block (in order of
    creation), to read what they chose (:meth:`Engine.settled_rows`) after the calls."""
    engines: list[Engine] = []
    token = _watching.set(engines)
    try:
        yield engines
    finally:
        _watching.reset(token)


def model_mean(per_model: Sequence[torch.Tensor]) -> torch.Tensor:
    """The mean over the models' tensors (AGRA), all of one shape; for one model the tensor itself
    (no copy: a long recording's arrays are not duplicated)."""
    return per_model[0] if len(per_model) == 1 else torch.stack(list(per_model)).mean(dim=0)


def _join(
    column: Sequence[torch.Tensor | None],
    op: Callable[[list[torch.Tensor]], torch.Tensor],
) -> torch.Tensor | None:
    """``op`` (``torch.cat`` or ``torch.stack``) of the tensors of ``column``; None if any is None
    (an input without a gradient, or an extra that is not attributed)."""
    tensors = [t for t in column if t is not None]
    return op(tensors) if tensors and len(tensors) == len(column) else None


def _cat_extras(parts: list[tuple[torch.Tensor | None, ...]]) -> tuple[torch.Tensor | None, ...]:
    """Concatenate per-chunk tuples of extras (None stays None)."""
    if not parts or not parts[0]:
        return ()
    return tuple(_join([p[i] for p in parts], torch.cat) for i in range(len(parts[0])))
