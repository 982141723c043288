"""Settings of the explorer server: one pydantic model, filled from arguments or ``TSEXPLAIN_*``."""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import BaseModel, Field

#: Environment variable overriding where the demo workspace lives.
DEMO_WORKSPACE_ENV = "TSEXPLAIN_DEMO_WORKSPACE"


def default_demo_workspace() -> Path:
    """``$TSEXPLAIN_DEMO_WORKSPACE``, else ``$XDG_CACHE_HOME/tsexplain/demo-workspace``
    (``~/.cache/tsexplain/demo-workspace``)."""
    env = os.environ.get(DEMO_WORKSPACE_ENV)
    if env:
        return Path(env).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache).expanduser() / "tsexplain" / "demo-workspace"


class Settings(BaseModel):
    """Everything the server needs to know; every limit is a bound against runaway requests.

    Attributes
    ----------
    workspace : Path
        Folder with ``models/`` (``*.safetensors`` + JSON spec, or TorchScript ``*.pt``) and
        ``datasets/`` (``*.npz`` with ``X (N, C, T)``, optional ``y``, ``channel_names``).
    """

    workspace: Path = Field(default_factory=default_demo_workspace)
    host: str = "127.0.0.1"
    port: int = Field(8050, ge=0, le=65535)
    #: Largest accepted request body (bytes); larger bodies get 413.
    max_body_bytes: int = Field(8 * 1024 * 1024, ge=1024)
    #: Most samples explained in one /explain request.
    max_explain_samples: int = Field(64, ge=1)
    #: Most samples used for data-set aggregates.
    max_aggregate_samples: int = Field(1000, ge=1)
    #: Upper bound on any integer method parameter (steps, n_samples, window, ...).
    max_method_int: int = Field(1024, ge=1)
    #: Threads running jobs; further jobs wait in the queue.
    job_workers: int = Field(1, ge=1, le=8)
    #: Jobs queued or running at once; more gets 429.
    max_active_jobs: int = Field(4, ge=1)
    #: Finished jobs kept for their results (oldest dropped first).
    max_kept_jobs: int = Field(32, ge=1)
    #: Model replicas per model (each request uses one exclusively: hooks never collide).
    model_replicas: int = Field(3, ge=1, le=16)
    #: Entries of the results cache.
    cache_entries: int = Field(512, ge=0)
    #: Largest upload (samples x channels x steps values).
    max_upload_values: int = Field(2_000_000, ge=1)
    #: Most data sets added by upload while the server runs; more gets 413.
    max_uploads: int = Field(32, ge=0)
    #: Most bytes (float32 values) all uploads together may hold in memory; more gets 413.
    max_upload_bytes: int = Field(256 * 1024 * 1024, ge=0)
    #: Seconds a request waits for a free model replica (or forward-mode section) before 503.
    model_wait_seconds: float = Field(30.0, gt=0, le=600)
    #: Memory budget of one attribution request (bytes or a string such as "256MB"); the
    #: library processes its rows in chunks that fit.
    memory_budget: int | str = "256MB"
    #: Host names (``Host`` header) the server answers besides the loopback names
    #: (localhost, 127.0.0.1, ::1); anything else gets 400, which stops DNS rebinding.
    allowed_hosts: list[str] = Field(default_factory=list)

    @classmethod
    def from_env(cls, **overrides: object) -> Settings:
        """Settings from ``TSEXPLAIN_<FIELD>`` environment variables, then ``overrides``."""
        values: dict[str, object] = {}
        for name in cls.model_fields:
            env = os.environ.get(f"TSEXPLAIN_{name.upper()}")
            if env is not None:
                values[name] = [h for h in env.split(",") if h] if name == "allowed_hosts" else env
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls.model_validate(values)
