"""Write and read explanation results as labelled arrays: one ``.npz`` per method + ``meta.json``.

Layout of a results folder (``tsexplain explain --out DIR``)::

    DIR/
      attributions_<method>.npz   values (sample, channel, time) or (sample, output, channel, time)
      inputs.npz                  x, y, predictions, channel_names, sample ids
      meta.json                   model, data, methods with parameters, target, faithfulness
      report.html                 standalone report (figures embedded)

Each ``attributions_<method>.npz`` is self-describing without tsexplain (``allow_pickle=False``):

``values``  float32 array; ``dims`` its dimension names; one coordinate array per dimension
(``sample``: the sample ids of the data file, ``output``, ``channel``: the channel names,
``time``: step indices); ``method``; ``params`` (JSON); ``target`` (output explained per sample,
-1 where not applicable); ``predictions`` (N, K); ``attrs`` (JSON: everything else, e.g.
``signed``, ``n_models``, ``seconds``, ``extras`` summaries). Array-valued extras are arrays of
their own, ``extra__<name>``; a list of arrays is ``extra__<name>__0``, ``extra__<name>__1``,
... (e.g. ``extra__additional__0``: the attribution of the model's first further input, shaped
like that input, when ``tsexplain explain --attribute-additional`` computed it).

With xarray installed, :func:`to_xarray` turns a file into an ``xarray.DataArray``.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from tsexplain.exceptions import DataFormatError

__all__ = ["SavedResults", "write_results", "read_results", "read_attribution", "to_xarray",
           "FORMAT"]

FORMAT = "tsexplain-results-1"


def _jsonable(v: Any) -> Any:
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_jsonable(x) for x in v]
    if isinstance(v, np.ndarray):
        return v.tolist() if v.size <= 64 else {"shape": list(v.shape), "mean": float(np.nanmean(v))}
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, float | int | str | bool) or v is None:
        return v
    try:
        import torch

        if isinstance(v, torch.Tensor):
            return _jsonable(v.detach().cpu().numpy())
    except ImportError:  # pragma: no cover
        pass
    return repr(v)


def _str_array(values: Any) -> np.ndarray:
    return np.asarray([str(v) for v in values], dtype=str)


def _id_array(ids: np.ndarray) -> np.ndarray:
    ids = np.asarray(ids)
    return ids if np.issubdtype(ids.dtype, np.number) else _str_array(ids)


#: Prefix of the arrays that hold a result's array-valued extras (e.g. per-sample gaps).
_EXTRA = "extra__"
#: What ``attrs["extras"]`` holds for an extra stored as a list of arrays: its length.
_ARRAY_LIST = "array_list"


def _as_array(value: Any) -> np.ndarray | None:
    """``value`` as a numeric numpy array, or None when it is not an array or tensor."""
    try:
        import torch

        if isinstance(value, torch.Tensor):
            value = value.detach().cpu().numpy()
    except ImportError:  # pragma: no cover
        pass
    return value if isinstance(value, np.ndarray) and value.dtype != object else None


def _split_extras(extras: dict[str, Any]) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """JSON-able extras, and the array-valued ones kept exactly as arrays (a list of arrays,
    with None for a missing item, as ``extra__<key>__<i>`` and its length in the JSON part)."""
    plain: dict[str, Any] = {}
    arrays: dict[str, np.ndarray] = {}
    for key, value in (extras or {}).items():
        arr = _as_array(value)
        items = [_as_array(v) for v in value] if isinstance(value, list | tuple) else []
        if arr is not None:
            arrays[f"{_EXTRA}{key}"] = arr
        elif items and any(a is not None for a in items) and all(
                a is not None or v is None for a, v in zip(items, value, strict=True)):
            for i, a in enumerate(items):
                if a is not None:
                    arrays[f"{_EXTRA}{key}__{i}"] = a
            plain[str(key)] = {_ARRAY_LIST: len(items)}
        else:
            plain[str(key)] = _jsonable(value)
    return plain, arrays


def _join_extras(plain: dict[str, Any], f: Any) -> dict[str, Any]:
    """The extras of :func:`_split_extras` back from the JSON part and the file's arrays."""
    extras = dict(plain)
    taken: set[str] = set()
    for key, value in plain.items():
        if isinstance(value, dict) and set(value) == {_ARRAY_LIST}:
            names = [f"{_EXTRA}{key}__{i}" for i in range(int(value[_ARRAY_LIST]))]
            extras[key] = [f[n] if n in f.files else None for n in names]
            taken.update(names)
    extras.update({k[len(_EXTRA):]: f[k] for k in f.files
                   if k.startswith(_EXTRA) and k not in taken})
    return extras


def attribution_file(out: Path, method: str) -> Path:
    return out / f"attributions_{method}.npz"


def write_results(
    out_dir: str | os.PathLike[str],
    results: dict[str, Any],
    x: np.ndarray,
    *,
    y: np.ndarray | None = None,
    channel_names: list[str],
    sample_ids: np.ndarray | None = None,
    meta: dict[str, Any] | None = None,
) -> Path:
    """Write every method's attribution, the inputs and ``meta.json`` into ``out_dir``.

    Parameters
    ----------
    out_dir : str or path-like
        Created if needed; files of the same names are replaced.
    results : dict {method name: AttributionResult}
    x : array (N, C, T)
        The explained input.
    y : array (N,), optional
        Labels from the data file.
    channel_names : list of C str
    sample_ids : array (N,), optional
        Ids of the samples in the data file (default 0..N-1).
    meta : dict, optional
        Extra JSON-serialisable run information (model, data, target, faithfulness, ...).

    Returns
    -------
    Path
        ``out_dir``.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np, torch, tsexplain
    >>> model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(2 * 8, 3))
    >>> x = np.random.default_rng(0).standard_normal((4, 2, 8)).astype("float32")  # (N, C, T)
    >>> res = tsexplain.explain(model, x, "saliency", target="predicted")
    >>> with tempfile.TemporaryDirectory() as d:
    ...     out = write_results(d, {"saliency": res}, x, y=np.array([0, 1, 0, 1]),
    ...                         channel_names=["a", "b"], meta={"target": "predicted"})
    ...     files = sorted(os.listdir(out))
    ...     saved = read_results(out)
    >>> files
    ['attributions_saliency.npz', 'inputs.npz', 'meta.json']
    >>> saved.results["saliency"].values.shape, saved.meta["target"]
    ((4, 2, 8), 'predicted')
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    n = x.shape[0]
    ids = _id_array(np.arange(n) if sample_ids is None else sample_ids)
    names = _str_array(channel_names)
    files = {}
    predictions = None
    for name, res in results.items():
        values = np.asarray(res.values, dtype=np.float32)
        four = values.ndim == 4
        dims = ("sample", "output", "channel", "time") if four else ("sample", "channel", "time")
        target = np.full(n, -1, dtype=np.int64) if res.target is None else np.asarray(res.target, np.int64)
        preds = np.asarray(res.predictions, dtype=np.float32) if res.predictions is not None else np.zeros((n, 0), np.float32)
        predictions = preds if predictions is None else predictions
        plain_extras, extra_arrays = _split_extras(res.extras)
        attrs = {
            "format": FORMAT, "method": res.method, "signed": bool(res.signed),
            "n_models": int(res.n_models), "seconds": float(res.seconds),
            "extras": plain_extras,
        }
        coords: dict[str, np.ndarray] = {
            "sample": ids, "channel": names, "time": np.arange(values.shape[-1], dtype=np.int64),
        }
        if four:
            coords["output"] = np.arange(values.shape[1], dtype=np.int64)
        path = attribution_file(out, name)
        np.savez_compressed(  # allow_pickle=False: read back with allow_pickle=False
            path, allow_pickle=False, values=values, dims=np.asarray(dims), method=np.asarray(res.method),
            params=np.asarray(json.dumps(_jsonable(res.params))), target=target,
            predictions=preds, attrs=np.asarray(json.dumps(attrs)), **coords, **extra_arrays,
        )
        files[name] = path.name
    inputs = {"x": np.asarray(x, dtype=np.float32), "channel_names": names, "sample": ids}
    if y is not None:
        yy = np.asarray(y)
        inputs["y"] = yy if np.issubdtype(yy.dtype, np.number) else _str_array(yy)
    if predictions is not None:
        inputs["predictions"] = predictions
    np.savez_compressed(out / "inputs.npz", allow_pickle=False, **inputs)
    from tsexplain import __version__

    full_meta = {
        "format": FORMAT, "tsexplain_version": __version__, "n_samples": int(n),
        "n_channels": int(x.shape[1]), "n_steps": int(x.shape[2]),
        "channel_names": [str(c) for c in channel_names],
        "methods": {name: {"file": files[name], "params": _jsonable(res.params),
                           "seconds": float(res.seconds), "signed": bool(res.signed)}
                    for name, res in results.items()},
        **_jsonable(meta or {}),
    }
    (out / "meta.json").write_text(json.dumps(full_meta, indent=2) + "\n")
    return out


def read_attribution(path: str | os.PathLike[str]) -> Any:
    """One ``attributions_<method>.npz`` back as an :class:`AttributionResult`.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np, torch, tsexplain
    >>> model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(2 * 8, 3))
    >>> x = np.random.default_rng(0).standard_normal((4, 2, 8)).astype("float32")  # (N, C, T)
    >>> res = tsexplain.explain(model, x, "saliency", target="predicted")
    >>> with tempfile.TemporaryDirectory() as d:
    ...     out = write_results(d, {"saliency": res}, x, channel_names=["a", "b"])
    ...     back = read_attribution(out / "attributions_saliency.npz")
    >>> back.method, back.values.shape, back.values.dtype  # values (N, C, T)
    ('saliency', (4, 2, 8), dtype('float32'))
    >>> bool(np.array_equal(back.target, res.target)), back.predictions.shape  # (N, K)
    (True, (4, 3))
    """
    from tsexplain.attribution import AttributionResult

    try:
        with np.load(path, allow_pickle=False) as f:
            attrs = json.loads(str(f["attrs"]))
            target = f["target"]
            preds = f["predictions"]
            extras = _join_extras(dict(attrs.get("extras", {})), f)
            return AttributionResult(
                values=f["values"], method=str(f["method"]), params=json.loads(str(f["params"])),
                target=None if np.all(target < 0) else target,
                predictions=preds if preds.size else None, n_models=attrs.get("n_models", 1),
                signed=attrs.get("signed", True), extras=extras,
                seconds=attrs.get("seconds", 0.0),
            )
    except (KeyError, OSError, ValueError) as exc:
        raise DataFormatError(f"{path} is not an attribution file written by tsexplain: {exc}") from None


def to_xarray(path: str | os.PathLike[str]) -> Any:
    """An ``attributions_<method>.npz`` as an ``xarray.DataArray`` (needs xarray).

    Examples
    --------
    xarray is an optional dependency, absent from the test environment: the lines that need it
    are skipped (without it, ``to_xarray`` raises ``ModuleNotFoundError: No module named
    'xarray'``).

    >>> import os, tempfile
    >>> import numpy as np, torch, tsexplain
    >>> model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(2 * 8, 3))
    >>> x = np.random.default_rng(0).standard_normal((4, 2, 8)).astype("float32")  # (N, C, T)
    >>> res = tsexplain.explain(model, x, "saliency", target="predicted")
    >>> tmp = tempfile.TemporaryDirectory()
    >>> out = write_results(tmp.name, {"saliency": res}, x, channel_names=["a", "b"])
    >>> da = to_xarray(out / "attributions_saliency.npz")  # doctest: +SKIP
    >>> da.dims, da.shape, da.coords["channel"].values.tolist()  # doctest: +SKIP
    (('sample', 'channel', 'time'), (4, 2, 8), ['a', 'b'])
    >>> tmp.cleanup()
    """
    import xarray as xr

    with np.load(path, allow_pickle=False) as f:
        dims = [str(d) for d in f["dims"]]
        attrs = json.loads(str(f["attrs"]))
        attrs["params"] = str(f["params"])
        return xr.DataArray(f["values"], dims=dims, coords={d: f[d] for d in dims},
                            name=str(f["method"]), attrs={k: json.dumps(v) if not isinstance(v, str | int | float) else v
                                                          for k, v in attrs.items()})


@dataclass
class SavedResults:
    """A results folder read back: inputs, each method's result, and the metadata.

    ``x`` (N, C, T); ``y`` (N,) or None; ``predictions`` (N, K) or None; ``channel_names`` (C);
    ``sample_ids`` (N,); ``results`` {method: AttributionResult}; ``meta`` (``meta.json``).

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np, torch, tsexplain
    >>> model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(2 * 8, 3))
    >>> x = np.random.default_rng(0).standard_normal((4, 2, 8)).astype("float32")  # (N, C, T)
    >>> res = tsexplain.explain(model, x, "saliency", target="predicted")
    >>> with tempfile.TemporaryDirectory() as d:
    ...     saved = read_results(write_results(d, {"saliency": res}, x, channel_names=["a", "b"],
    ...                                        sample_ids=np.array([10, 11, 12, 13])))
    >>> saved.x.shape, saved.y, saved.predictions.shape, saved.sample_ids.tolist()
    ((4, 2, 8), None, (4, 3), [10, 11, 12, 13])
    >>> list(saved.results), saved.meta["n_channels"], saved.meta["methods"]["saliency"]["file"]
    (['saliency'], 2, 'attributions_saliency.npz')
    """

    x: np.ndarray
    y: np.ndarray | None
    predictions: np.ndarray | None
    channel_names: list[str]
    sample_ids: np.ndarray
    results: dict[str, Any]
    meta: dict[str, Any] = field(default_factory=dict)


def read_results(results_dir: str | os.PathLike[str]) -> SavedResults:
    """Read a folder written by :func:`write_results`.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np, torch, tsexplain
    >>> model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(2 * 8, 3))
    >>> x = np.random.default_rng(0).standard_normal((4, 2, 8)).astype("float32")  # (N, C, T)
    >>> res = tsexplain.explain(model, x, "saliency", target="predicted")
    >>> with tempfile.TemporaryDirectory() as d:
    ...     _ = write_results(d, {"saliency": res}, x, channel_names=["a", "b"])
    ...     saved = read_results(d)
    >>> saved.x.shape, saved.channel_names, saved.results["saliency"].values.shape
    ((4, 2, 8), ['a', 'b'], (4, 2, 8))
    """
    d = Path(results_dir)
    if not d.is_dir():
        raise FileNotFoundError(f"no results folder at {d}")
    meta_path = d / "meta.json"
    if not meta_path.is_file() or not (d / "inputs.npz").is_file():
        raise DataFormatError(
            f"{d} is not a results folder (no meta.json / inputs.npz): write one with "
            f"'tsexplain explain MODEL DATA --out {d}'"
        )
    meta = json.loads(meta_path.read_text())
    with np.load(d / "inputs.npz", allow_pickle=False) as f:
        x = f["x"]
        y = f["y"] if "y" in f.files else None
        preds = f["predictions"] if "predictions" in f.files and f["predictions"].size else None
        names = [str(c) for c in f["channel_names"]]
        ids = f["sample"]
    results = {name: read_attribution(d / info["file"]) for name, info in meta["methods"].items()}
    return SavedResults(x, y, preds, names, ids, results, meta)
