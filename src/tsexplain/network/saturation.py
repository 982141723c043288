"""Saturated predictions (TSViz Proposition 1) and the temperature remedy (TSViz Eq. 19)."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any, Literal

import torch
from torch import nn

from tsexplain._saturation import SATURATION_TOL, final_activation, saturated
from tsexplain._typing import SeriesBatch
from tsexplain._validation import check_choice, check_float, check_model, check_series_batch
from tsexplain.exceptions import SaturationWarning
from tsexplain.network._hooks import frozen_eval
from tsexplain.network._model_inputs import series_alone
from tsexplain.network._output import as_2d


@dataclass
class SaturationReport:
    """Where the probability output is saturated.

    Attributes
    ----------
    probability : torch.Tensor of shape (N,)
        Top-class probability (binary: probability of the predicted class).
    saturated : torch.Tensor of shape (N,), bool
        ``probability > 1 - tol``: the output gradient ``p (1 - p)`` is below ~``tol``, so
        filter importance and saliency of these samples are (numerically) zero.
    fraction : float
        Share of saturated samples.
    activation : {"sigmoid", "softmax"}
    suggested_temperature : float or None
        Smallest tried temperature (1.5, 2, 3, 5, 10, ...) that brings every sample below
        ``1 - tol``; ``None`` if nothing is saturated.

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> from tsexplain.network import detect_saturation
    >>> _ = torch.manual_seed(0)
    >>> net = nn.Sequential(nn.Conv1d(2, 4, 3, padding=1), nn.ReLU(),
    ...                     nn.Conv1d(4, 3, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(48, 1))
    >>> x = torch.randn(3, 2, 16)
    >>> report = detect_saturation(net, x, warn=False)  # returns a SaturationReport
    >>> report.activation, report.fraction, tuple(report.probability.shape)
    ('sigmoid', 0.0, (3,))
    >>> print(report)
    no saturated predictions
    """

    probability: torch.Tensor
    saturated: torch.Tensor
    fraction: float
    activation: str
    suggested_temperature: float | None

    def __str__(self) -> str:
        if not bool(self.saturated.any()):
            return "no saturated predictions"
        return (
            f"{self.fraction:.1%} of predictions are saturated ({self.activation} output > 1 - tol): "
            f"gradients vanish there (TSViz Proposition 1). Explain the logits, or use "
            f"temperature={self.suggested_temperature} (with_temperature)."
        )


class _LogitCapture:
    def __init__(self) -> None:
        self.logits: torch.Tensor | None = None

    def __call__(self, module: nn.Module, inp: Any) -> None:
        self.logits = inp[0]


def _final_activation(model: nn.Module) -> nn.Module | None:
    return final_activation(model)


def _activation_name(final: nn.Module) -> str:
    if isinstance(final, nn.Sigmoid):
        return "sigmoid"
    return "softmin" if isinstance(final, nn.Softmin) else "softmax"


def _probabilities(out: torch.Tensor, activation: str, temperature: float) -> torch.Tensor:
    z = as_2d(out) / temperature
    if activation == "sigmoid":
        p = torch.sigmoid(z[:, 0])
        return torch.maximum(p, 1 - p)
    return torch.softmax(-z if activation == "softmin" else z, dim=1).amax(dim=1)


@series_alone
def detect_saturation(
    model: nn.Module,
    x: SeriesBatch,
    *,
    activation: Literal["auto", "sigmoid", "softmax"] = "auto",
    tol: float = SATURATION_TOL,
    warn: bool = True,
) -> SaturationReport:
    """Find predictions whose probability is saturated at 0 or 1 (TSViz Proposition 1).

    The derivative of a sigmoid is ``p (1 - p)`` and that of a softmax ``p_i (delta_ij - p_j)``:
    at ``p`` near 0 or 1 every gradient through the output vanishes, and so do filter importance
    and saliency. The check works on the logits: if the model ends in ``nn.Sigmoid`` /
    ``nn.Softmax`` their input is read with a hook, otherwise the model's output is taken as
    logits and ``activation`` says which function would make them probabilities.

    Parameters
    ----------
    model : torch.nn.Module
    x : array of shape (N, C, T)
    activation : {"auto", "sigmoid", "softmax"}
        "auto": the model's final Sigmoid/Softmax if it has one, else sigmoid for one output and
        softmax for several.
    tol : float
        A sample is saturated when its top probability exceeds ``1 - tol``.
    warn : bool
        Emit a :class:`~tsexplain.exceptions.SaturationWarning` when any sample is saturated.

    Returns
    -------
    SaturationReport

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> from tsexplain.network import detect_saturation, with_temperature
    >>> _ = torch.manual_seed(0)
    >>> net = nn.Sequential(nn.Conv1d(2, 4, 3, padding=1), nn.ReLU(),
    ...                     nn.Conv1d(4, 3, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(48, 1))
    >>> x = torch.randn(3, 2, 16)
    >>> report = detect_saturation(net, 300 * x, warn=False)  # large inputs, large logits
    >>> report.saturated.tolist(), report.suggested_temperature
    ([False, False, True], 2.0)
    >>> detect_saturation(with_temperature(net, 2.0), 300 * x, warn=False).fraction
    0.0
    """
    model = check_model(model)
    xt = check_series_batch(x, "x")
    check_choice(activation, "activation", ("auto", "sigmoid", "softmax"))
    act: str = activation  # the resolved activation name
    tol = check_float(tol, "tol", minimum=0.0, strict=True)
    base_t = 1.0
    while isinstance(model, TemperatureScaled):  # judge the logits at the wrapper's temperature
        base_t *= model.temperature
        if act == "auto" and model.activation != "auto":
            act = model.activation
        model = model.model
    final = _final_activation(model)
    cap = _LogitCapture()
    handle = final.register_forward_pre_hook(cap) if final is not None else None
    try:
        with frozen_eval(model), torch.no_grad():
            out = model(xt)
    finally:
        if handle is not None:
            handle.remove()
    logits = cap.logits if cap.logits is not None else out
    if act == "auto":
        if final is not None:
            act = _activation_name(final)
        else:
            act = "sigmoid" if as_2d(logits).shape[1] == 1 else "softmax"
    p = _probabilities(logits, act, base_t)
    sat = saturated(p, tol)
    suggestion = None
    if bool(sat.any()):
        for t in (1.5, 2.0, 3.0, 5.0, 10.0, 20.0, 50.0, 100.0):
            if t > base_t and not bool(saturated(_probabilities(logits, act, t), tol).any()):
                suggestion = t
                break
        else:
            suggestion = 100.0
    report = SaturationReport(p, sat, float(sat.double().mean()), act, suggestion)
    if warn and bool(sat.any()):
        warnings.warn(str(report), SaturationWarning, stacklevel=2)
    return report


class TemperatureScaled(nn.Module):
    """``model`` with its sigmoid/softmax output softened by a temperature: ``act(z / T)`` (TSViz Eq. 19).

    If ``model`` ends in ``nn.Sigmoid``/``nn.Softmax``, the logits entering it are divided by
    ``T`` through a hook that exists only during this wrapper's forward; otherwise the model's
    output is taken as logits and ``activation`` is applied to ``z / T``. The wrapped model is
    shared, not copied, and never changed.

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> from tsexplain.network import with_temperature
    >>> _ = torch.manual_seed(0)
    >>> net = nn.Sequential(nn.Conv1d(2, 4, 3, padding=1), nn.ReLU(),
    ...                     nn.Conv1d(4, 3, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(48, 1))
    >>> x = torch.randn(3, 2, 16)
    >>> from tsexplain.network.saturation import TemperatureScaled
    >>> scaled = TemperatureScaled(nn.Sequential(net, nn.Sigmoid()), 2.0)  # divides the Sigmoid's input
    >>> torch.allclose(scaled(x), torch.sigmoid(net(x) / 2)), scaled.model[0] is net
    (True, True)
    """

    def __init__(self, model: nn.Module, temperature: float, activation: str = "auto") -> None:
        super().__init__()
        self.model = model
        self.temperature = float(temperature)
        self.activation = activation

    def forward(self, x: torch.Tensor, *additional: torch.Tensor) -> torch.Tensor:
        """``act(z / T)`` for ``z`` the logits of ``model(x, *additional)``: a model's further
        inputs (``forward(x, static)``) are passed on as given."""
        final = _final_activation(self.model)
        if final is not None:
            t = self.temperature
            handle = final.register_forward_pre_hook(lambda m, inp: (inp[0] / t, *inp[1:]))
            try:
                return self.model(x, *additional)
            finally:
                handle.remove()
        z = self.model(x, *additional)
        act = self.activation
        if act == "auto":
            act = "sigmoid" if as_2d(z).shape[1] == 1 else "softmax"
        if act == "sigmoid":
            return torch.sigmoid(z / self.temperature)
        return torch.softmax(as_2d(z) / self.temperature, dim=1)


def with_temperature(
    model: nn.Module, temperature: float, *, activation: Literal["auto", "sigmoid", "softmax"] = "auto"
) -> nn.Module:
    """Wrap ``model`` so its probabilities are computed at ``temperature`` (T > 1 softens them).

    Use the wrapper in :func:`filter_importance` or :func:`filter_saliency` on saturated
    samples; keep T close to 1, as TSViz advises, since T also rescales the gradients.
    A model whose forward takes further inputs (``forward(x, static)``) keeps them: call the
    wrapper as ``wrapper(x, static)``, or give them to the attribution methods and faithfulness
    curves as ``additional_inputs=``. (The network analyses call a model with the series alone:
    for them, fix the further inputs in a module of your own first, see
    :class:`~tsexplain.exceptions.ModelInputsError`'s message.)

    Returns
    -------
    TemperatureScaled
        Outputs probabilities (sigmoid: shape (N,) or (N, 1) as the logits; softmax: (N, K)).

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> from tsexplain.network import with_temperature
    >>> _ = torch.manual_seed(0)
    >>> net = nn.Sequential(nn.Conv1d(2, 4, 3, padding=1), nn.ReLU(),
    ...                     nn.Conv1d(4, 3, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(48, 1))
    >>> x = torch.randn(3, 2, 16)
    >>> soft = with_temperature(net, 2.0)  # net has one logit z: sigmoid(z / 2)
    >>> p = soft(x)
    >>> tuple(p.shape), torch.allclose(p, torch.sigmoid(net(x) / 2))
    ((3, 1), True)
    """
    model = check_model(model)
    temperature = check_float(temperature, "temperature", minimum=0.0, strict=True)
    check_choice(activation, "activation", ("auto", "sigmoid", "softmax"))
    return TemperatureScaled(model, temperature, activation)


__all__ = ["SaturationReport", "TemperatureScaled", "detect_saturation", "with_temperature"]
