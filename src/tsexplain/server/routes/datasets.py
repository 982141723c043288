"""Data sets: list, summary, one sample (with a model's prediction), JSON upload."""

from __future__ import annotations

import logging
import threading
from typing import Annotated

import numpy as np
from fastapi import APIRouter, Path, Query

from tsexplain.server import explore
from tsexplain.server import schemas as s
from tsexplain.server.deps import SettingsDep, WorkspaceDep
from tsexplain.server.errors import PayloadTooLargeError, error_responses
from tsexplain.server.workspace import DatasetEntry, validate_series

router = APIRouter(prefix="/datasets", tags=["datasets"],
                   responses=error_responses(400, 404, 422, 503))
log = logging.getLogger("tsexplain.server")

DatasetName = Annotated[str, Path(max_length=64, pattern=s.NAME_PATTERN)]
_uploads_lock = threading.Lock()


def _summary(d: DatasetEntry) -> s.DatasetSummary:
    classes: list[s.ClassCount] = []
    if d.y is not None and d.y.ndim == 1:
        values, counts = np.unique(d.y, return_counts=True)
        if len(values) <= 64:
            classes = [s.ClassCount(label=float(v), name=explore.label_name(d, float(v)) or "",
                                    count=int(c)) for v, c in zip(values, counts, strict=True)]
    return s.DatasetSummary(name=d.name, shape=list(d.shape), channel_names=d.channel_names,
                            class_names=d.class_names, classes=classes,
                            has_labels=d.y is not None, has_mask=d.mask is not None,
                            value_unit=d.value_unit, time_unit=d.time_unit,
                            additional_shapes=[list(a.shape) for a in d.additional])


@router.get("", response_model=list[s.DatasetSummary])
def list_datasets(ws: WorkspaceDep) -> list[s.DatasetSummary]:
    """Every readable data set of the workspace (an unreadable file answers 422 on its own URL)."""
    from tsexplain.exceptions import TsExplainError
    from tsexplain.server.errors import WorkspaceError

    out = []
    for name in ws.dataset_names():
        try:
            out.append(_summary(ws.dataset(name)))
        except (TsExplainError, WorkspaceError) as err:
            log.warning("skipping data set %s: %s", name, err)
    return out


@router.get("/{dataset}", response_model=s.DatasetSummary)
def get_dataset(ws: WorkspaceDep, dataset: DatasetName) -> s.DatasetSummary:
    return _summary(ws.dataset(dataset))


@router.get("/{dataset}/samples/{index}", response_model=s.SampleResponse)
def get_sample(
    ws: WorkspaceDep, settings: SettingsDep, dataset: DatasetName,
    index: Annotated[int, Path(ge=0, le=10_000_000)],
    model: Annotated[str | None, Query(max_length=64, pattern=s.NAME_PATTERN,
                                       description="add this model's prediction")] = None,
) -> s.SampleResponse:
    """Sample ``index`` (C, T), its label, ground-truth mask, and a model's prediction."""
    return explore.sample(ws, settings, dataset, index, model)


@router.post("", response_model=s.DatasetSummary, status_code=201,
             responses=error_responses(413))
def upload_dataset(ws: WorkspaceDep, settings: SettingsDep, body: s.DatasetUpload) -> s.DatasetSummary:
    """Add a data set (validated: (N, C, T), numbers, finite; names and labels fit).

    Quotas: at most ``max_uploads`` data sets and ``max_upload_bytes`` bytes of uploads per
    server run, each at most ``max_upload_values`` values; beyond them 413."""
    from tsexplain.exceptions import DataFormatError
    from tsexplain.server.additional_inputs import check_additional_arrays

    X = validate_series(body.X, "X")
    if X.size > settings.max_upload_values:
        raise PayloadTooLargeError(f"X has {X.size} values; this server accepts uploads of at most "
                                   f"{settings.max_upload_values} values (N x C x T)")
    n, c, _ = X.shape
    y = None
    if body.y is not None:
        y = np.asarray(body.y, dtype=np.float64)
        if y.shape != (n,):
            raise DataFormatError(f"y must hold one value per sample ({n}), got {len(body.y)}")
        if not np.isfinite(y).all():
            raise DataFormatError("y contains NaN or Inf")
        if np.all(np.mod(y, 1) == 0):
            y = y.astype(np.int64)
    if body.channel_names is not None and len(body.channel_names) != c:
        raise DataFormatError(f"channel_names must name the {c} channels, got {len(body.channel_names)}")
    additional = check_additional_arrays(body.additional or [], X.shape, "upload")
    values = X.size + sum(a.size for a in additional)
    if values > settings.max_upload_values:
        raise PayloadTooLargeError(f"X and the additional inputs have {values} values; this "
                                   f"server accepts uploads of at most "
                                   f"{settings.max_upload_values} values")
    extra = {"value_unit": np.asarray(body.value_unit), "time_unit": np.asarray(body.time_unit)}
    if body.class_names:
        extra["class_names"] = np.asarray(body.class_names, dtype=str)
    with _uploads_lock:
        used = ws.__dict__.setdefault("_upload_usage", {"count": 0, "bytes": 0})
        if used["count"] >= settings.max_uploads:
            raise PayloadTooLargeError(
                f"upload quota reached: this server accepts {settings.max_uploads} uploaded data "
                "sets per run; put larger collections into the workspace's datasets/ folder")
        if used["bytes"] + X.nbytes > settings.max_upload_bytes:
            raise PayloadTooLargeError(
                f"upload quota reached: uploads may hold {settings.max_upload_bytes} bytes in "
                f"all ({used['bytes']} used, this one needs {X.nbytes}); put larger data into "
                "the workspace's datasets/ folder")
        used["count"] += 1
        used["bytes"] += X.nbytes
    try:
        return _summary(ws.save_dataset(body.name, X, y, body.channel_names, additional,
                                        **extra))
    except BaseException:
        with _uploads_lock:
            used["count"] -= 1
            used["bytes"] -= X.nbytes
        raise
