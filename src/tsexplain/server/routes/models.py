"""Models: list, summary, network overview, one layer's filters, data-set filter statistics,
saturation."""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from tsexplain.server import explore
from tsexplain.server import schemas as s
from tsexplain.server.deps import SettingsDep, WorkspaceDep
from tsexplain.server.errors import error_responses

router = APIRouter(prefix="/models", tags=["models"],
                   responses=error_responses(400, 404, 422, 503))
log = logging.getLogger("tsexplain.server")

ModelName = Annotated[str, Path(max_length=64, pattern=s.NAME_PATTERN)]
DatasetQuery = Annotated[str, Query(max_length=64, pattern=s.NAME_PATTERN)]
LayerName = Annotated[str, Path(max_length=128)]
StrictFlag = Annotated[bool, Query(description="true or false")]
TargetQuery = Annotated[s.TargetValue, Query(description=s.TARGET_DESCRIPTION)]


@router.get("", response_model=list[s.ModelSummary])
def list_models(ws: WorkspaceDep, settings: SettingsDep) -> list[s.ModelSummary]:
    """Every model of the workspace; one that cannot be loaded is listed with its ``problem``
    (e.g. Python code without ``--trust-code``), and its own URL answers 422 with the same text."""
    from tsexplain.exceptions import TsExplainError
    from tsexplain.server.errors import WorkspaceError, without_paths

    out = []
    for name in ws.model_names():
        try:
            kind: Any = ws.model(name).kind
        except (TsExplainError, WorkspaceError) as err:  # e.g. an unreadable info file
            log.warning("skipping model %s: %s", name, err)
            continue
        try:
            out.append(explore.model_summary(ws, name, settings.model_wait_seconds))
        except (TsExplainError, WorkspaceError) as err:
            log.warning("model %s cannot be used: %s", name, err)
            problem = without_paths(str(err))
            out.append(s.ModelSummary(
                name=name, kind=kind, architecture=None, task=None, input_shape=None,
                n_outputs=None, output_names=[], output_unit="", description=problem,
                default_dataset=None, n_params=0, problem=problem))
    return out


@router.get("/{model}", response_model=s.ModelSummary)
def get_model(ws: WorkspaceDep, settings: SettingsDep, model: ModelName) -> s.ModelSummary:
    return explore.model_summary(ws, model, settings.model_wait_seconds)


@router.get("/{model}/network", response_model=s.NetworkResponse)
def get_network(
    ws: WorkspaceDep, settings: SettingsDep, model: ModelName,
    dataset: Annotated[str | None, Query(max_length=64, pattern=s.NAME_PATTERN,
                                         description="with index: filter importance on that sample")] = None,
    index: Annotated[int | None, Query(ge=0, le=10_000_000)] = None,
    target: TargetQuery = None,
) -> s.NetworkResponse:
    """Layers in forward order; with a sample, the importance of every conv filter for the
    explained output (TSViz overview)."""
    return explore.network(ws, settings, model, dataset, index, target)


@router.get("/{model}/layers/{layer}", response_model=s.LayerResponse)
def get_layer(
    ws: WorkspaceDep, settings: SettingsDep, model: ModelName, layer: LayerName,
    dataset: DatasetQuery,
    index: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
    k: Annotated[int | None, Query(ge=1, le=4096, description="cut the filter clusters at k (default: best silhouette)")] = None,
    saliency: StrictFlag = True,
    target: TargetQuery = None,
) -> s.LayerResponse:
    """One layer on one sample: filter importance, activations, input saliency, DTW clusters."""
    return explore.layer(ws, settings, model, layer, dataset, index, k, saliency, target)


@router.get("/{model}/layers/{layer}/importance", response_model=s.FilterStatsResponse)
def get_filter_stats(
    ws: WorkspaceDep, settings: SettingsDep, model: ModelName, layer: LayerName,
    dataset: DatasetQuery,
    max_samples: Annotated[int | None, Query(ge=1, le=100_000, description="the first samples "
                                             "used (default: 200 or the server's limit)")] = None,
    target: TargetQuery = None,
) -> s.FilterStatsResponse:
    """Data-set level filter importance (TSViz Fig. 9): min, mean and max over the samples."""
    n = min(200, settings.max_aggregate_samples) if max_samples is None else max_samples
    return explore.filter_stats(ws, settings, model, layer, dataset, n, target)


@router.get("/{model}/saturation", response_model=s.SaturationResponse)
def get_saturation(
    ws: WorkspaceDep, settings: SettingsDep, model: ModelName, dataset: DatasetQuery,
    max_samples: Annotated[int | None, Query(ge=1, le=100_000, description="the first samples "
                                             "used (default: 200 or the server's limit)")] = None,
    temperature: Annotated[float, Query(gt=0, le=1000, description="T of sigmoid(z / T)")] = 2.0,
    tol: Annotated[float, Query(gt=0, lt=0.5, description="saturated: probability > 1 - tol")] = 1e-4,
    target: TargetQuery = None,
) -> s.SaturationResponse:
    """Saturated predictions (TSViz Proposition 1) at T = 1 and at a temperature (Eq. 19)."""
    n = min(200, settings.max_aggregate_samples) if max_samples is None else max_samples
    return explore.saturation(ws, settings, model, dataset, n, temperature, tol, target)
