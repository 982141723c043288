"""Attributions of samples, and their aggregates over a data set."""

from __future__ import annotations

from fastapi import APIRouter

from tsexplain.server import explore
from tsexplain.server import schemas as s
from tsexplain.server.deps import SettingsDep, WorkspaceDep
from tsexplain.server.errors import error_responses

router = APIRouter(tags=["explain"], responses=error_responses(400, 404, 413, 422, 503))


@router.post("/explain", response_model=s.ExplainResponse)
def explain(ws: WorkspaceDep, settings: SettingsDep, body: s.ExplainRequest) -> s.ExplainResponse:
    """Attribution of samples by any registered method and parameters, with the predictions."""
    return explore.explain(ws, settings, body)


@router.post("/aggregates", response_model=s.AggregateResponse)
def aggregates(ws: WorkspaceDep, settings: SettingsDep, body: s.AggregateRequest) -> s.AggregateResponse:
    """Mean attribution (C, T) per class, by label or by the model's prediction."""
    return explore.aggregates(ws, settings, body)


@router.post("/curves", response_model=s.CurvesResponse)
def curves(ws: WorkspaceDep, settings: SettingsDep, body: s.CurvesRequest) -> s.CurvesResponse:
    """Deletion and insertion curves of an attribution, with a random ranking as reference."""
    return explore.curves(ws, settings, body)
