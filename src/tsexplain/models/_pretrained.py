"""Reference models shipped with the package, loadable by name and checked against a hash."""

from __future__ import annotations

import hashlib
from importlib import resources
from pathlib import Path
from typing import Any

from tsexplain.exceptions import DataFormatError, ParameterError

__all__ = ["PRETRAINED", "pretrained", "pretrained_path"]

#: name -> (file under ``tsexplain/models/weights``, sha256 of that file, what it is)
PRETRAINED: dict[str, tuple[str, str, str]] = {
    "forda_cnn": (
        "forda_cnn.safetensors",
        "a33e661bcd5c6b5a129021cc1052763ed86714f55e615e28b0b7969d62b644cd",
        "FordACNN trained on the UCR FordA training files by benchmarks/train_forda_cnn.py "
        "(150 epochs, weights averaged over the last 50, seed 0): test accuracy 0.9705 on the "
        "1,320 test series",
    ),
}


def pretrained_path(name: str) -> Path:
    """The weights file of a shipped model, after checking its sha256.

    Raises
    ------
    ParameterError
        ``name`` is not a shipped model.
    DataFormatError
        The file is missing or its sha256 differs from the one recorded here (a damaged or
        replaced file).
    """
    if name not in PRETRAINED:
        raise ParameterError(
            f"no shipped model named {name!r}; available: {', '.join(sorted(PRETRAINED))}")
    file, digest, _ = PRETRAINED[name]
    path = Path(str(resources.files("tsexplain.models") / "weights" / file))
    if not path.is_file():
        raise DataFormatError(f"the weights of {name!r} are missing from the package ({path}).")
    got = hashlib.sha256(path.read_bytes()).hexdigest()
    if got != digest:
        raise DataFormatError(
            f"the weights of {name!r} ({path}) have sha256 {got}, expected {digest}: the file "
            f"is damaged or was replaced; reinstall tsexplain.")
    return path


def pretrained(name: str) -> Any:
    """A shipped reference model, in eval mode, its weight file checked against its sha256.

    Parameters
    ----------
    name : str
        A key of :data:`PRETRAINED`. ``"forda_cnn"``:
        :class:`~tsexplain.models.FordACNN` trained on the UCR FordA training files by
        ``benchmarks/train_forda_cnn.py`` (two logits; class 1 = the original label +1).

    Returns
    -------
    torch.nn.Module

    Raises
    ------
    ParameterError
        Unknown name.
    DataFormatError
        Missing file or hash mismatch.

    Examples
    --------
    >>> from tsexplain.models import PRETRAINED, pretrained
    >>> models = {name: pretrained(name) for name in PRETRAINED}  # every shipped model
    >>> all(not m.training for m in models.values())
    True
    """
    from tsexplain.training import load_model

    return load_model(pretrained_path(name))


