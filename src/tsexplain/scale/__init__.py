"""Scale-out: data-set-wide explanation and ensemble training, in-process or on Ray.

- :func:`attribute_dataset`: any attribution method (AGRA included) over a whole data set,
  chunk by chunk, into an on-disk :class:`ChunkStore` (resumable: finished chunks are kept);
- :func:`dataset_filter_importance`: filter importance min / mean / max over a data set;
- :func:`train_ensemble_distributed`: ensemble members spread over workers, seeded per member.

The backend is ``"local"`` (this process, the default) or ``"ray"`` (``ray.data`` with model
actors; ``address="auto"`` joins an existing cluster). Ray is an optional dependency
(``pip install 'tsexplain[scale]'``), imported only when ``backend="ray"`` is used. See
docs/scaling.md.
"""

from tsexplain.scale.api import (
    DatasetRun,
    attribute_dataset,
    dataset_filter_importance,
    train_ensemble_distributed,
)
from tsexplain.scale.backends import BACKENDS, Backend, LocalBackend, RayBackend, get_backend
from tsexplain.scale.store import ChunkStore, StoreMismatchError

__all__ = [
    "BACKENDS",
    "Backend",
    "ChunkStore",
    "DatasetRun",
    "LocalBackend",
    "RayBackend",
    "StoreMismatchError",
    "attribute_dataset",
    "dataset_filter_importance",
    "get_backend",
    "train_ensemble_distributed",
]
