"""Models: list, summary, network overview, one layer's filters."""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Path, Query

from tsexplain.server import explore
from tsexplain.server import schemas as s
from tsexplain.server.deps import WorkspaceDep

router = APIRouter(prefix="/models", tags=["models"])
log = logging.getLogger("tsexplain.server")

ModelName = Annotated[str, Path(max_length=64)]


@router.get("", response_model=list[s.ModelSummary])
def list_models(ws: WorkspaceDep) -> list[s.ModelSummary]:
    """Every loadable model of the workspace (an unreadable file answers 422 on its own URL)."""
    out = []
    for name in ws.model_names():
        try:
            out.append(explore.model_summary(ws, name))
        except ValueError as err:
            log.warning("skipping model %s: %s", name, err)
    return out


@router.get("/{model}", response_model=s.ModelSummary)
def get_model(ws: WorkspaceDep, model: ModelName) -> s.ModelSummary:
    return explore.model_summary(ws, model)


@router.get("/{model}/network", response_model=s.NetworkResponse)
def get_network(
    ws: WorkspaceDep, model: ModelName,
    dataset: Annotated[str | None, Query(max_length=64, description="with index: filter importance on that sample")] = None,
    index: Annotated[int | None, Query(ge=0, le=10_000_000)] = None,
) -> s.NetworkResponse:
    """Layers in forward order; with a sample, the importance of every conv filter (TSViz overview)."""
    return explore.network(ws, model, dataset, index)


@router.get("/{model}/layers/{layer}", response_model=s.LayerResponse)
def get_layer(
    ws: WorkspaceDep, model: ModelName, layer: Annotated[str, Path(max_length=128)],
    dataset: Annotated[str, Query(max_length=64)],
    index: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
    k: Annotated[int | None, Query(ge=1, le=4096, description="cut the filter clusters at k (default: best silhouette)")] = None,
    saliency: bool = True,
) -> s.LayerResponse:
    """One layer on one sample: filter importance, activations, input saliency, DTW clusters."""
    return explore.layer(ws, model, layer, dataset, index, k, saliency)
