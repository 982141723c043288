"""The batched, chunked gradient engine shared by every method.

A method expands each sample into ``R`` rows (noise samples, integration points), the engine
differentiates the selected output of every row with respect to that row, averages over the
models (AGRA), and hands each sample's ``R`` gradients back to the method to reduce. Rows are
processed in chunks sized by one memory budget (see ``_memory``); results do not depend on it.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn
from tqdm.auto import tqdm

from tsexplain.attribution._memory import chunk_rows
from tsexplain.attribution._targets import Selection, flatten_output

MakeRows = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
Reduce = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]

#: Above this many rows in one call, a progress bar is shown (unless progress=False).
PROGRESS_MIN_ROWS = 20_000


def row_gradient(model: nn.Module, rows: torch.Tensor, sel: Selection) -> torch.Tensor:
    """Gradient of each row's selected output with respect to that row.

    Parameters
    ----------
    model : torch.nn.Module
        A model whose rows do not interact (eval mode).
    rows : torch.Tensor of shape (R, C, T)
    sel : Selection
        Per-row selection (mode "single", "index" or "all").

    Returns
    -------
    torch.Tensor of shape (R, C, T), or (R, K, C, T) for mode "all".
    """
    rows = rows.detach().requires_grad_(True)
    with torch.enable_grad():
        out = flatten_output(model(rows), rows.shape[0])
        if sel.mode == "single":
            (g,) = torch.autograd.grad(out[:, 0].sum(), rows)
            return g
        if sel.mode == "index":
            assert sel.index is not None
            (g,) = torch.autograd.grad(out.gather(1, sel.index[:, None]).sum(), rows)
            return g
        k = out.shape[1]
        eye = torch.eye(k, dtype=out.dtype, device=out.device)
        cotangents = eye[:, None, :].expand(k, rows.shape[0], k)
        try:
            (g,) = torch.autograd.grad(out, rows, cotangents, is_grads_batched=True)
        except RuntimeError:  # an op without a batching rule: one backward per output
            g = torch.stack(
                [torch.autograd.grad(out[:, j].sum(), rows, retain_graph=True)[0] for j in range(k)]
            )
        return g.movedim(0, 1)


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
    """

    def __init__(
        self,
        models: list[nn.Module],
        probe: torch.Tensor,
        budget: int,
        progress: bool | None,
        desc: str,
    ) -> None:
        self.models = models
        self.budget = budget
        self.progress = progress
        self.desc = desc
        self._probe = probe
        self._chunks: dict[int, int] = {}

    def chunk(self, n_outputs: int = 1) -> int:
        """Rows per chunk when ``n_outputs`` outputs are differentiated at once."""
        if n_outputs not in self._chunks:
            self._chunks[n_outputs] = chunk_rows(self.models, self._probe, self.budget, n_outputs)
        return self._chunks[n_outputs]

    def outputs(self, x: torch.Tensor) -> torch.Tensor:
        """Model outputs of shape (N, K) on ``x`` (N, C, T), averaged over the models."""
        step = self.chunk()
        total: torch.Tensor | None = None
        with torch.no_grad():
            for model in self.models:
                parts = [
                    flatten_output(model(x[i : i + step]), min(step, x.shape[0] - i))
                    for i in range(0, x.shape[0], step)
                ]
                out = torch.cat(parts)
                total = out if total is None else total + out
        assert total is not None
        return total / len(self.models)

    def gradients(self, rows: torch.Tensor, sel: Selection) -> torch.Tensor:
        """Model-averaged gradients of ``rows`` (R, C, T) in chunks: (R, C, T) or (R, K, C, T)."""
        step = self.chunk(sel.n_outputs if sel.mode == "all" else 1)
        parts = []
        for i in range(0, rows.shape[0], step):
            part = rows[i : i + step]
            psel = sel.for_samples(torch.arange(i, i + part.shape[0]))
            g = row_gradient(self.models[0], part, psel)
            for model in self.models[1:]:
                g += row_gradient(model, part, psel)
            if len(self.models) > 1:
                g /= len(self.models)
            parts.append(g)
        return torch.cat(parts) if len(parts) > 1 else parts[0]

    def map_samples(
        self,
        x: torch.Tensor,
        sel: Selection,
        rows_per_sample: int,
        make_rows: MakeRows,
        reduce: Reduce,
    ) -> torch.Tensor:
        """Expand, differentiate and reduce every sample of ``x`` (N, C, T).

        ``make_rows(xs, idx)`` turns samples ``xs`` (n, C, T) with global indices ``idx`` (n,)
        into ``n * rows_per_sample`` rows, sample-major; ``reduce(grads, xs, idx)`` turns their
        gradients into ``n`` attributions.
        """
        n = x.shape[0]
        step = self.chunk(sel.n_outputs if sel.mode == "all" else 1)
        per_chunk = max(1, step // rows_per_sample)
        total_rows = n * rows_per_sample * len(self.models)
        disable = (not self.progress) if self.progress is not None else total_rows < PROGRESS_MIN_ROWS
        results = []
        with tqdm(total=n, desc=self.desc, unit="series", disable=disable, leave=False) as bar:
            for start in range(0, n, per_chunk):
                idx = torch.arange(start, min(n, start + per_chunk))
                xs = x[idx]
                rows = make_rows(xs, idx)
                grads = self.gradients(rows, sel.for_samples(idx).repeat(rows_per_sample))
                results.append(reduce(grads, xs, idx))
                bar.update(len(idx))
        return torch.cat(results) if len(results) > 1 else results[0]
