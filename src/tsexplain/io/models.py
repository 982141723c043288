"""Load a user's model in any saved form, never by unpickling arbitrary objects.

One loading layer for every door (Python, ``tsexplain explain``, ``explain-dataset``, the
explorer's workspace, the network analysis). Accepted model references (``load_any_model``):

* an ``nn.Module`` (Python only), kept as it is;
* ``package.module:factory`` or ``path/to/file.py:factory`` -- a callable returning an
  ``nn.Module`` -- plus ``weights``: a ``.safetensors`` file or a ``.pt``/``.pth`` state dict
  read with ``torch.load(weights_only=True)`` (plain tensors only);
* ``model.safetensors`` with the architecture JSON written by
  :func:`tsexplain.training.save_model` (``model.json`` beside it, or in the file's header);
* a ``torch.export`` program (``torch.export.save(program, "model.pt2")``), rebuilt with
  :func:`torch.export.unflatten` so that its layers keep their names and can be hooked
  (``Conv1d``, ``Linear`` and ``ReLU`` layers come back as those torch classes);
* a TorchScript file (``torch.jit.script(model).save("model.pt")``) -- attributions only: a
  TorchScript model has no module tree for hooks, so the network analysis refuses it in one
  line saying how to save the model instead;
* ``model.onnx`` only when the maintained converter ``onnx2torch`` is installed.

A file made by ``torch.save(model)`` (a pickle of the whole module) is refused: unpickling runs
arbitrary code.
"""

from __future__ import annotations

import contextlib
import copy
import importlib
import importlib.util
import io
import os
import sys
import threading
import warnings
import weakref
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tsexplain._warnings import warn_caller
from tsexplain.exceptions import DataFormatError, ParameterError

__all__ = ["LoadedModel", "load_any_model", "PickleRefusedError", "MODEL_FORMS",
           "declared_channels"]

#: The forms a model can arrive in, as ``LoadedModel.kind`` names them.
MODEL_FORMS = ("module", "factory", "safetensors", "export", "torchscript", "onnx")

_FACTORY_HINT = (
    "save it with torch.export.save (a .pt2 file), with tsexplain.training.save_model, or pass "
    "'package.module:factory' with --weights (a state_dict saved with "
    "torch.save(model.state_dict(), ...) or safetensors)"
)


class PickleRefusedError(DataFormatError):
    """The file is a pickle (e.g. ``torch.save(model)``); tsexplain never unpickles.

    Examples
    --------
    >>> import os, tempfile, torch
    >>> with tempfile.TemporaryDirectory() as d:
    ...     path = os.path.join(d, "whole_model.pt")
    ...     torch.save(torch.nn.Conv1d(2, 4, 3), path)  # a pickle of the module, not weights
    ...     try:
    ...         load_any_model(path)
    ...     except PickleRefusedError as exc:
    ...         print("never unpickles" in str(exc))
    True
    """


@dataclass
class LoadedModel:
    """A model ready to explain (eval mode) and how it was loaded (for the results' metadata).

    Attributes
    ----------
    module : torch.nn.Module
        The model, mapping (N, C, T) to its outputs.
    kind : str
        One of :data:`MODEL_FORMS`.
    source : str
        The file or factory reference it came from.
    details : dict
        Factory keyword arguments, weights file, converter.

    Examples
    --------
    >>> import torch, warnings
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     loaded = load_any_model("tsexplain.models:AGRACNN", factory_kwargs={"length": 32})
    >>> "untrained" in str(caught[0].message)  # no weights: a fresh model, and a warning says so
    True
    >>> loaded.kind, loaded.source, loaded.module.training
    ('factory', 'tsexplain.models:AGRACNN', False)
    >>> loaded.details["factory_kwargs"], loaded.details["weights"]
    ({'length': 32}, None)
    >>> loaded.module(torch.zeros(3, 2, 32)).shape  # (N, C, T) -> (N, 1)
    torch.Size([3, 1])
    >>> loaded.has_module_tree
    True
    """

    module: Any
    kind: str
    source: str
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def has_module_tree(self) -> bool:
        """Whether the network analysis (hooks on named layers) can run on this model."""
        return self.kind != "torchscript"

    def describe(self) -> dict[str, Any]:
        """``kind``, ``source`` and the details, as written into results' metadata."""
        return {"kind": self.kind, "source": self.source, **self.details}


def _zip_names(path: Path) -> list[str] | None:
    if not zipfile.is_zipfile(path):
        return None
    try:
        with zipfile.ZipFile(path) as zf:
            return zf.namelist()
    except zipfile.BadZipFile:
        return None


def _is_torchscript(names: list[str]) -> bool:
    """A TorchScript archive holds compiled code (``<root>/code/...``) and ``constants.pkl``."""
    return any("/code/" in n for n in names) and any(n.endswith("constants.pkl") for n in names)


def _is_exported(names: list[str]) -> bool:
    """A ``torch.export.save`` archive (``.pt2``) holds a serialized exported program."""
    return any(n.endswith("archive_format") for n in names) or any(
        "serialized_exported_program" in n or n.endswith("models/model.json") for n in names
    )


def _looks_like_pickle(path: Path) -> bool:
    with open(path, "rb") as fh:
        head = fh.read(2)
    return len(head) == 2 and head[0] == 0x80 and head[1] <= 5


def _refuse_pickle(path: Path, what: str) -> PickleRefusedError:
    return PickleRefusedError(
        f"{path} is {what}; tsexplain never unpickles model files (that can run arbitrary code): "
        + _FACTORY_HINT
    )


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


# --------------------------------------------------------------------------- declared channels
#: The attribute of a loaded model holding what :func:`declared_channels` found at load time.
_DECLARED = "_tsexplain_declared_channels"
#: TorchScript recurrent operations (input, hx, params, ...), whose native kernels read their
#: input with the size of their weights, unchecked.
_RECURRENT_OPS = ("aten::lstm", "aten::gru", "aten::rnn_tanh", "aten::rnn_relu")
#: Operations between the series and a recurrent layer that keep the order of the axes.
_SAME_AXES_OPS = ("aten::contiguous", "aten::to", "aten::clone", "aten::detach", "aten::float")


def declared_channels(model: Any) -> tuple[int, str] | None:
    """The number of channels C that a model of (N, C, T) series is built for, when the model
    itself says so, and in what words; None when it does not say (or says it only by failing).

    A loaded ``.pt2`` program declares its input's shape (the channel axis is static unless it
    was exported with a dynamic one), as does a module of ``ExportedProgram.module()``; a traced
    TorchScript model declares it through the weights of a recurrent layer fed with the series
    (``weight_ih_l0`` has shape (gates x hidden, C)). Their recurrent operations do not check
    the size of their input (the native kernel reads out of bounds), so tsexplain checks it
    before running them. An ``nn.Module`` checks its own inputs as it runs: None.

    Parameters
    ----------
    model : torch.nn.Module
        A model as :func:`load_any_model` returns it (``LoadedModel.module``), or any module.

    Returns
    -------
    (int, str) or None
        The channel count and where it comes from, for messages.

    Examples
    --------
    >>> import torch
    >>> class Net(torch.nn.Module):
    ...     def __init__(self) -> None:
    ...         super().__init__()
    ...         self.gru = torch.nn.GRU(3, 4, batch_first=True)
    ...     def forward(self, x: torch.Tensor) -> torch.Tensor:  # x (N, C, T)
    ...         return self.gru(x.transpose(1, 2))[0][:, -1]
    >>> program = torch.export.export(Net().eval(), (torch.zeros(2, 3, 8),),
    ...                               dynamic_shapes=({0: torch.export.Dim("batch")},))
    >>> declared_channels(load_any_model(program).module)
    (3, 'it was exported for inputs of shape (N, 3, 8)')
    >>> declared_channels(Net()) is None  # torch.nn.GRU checks its input itself
    True
    """
    import torch

    found = getattr(model, "__dict__", {}).get(_DECLARED)
    if found is not None:
        return (int(found[0]), str(found[1]))
    if isinstance(model, torch.fx.GraphModule):
        names = [n.name for n in model.graph.nodes if n.op == "placeholder"][:1]
        return _exported_channels(model.graph, names)
    if isinstance(model, torch.jit.ScriptModule):
        return _script_channels(model)
    return None


def _exported_channels(graph: Any, user_inputs: Any) -> tuple[int, str] | None:
    """The static channel axis of the first user input of an exported graph (its placeholder's
    example value), or None."""
    first = next(iter(user_inputs), None)
    for node in graph.nodes:
        if node.op == "placeholder" and node.name == first:
            shape = getattr(node.meta.get("val"), "shape", None)
            if shape is None or len(shape) != 3 or not isinstance(shape[1], int):
                return None
            shown = ", ".join(str(d) if isinstance(d, int) else "NCT"[i] for i, d in enumerate(shape))
            return int(shape[1]), f"it was exported for inputs of shape ({shown})"
    return None


def _script_channels(script: Any) -> tuple[int, str] | None:
    """The input size of the first recurrent operation of a TorchScript graph that is fed with
    the series, through transposes only, with the channel axis as its features; or None."""
    try:
        graph = script.inlined_graph
        inputs = list(graph.inputs())
        if len(inputs) < 2:
            return None
        for node in _graph_nodes(graph):
            if node.kind() in _RECURRENT_OPS:
                found = _recurrent_channels(script, node, inputs[0], inputs[1])
                if found is not None:
                    return found
    except (RuntimeError, AttributeError, TypeError, IndexError, ValueError):
        return None  # a graph of a form not foreseen: the model runs unchecked, as before
    return None


def _recurrent_channels(script: Any, node: Any, self_value: Any,
                        x_value: Any) -> tuple[int, str] | None:
    """For one recurrent ``node``: the input size of its first layer when its input is the
    series ``x_value`` with the channels as features, else None."""
    args = list(node.inputs())
    # the overloads on a padded batch take (input, hx, params, ...); the packed ones take the
    # batch sizes (a tensor) second, and their input is not the series
    if len(args) < 3 or not str(args[2].type()).startswith("List[Tensor]"):
        return None
    chain = []
    value = args[0]
    while value.unique() != x_value.unique():
        producer = value.node()
        if producer.kind() not in ("aten::transpose", "aten::permute", *_SAME_AXES_OPS):
            return None
        chain.append(producer)
        value = producer.inputsAt(0)
    axes = [0, 1, 2]  # which axis of x (N, C, T) sits at each position
    for producer in reversed(chain):
        if producer.kind() == "aten::transpose":
            a, b = (int(producer.inputsAt(i).toIValue()) % 3 for i in (1, 2))
            axes[a], axes[b] = axes[b], axes[a]
        elif producer.kind() == "aten::permute":
            axes = [axes[int(d) % 3] for d in producer.inputsAt(1).toIValue()]
    if axes[-1] != 1:  # the features of a recurrent input are its last axis
        return None
    weight = _script_tensor(script, self_value, _first_list_item(args[2]))
    if weight is None or weight.dim() != 2:
        return None
    kind = {"lstm": "LSTM", "gru": "GRU"}.get(_aten_name(node.kind()), "RNN")
    return int(weight.shape[1]), f"its {kind} layer takes {int(weight.shape[1])} input features"


def _first_list_item(value: Any) -> Any:
    """The first item of a TorchScript list: a graph value, or a tensor of a constant list."""
    producer = value.node()
    if producer.kind() == "prim::ListConstruct":
        return producer.inputsAt(0)
    constant = value.toIValue()
    return constant[0] if constant else None


def _script_tensor(script: Any, self_value: Any, value: Any) -> Any:
    """A tensor of a TorchScript graph: a constant, or an attribute path from ``self``."""
    import torch

    if value is None or isinstance(value, torch.Tensor):
        return value
    names = []
    while value.unique() != self_value.unique():
        producer = value.node()
        if producer.kind() == "prim::Constant":
            constant = value.toIValue()
            return constant if isinstance(constant, torch.Tensor) else None
        if producer.kind() != "prim::GetAttr":
            return None
        names.append(producer.s("name"))
        value = producer.inputsAt(0)
    owner = script
    for name in reversed(names):
        owner = getattr(owner, name)
    return owner if isinstance(owner, torch.Tensor) else None


# --------------------------------------------------------------------------- TorchScript
def _script_wrapper(script: Any, saved_parameters: int | None = None) -> Any:
    """A plain ``nn.Module`` around a ScriptModule, registered as its child ``script``.

    ``saved_parameters``: the parameter count of the program as saved, before freezing inlined
    its weights as constants (kept as the attribute of that name; None when unknown).

    The attribution engine sizes its chunks from the activations of one probe row; it cannot
    hook a ScriptModule's layers, so it measures the tensors autograd saves during the probe's
    forward instead (the memory a backward pass needs). The network analysis sees the
    ScriptModule child and says in one line that this form has no module tree for hooks.
    """
    import torch

    from tsexplain._validation import check_model_channels

    class TorchScriptModel(torch.nn.Module):
        """A TorchScript model: attributions work; layer hooks do not."""

        _tsexplain_torchscript = True

        def __init__(self, inner: Any, saved: int | None = None) -> None:
            super().__init__()
            self.script = inner
            self.saved_parameters = saved
            self.__dict__[_DECLARED] = _script_channels(inner)

        def forward(self, x: torch.Tensor, *additional: torch.Tensor) -> Any:
            check_model_channels(self, x)  # a recurrent op of a traced graph does not check
            return self.script(x, *additional)

        def __deepcopy__(self, memo: dict[int, Any]) -> TorchScriptModel:
            # a deep-copied ScriptModule's parameters are not leaves (requires_grad_ fails):
            # copy through the serialized program instead
            data = script_to_bytes(self)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                twin = TorchScriptModel(torch.jit.load(io.BytesIO(data), map_location="cpu"),
                                        self.saved_parameters)
            twin.train(self.training)
            return twin

    return TorchScriptModel(script.eval(), saved_parameters)


def script_to_bytes(model: Any) -> bytes:
    """The serialized TorchScript program of a loaded TorchScript model (its ``script`` child)."""
    import torch

    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.jit.save(model.script, buf)
    return buf.getvalue()


def exported_to_bytes(model: Any) -> bytes:
    """The serialized ``torch.export`` program a loaded ``.pt2`` model was built from."""
    import torch

    buf = io.BytesIO()
    with _EXPORT_LOCK, warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        torch.export.save(_PROGRAMS[model], buf)
    return buf.getvalue()


def exported_from_bytes(data: bytes) -> Any:
    """A loaded ``.pt2`` model from :func:`exported_to_bytes`."""
    import torch

    with _EXPORT_LOCK, warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        program = torch.export.load(io.BytesIO(data))
    return _from_exported(program, "a torch.export program").module


def script_from_bytes(data: bytes) -> Any:
    """A TorchScript model (wrapped as :func:`load_any_model` wraps a file) from
    :func:`script_to_bytes`."""
    import torch

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        script = torch.jit.load(io.BytesIO(data), map_location="cpu")
    return _script_wrapper(_frozen(script)).eval()


def _frozen(script: Any, source: str = "the TorchScript model") -> Any:
    """``torch.jit.freeze`` of the model in eval mode (BatchNorm folded into the convolutions,
    weights inlined as constants), or the model itself when it cannot be frozen; in inference
    mode (:func:`_script_in_inference_mode`).

    Explanations need gradients with respect to the input only, so freezing loses nothing and
    lets TorchScript run as fast as the same weights as an ``nn.Module``.
    """
    import torch

    try:
        with warnings.catch_warnings():  # torch's notice that TorchScript is deprecated
            warnings.simplefilter("ignore", DeprecationWarning)
            frozen = torch.jit.freeze(script.eval())
    except Exception:  # noqa: BLE001 - an unfreezable program still runs as it is
        frozen = None
    return _script_in_inference_mode(script, frozen, source)


def _graph_nodes(block: Any) -> Iterator[Any]:
    """Every node of a TorchScript graph or block, nested blocks (if, loop) included."""
    for node in block.nodes():
        yield node
        for inner in node.blocks():
            yield from _graph_nodes(inner)


def _aten_name(op: str) -> str:
    """An ATen operation's name from a torch.export target (``aten.dropout.default``) or a
    TorchScript node kind (``aten::dropout``): ``dropout``."""
    return op.replace("::", ".").split(".")[1]


def _runs_in_training(argument: str, value: Any) -> bool:
    """Whether an operation's ``argument`` (see :data:`_INFERENCE_VALUES`) holds a constant
    other than its inference value."""
    return (argument in _INFERENCE_VALUES and isinstance(value, bool | float | int)
            and value != _INFERENCE_VALUES[argument])


def _refuse_random(source: str, names: list[str], redo: str) -> None:
    """A model whose forward pass draws random numbers (``names``) cannot be explained."""
    if names:
        raise DataFormatError(
            f"{source} draws random numbers in its forward pass ({', '.join(names)}), so its "
            f"explanations would change from run to run; {redo}"
        )


def _warn_training_mode(source: str, made: str, redo: str, names: list[str]) -> None:
    """Say that a program ``made`` ("exported", "traced") in training mode runs as after eval()."""
    warn_caller(
        f"{source} was {made} in training mode ({', '.join(names)}): tsexplain runs it as "
        f"model.eval() would (dropout off, batch norm on its running statistics), as it does for "
        f"a module; {redo} after model.eval() to match exactly what you deploy"
    )


#: TorchScript operations that draw random numbers whatever the mode.
_SCRIPT_RANDOM = ("aten::rand", "aten::randn", "aten::rand_like", "aten::randn_like", "aten::randint",
                  "aten::randint_like", "aten::bernoulli", "aten::normal", "aten::multinomial",
                  "aten::native_dropout", "aten::randperm", "aten::poisson", "aten::exponential")


def _script_training_constants(graph: Any) -> list[tuple[Any, int, str]]:
    """``(node, input position, argument name)`` of the operations a TorchScript graph runs in
    training mode through a constant (a module traced in ``train()`` mode): the arguments of
    :data:`_INFERENCE_VALUES`. A mode read at run time (a scripted ``self.training``) is not
    listed: ``eval()`` sets it."""
    import torch

    found = []
    for node in _graph_nodes(graph):
        if not node.kind().startswith("aten::"):
            continue
        try:
            schema = torch._C.parse_schema(node.schema())
        except RuntimeError:  # no schema
            continue
        for i, arg in enumerate(schema.arguments):
            if arg.name in _INFERENCE_VALUES and i < node.inputsSize():
                value = node.inputsAt(i)
                if value.node().kind() == "prim::Constant" and _runs_in_training(arg.name, value.toIValue()):
                    found.append((node, i, arg.name))
    return found


def _script_in_inference_mode(script: Any, frozen: Any, source: str) -> Any:
    """The model to run: ``frozen`` (or ``script`` when it could not be frozen) computing what
    the traced model computes after ``model.eval()``.

    A model traced in ``train()`` mode keeps dropout and batch statistics as constants of its
    graph, which ``eval()`` does not change: in the frozen graph they are switched to their
    inference values (with a warning).

    Raises
    ------
    DataFormatError
        The graph draws random numbers, or runs in training mode and cannot be frozen.
    """
    model = frozen if frozen is not None else script
    graph = model.graph if frozen is not None else script.inlined_graph
    _refuse_random(source, sorted({_aten_name(n.kind()) for n in _graph_nodes(graph) if n.kind() in _SCRIPT_RANDOM}),
                   "trace or script it after model.eval()")
    found = _script_training_constants(graph)
    if not found:
        return model
    names = sorted({_aten_name(node.kind()) for node, _, _ in found})
    if frozen is None:
        raise DataFormatError(
            f"{source} was traced in training mode ({', '.join(names)}) and cannot be frozen to "
            f"switch it to inference; trace it after model.eval()"
        )
    _warn_training_mode(source, "traced", "trace", names)
    for node, i, name in found:
        with graph.insert_point_guard(node):
            constant = graph.insertConstant(_INFERENCE_VALUES[name])
        node.replaceInput(i, constant)
    return model


def _load_torchscript(path: Path) -> LoadedModel:
    import torch

    try:
        with warnings.catch_warnings():  # torch's notice that TorchScript is deprecated
            warnings.simplefilter("ignore", DeprecationWarning)
            module = torch.jit.load(str(path), map_location="cpu")
    except Exception as exc:  # torch raises RuntimeError with long C++ traces
        raise DataFormatError(f"{path} is not a loadable TorchScript file: {_first_line(exc)}") from None
    saved = sum(p.numel() for p in module.parameters())
    return LoadedModel(_script_wrapper(_frozen(module, str(path)), saved).eval(), "torchscript", str(path),
                       {"frozen": isinstance(module, torch.jit.ScriptModule)})


# --------------------------------------------------------------------------- torch.export
def _parameter_free_leaf(target: Any, ty: str, args: list[Any]) -> Any:
    """Pooling, flatten and activation layers from their one ATen call (None if not one of them)."""
    import torch

    aten = torch.ops.aten
    nn = torch.nn
    name = ty.rpartition(".")[2]
    if target is aten.max_pool1d.default and name == "MaxPool1d":
        kernel = args[1]
        stride = args[2] or kernel
        return nn.MaxPool1d(tuple(kernel), tuple(stride), tuple(args[3] or [0]),
                            tuple(args[4] or [1]), ceil_mode=bool(args[5] or False))
    if target is aten.avg_pool1d.default and name == "AvgPool1d":
        kernel = args[1]
        stride = args[2] or kernel
        return nn.AvgPool1d(tuple(kernel), tuple(stride), tuple(args[3] or [0]),
                            ceil_mode=bool(args[4] or False),
                            count_include_pad=True if args[5] is None else bool(args[5]))
    if target is aten.adaptive_avg_pool1d.default and name == "AdaptiveAvgPool1d":
        return nn.AdaptiveAvgPool1d(tuple(args[1]))
    if target is aten.flatten.using_ints and name == "Flatten":
        return nn.Flatten(int(args[1] if args[1] is not None else 1),
                          int(args[2] if args[2] is not None else -1))
    if target is aten.softmax.int and name == "Softmax":
        return nn.Softmax(dim=int(args[1]))
    if target is aten.leaky_relu.default and name == "LeakyReLU":
        return nn.LeakyReLU(float(args[1] if args[1] is not None else 0.01))
    simple = {aten.sigmoid.default: ("Sigmoid", nn.Sigmoid), aten.tanh.default: ("Tanh", nn.Tanh),
              aten.gelu.default: ("GELU", nn.GELU)}
    if target in simple and simple[target][0] == name and args[1] is None:
        return simple[target][1]()
    return None


def _restore_leaf(sub: Any) -> Any:
    """A torch ``Conv1d``/``Linear``/``BatchNorm1d``/``ReLU`` equal to an unflattened leaf, or None.

    The leaf's graph must be exactly one call of the matching ATen operator on its input, with
    its own ``weight``/``bias``; the returned module shares those parameters.
    """
    import torch

    graph = getattr(sub, "graph", None)
    ty = getattr(sub, "_ty", None) or ""
    if graph is None or any(True for _ in sub.children()):
        return None
    calls = [n for n in graph.nodes if n.op == "call_function"]
    if len(calls) != 1:
        return None
    node = calls[0]
    args = list(node.args) + [None] * 7
    target = node.target
    params = dict(sub.named_parameters(recurse=False))
    weight, bias = params.get("weight"), params.get("bias")
    try:
        convs = (torch.ops.aten.conv1d.default, torch.ops.aten.conv1d.padding)
        if target in convs and ty.endswith("Conv1d") and weight is not None:
            stride, padding, dilation = (args[3] or [1]), (args[4] or [0]), (args[5] or [1])
            groups = int(args[6] or 1)
            out_ch, in_per_group, k = weight.shape
            # aten.conv1d.padding: padding="same" / "valid", as the module was built
            pad = padding if isinstance(padding, str) else tuple(padding)
            conv = torch.nn.Conv1d(in_per_group * groups, out_ch, k, stride=tuple(stride),
                                   padding=pad, dilation=tuple(dilation),
                                   groups=groups, bias=bias is not None)
            conv.weight = weight
            if bias is not None:
                conv.bias = bias
            return conv
        if target is torch.ops.aten.linear.default and ty.endswith("Linear") and weight is not None:
            lin = torch.nn.Linear(weight.shape[1], weight.shape[0], bias=bias is not None)
            lin.weight = weight
            if bias is not None:
                lin.bias = bias
            return lin
        if target is torch.ops.aten.relu.default and ty.endswith("ReLU") and not params:
            return torch.nn.ReLU()
        if not params:
            simple = _parameter_free_leaf(target, ty, args)
            if simple is not None:
                return simple
        buffers = dict(sub.named_buffers(recurse=False))
        if (target is torch.ops.aten.batch_norm.default and ty.endswith("BatchNorm1d")
                and args[5] is False and "running_mean" in buffers and "running_var" in buffers):
            n_features = int(buffers["running_mean"].shape[0])
            bn = torch.nn.BatchNorm1d(n_features, eps=float(args[7]), momentum=float(args[6]),
                                      affine=weight is not None)
            if weight is not None:
                bn.weight = weight
                bn.bias = bias  # type: ignore[assignment]
            bn.running_mean = buffers["running_mean"]
            bn.running_var = buffers["running_var"]
            if "num_batches_tracked" in buffers:
                bn.num_batches_tracked = buffers["num_batches_tracked"]
            return bn.eval()
    except (TypeError, ValueError, RuntimeError):
        return None
    return None


_NAMED_CLASSES: dict[tuple[type, str], type] = {}
#: torch.export.load keeps one global deserializer: loads from several threads (the explorer's
#: model replicas) must take turns.
_EXPORT_LOCK = threading.RLock()


def _named_interpreter_class(base: type, original: str) -> type:
    """A subclass of an unflattened module class named after the original layer's class.

    Layer lists then read ``AdaptiveAvgPool1d`` rather than ``InterpreterModule``.
    """
    short = original.rpartition(".")[2] or base.__name__
    key = (base, short)
    if key not in _NAMED_CLASSES:
        _NAMED_CLASSES[key] = type(short, (base,), {"__module__": base.__module__})
    return _NAMED_CLASSES[key]


#: Arguments of ATen operations that differ between training and inference, with their value
#: in inference: the flags of dropout, batch norm, recurrent layers and RReLU, and attention's
#: dropout probability (``F.multi_head_attention_forward`` passes 0 outside training).
_INFERENCE_VALUES: dict[str, bool | float] = {"train": False, "training": False, "dropout_p": 0.0}


def training_mode_operations(graph: Any) -> list[tuple[Any, int, str]]:
    """The operations of an exported graph that run in training mode, as ``(node, argument
    position, argument name)``: the program was exported from a model in ``train()`` mode, so
    its dropout draws at random and its batch norm uses each batch's statistics.

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> net = nn.Sequential(nn.Conv1d(1, 2, 3), nn.Dropout(0.5)).train()
    >>> program = torch.export.export(net, (torch.zeros(2, 1, 8),))
    >>> [str(node.target) for node, _, _ in training_mode_operations(program.graph)]
    ['aten.dropout.default']
    >>> training_mode_operations(torch.export.export(net.eval(), (torch.zeros(2, 1, 8),)).graph)
    []
    """
    found = []
    for node in graph.nodes:
        schema = getattr(node.target, "_schema", None)
        if node.op != "call_function" or schema is None:
            continue
        for i, arg in enumerate(schema.arguments):
            value = node.args[i] if i < len(node.args) else node.kwargs.get(arg.name)
            if _runs_in_training(arg.name, value):
                found.append((node, i, arg.name))
    return found


def _random_operations(graph: Any) -> list[str]:
    """Names of the operations of an exported graph that draw random numbers whatever the mode
    (e.g. the ``bernoulli`` a decomposed dropout leaves); those that inference turns off are
    not listed (:func:`training_mode_operations`)."""
    import torch

    names = set()
    for node in graph.nodes:
        schema = getattr(node.target, "_schema", None)
        tags = getattr(node.target, "tags", ())
        if node.op == "call_function" and schema is not None and torch.Tag.nondeterministic_seeded in tags:
            if not any(arg.name in _INFERENCE_VALUES for arg in schema.arguments):
                names.add(_aten_name(str(node.target)))
    return sorted(names)


def check_exported_module(module: Any) -> None:
    """Refuse a module made by ``ExportedProgram.module()`` whose graph runs in training mode
    or draws random numbers (its mode cannot be switched: torch refuses ``eval()`` on it).

    Raises
    ------
    ParameterError
        With what to pass instead (the ``ExportedProgram`` itself, which tsexplain runs in
        inference mode, or a program exported after ``model.eval()``).
    """
    graph = getattr(module, "graph", None)
    if graph is None:
        return
    random_ops = _random_operations(graph)
    names = sorted({_aten_name(str(node.target)) for node, _, _ in training_mode_operations(graph)})
    if random_ops or names:
        raise ParameterError(
            f"the model (a module of a torch.export program) runs in training mode "
            f"({', '.join(names + random_ops)}) and torch cannot switch it to eval(); pass the "
            f"ExportedProgram itself (tsexplain runs it as model.eval() would) or export the model "
            f"after model.eval()"
        )


@contextlib.contextmanager
def _in_inference_mode(program: Any, source: str) -> Iterator[None]:
    """Within the block, ``program``'s graph runs as its model would after ``model.eval()``
    (training flags set to False, restored afterwards), with a warning when any was set.

    Raises
    ------
    DataFormatError
        The program draws random numbers that no flag turns off, or writes batch statistics
        back to its buffers (a program decomposed after an export in training mode).
    """
    how = "export it after model.eval() (and save it before run_decompositions)"
    _refuse_random(source, _random_operations(program.graph), how)
    found = training_mode_operations(program.graph)
    names = sorted({_aten_name(str(node.target)) for node, _, _ in found})
    functional = [n for n in names if n.endswith("_functional")]
    if functional:
        raise DataFormatError(
            f"{source} was exported in training mode and decomposed ({', '.join(functional)}): "
            f"its batch statistics cannot be switched to the running ones; {how}"
        )
    if found:
        _warn_training_mode(source, "exported", "export", names)

    def put(node: Any, i: int, name: str, value: Any) -> Any:
        """Set the argument, give back the value it held."""
        if i < len(node.args):
            old = node.args[i]
            node.update_arg(i, value)
        else:
            old = node.kwargs[name]
            node.update_kwarg(name, value)
        return old

    held = [(node, i, name, put(node, i, name, _INFERENCE_VALUES[name])) for node, i, name in found]
    try:
        yield
    finally:
        for node, i, name, value in held:
            put(node, i, name, value)


def _module_from_exported(program: Any, source: str) -> Any:
    """An ``nn.Module`` tree from an ``ExportedProgram``: unflattened, hookable, deep-copyable,
    in inference mode (a program exported in training mode runs as after ``model.eval()``)."""
    import torch

    try:
        with _EXPORT_LOCK, warnings.catch_warnings():  # torch's notices while rebuilding
            warnings.simplefilter("ignore", FutureWarning)
            with _in_inference_mode(program, source):
                tree = torch.export.unflatten(program)
    except DataFormatError:
        raise
    except Exception as exc:
        raise DataFormatError(f"{source}: torch.export.unflatten failed: {_first_line(exc)}") from None
    # the exported graph is generic in the batch size when exported with a dynamic batch
    # dimension; the constraint check would refuse batch sizes it was not traced with
    tree.check_input_constraints = False
    for sub in tree.modules():
        if hasattr(sub, "_run_with_interpreter"):
            sub.__dict__["_run_with_interpreter"] = False  # generated code, not the interpreter
        graph = getattr(sub, "graph", None)
        if graph is not None:  # fake tensors in the metadata make the module impossible to copy
            for node in graph.nodes:
                for key in ("val", "tensor_meta", "example_value", "unbacked_bindings"):
                    node.meta.pop(key, None)
    for name, sub in list(tree.named_modules()):
        if not name:
            continue
        restored = _restore_leaf(sub)
        if restored is not None:
            parent_name, _, child = name.rpartition(".")
            setattr(tree.get_submodule(parent_name) if parent_name else tree, child, restored)
        elif getattr(sub, "_ty", None):
            sub.__class__ = _named_interpreter_class(type(sub), str(sub._ty))
    tree.__class__ = _exported_root_class(type(tree), len(program.graph_signature.user_inputs))
    tree.__dict__[_DECLARED] = _exported_channels(program.graph, program.graph_signature.user_inputs)
    tree.eval()
    _PROGRAMS[tree] = program  # how it travels to other processes (exported_to_bytes)
    return tree


#: The program each loaded ``.pt2`` model was built from.
_PROGRAMS: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()


def exported_program(model: Any) -> Any:
    """The ``torch.export`` program a model loaded from a ``.pt2`` file was built from, or None."""
    try:
        return _PROGRAMS.get(model)
    except TypeError:
        return None


_ROOT_CLASSES: dict[tuple[type, bool], type] = {}


def _exported_root_class(base: type, n_inputs: int = 1) -> type:
    """The unflattened root with a plain ``forward(x)`` (``forward(x, *additional)`` for a program
    exported with further inputs).

    torch's root flattens its inputs with pytree before running the graph, which torch.fx
    cannot trace; with tensors in (the (N, C, T) series, then any further inputs of a model
    exported with them), the graph is run directly. A single-input model can then be traced
    like an ``nn.Module`` (the engine folds BatchNorm into the convolutions and finds a
    convolutional front): torch.fx cannot unpack the varargs of a multi-input ``forward``.
    """
    several = n_inputs > 1
    if (base, several) not in _ROOT_CLASSES:
        import torch
        from torch.fx._symbolic_trace import is_fx_symbolic_tracing
        from torch.utils import _pytree

        from tsexplain._validation import check_model_channels

        def run(self: Any, *inputs: torch.Tensor) -> Any:
            if not is_fx_symbolic_tracing():  # an exported aten.lstm does not check its input
                check_model_channels(self, inputs[0])
            if is_fx_symbolic_tracing():
                flat = torch.fx.Interpreter(self, graph=self.graph).run(
                    *inputs, enable_io_processing=False)
            else:
                flat = type(self.graph_module).forward(self, *inputs)
            spec = self.module_call_graph[0].signature.out_spec
            return _pytree.tree_unflatten(list(flat) if isinstance(flat, tuple | list) else [flat], spec)

        def forward_one(self: Any, x: torch.Tensor) -> Any:
            return run(self, x)

        def forward_several(self: Any, x: torch.Tensor, *additional: torch.Tensor) -> Any:
            return run(self, x, *additional)

        for fn in (forward_one, forward_several):  # a wrong number of inputs names "forward"
            fn.__name__, fn.__qualname__ = "forward", "ExportedModel.forward"

        def __deepcopy__(self: Any, memo: dict[int, Any]) -> Any:
            # as copy.deepcopy copies a module, without torch's deprecation notice for the
            # program's tree specs (it reached users through every copy of the model)
            cls: Any = type(self)
            twin = cls.__new__(cls)
            memo[id(self)] = twin
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", FutureWarning)
                twin.__dict__.update(copy.deepcopy(self.__dict__, memo))
            return twin

        _ROOT_CLASSES[(base, several)] = type("ExportedModel", (base,), {
            "forward": forward_several if several else forward_one, "__deepcopy__": __deepcopy__,
            "__module__": base.__module__})
    return _ROOT_CLASSES[(base, several)]


def _check_batch_dynamic(program: Any, source: str) -> None:
    """Refuse a program exported with a fixed batch size (it would run only on that size)."""
    sig = program.graph_signature
    user_inputs = set(sig.user_inputs)
    for node in program.graph.nodes:
        if node.op == "placeholder" and node.name in user_inputs:
            val = node.meta.get("val")
            shape = getattr(val, "shape", None)
            if shape is not None and len(shape) >= 1 and isinstance(shape[0], int):
                raise DataFormatError(
                    f"{source} was exported with a fixed batch size of {shape[0]}; export it with "
                    f"a dynamic batch dimension: torch.export.export(model, (x,), dynamic_shapes="
                    f"({{0: torch.export.Dim('batch')}},))"
                )
            return


def _from_exported(program: Any, source: str) -> LoadedModel:
    _check_batch_dynamic(program, source)
    return LoadedModel(_module_from_exported(program, source), "export", source)


def _load_exported(path: Path) -> LoadedModel:
    import torch

    try:
        with _EXPORT_LOCK, warnings.catch_warnings():  # torch's notices while deserializing
            warnings.simplefilter("ignore", FutureWarning)
            program = torch.export.load(str(path))
    except Exception as exc:
        raise DataFormatError(f"{path} is not a loadable torch.export program: {_first_line(exc)}") from None
    return _from_exported(program, str(path))


# --------------------------------------------------------------------------- ONNX
def _load_onnx(path: Path) -> LoadedModel:
    try:
        from onnx2torch import convert  # type: ignore[import-not-found]
    except ImportError:
        raise ParameterError(
            f"{path} is an ONNX model: tsexplain needs gradients, so it converts ONNX to PyTorch "
            f"with the onnx2torch package, which is not installed (pip install onnx2torch), or "
            f"export a torch.export program (.pt2) from the original PyTorch model instead"
        ) from None
    try:
        module = convert(str(path))
    except Exception as exc:
        raise DataFormatError(f"onnx2torch could not convert {path}: {_first_line(exc)}") from None
    return LoadedModel(module.eval(), "onnx", str(path), {"converter": "onnx2torch"})


# --------------------------------------------------------------------------- factory + weights
def _read_state_dict(weights: Path) -> dict[str, Any]:
    """A state dict from ``.safetensors`` or from a ``torch.save``'d dict of tensors (weights_only)."""
    import torch

    if not weights.is_file():
        raise FileNotFoundError(f"no weights file at {weights}")
    if weights.suffix == ".safetensors":
        from safetensors.torch import load_file

        try:
            return load_file(str(weights))
        except Exception as exc:
            raise DataFormatError(f"{weights} is not a readable safetensors file: {exc}") from None
    names = _zip_names(weights)
    if names is not None and _is_torchscript(names):
        raise ParameterError(
            f"{weights} is a TorchScript model, not weights: pass it as MODEL without --weights"
        )
    if names is not None and _is_exported(names):
        raise ParameterError(
            f"{weights} is a torch.export program, not weights: pass it as MODEL without --weights"
        )
    try:
        state = torch.load(str(weights), map_location="cpu", weights_only=True)
    except Exception:
        raise PickleRefusedError(
            f"{weights} holds pickled Python objects (e.g. a whole model saved with "
            f"torch.save(model)), which tsexplain never unpickles: save only the weights, "
            f"torch.save(model.state_dict(), '{weights.name}'), or use safetensors"
        ) from None
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]  # a common checkpoint layout
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise DataFormatError(
            f"{weights} does not hold a state dict (a dict of tensors); got {type(state).__name__}"
        )
    return state


def is_factory_reference(spec: Any) -> bool:
    """Whether ``spec`` names Python code (``package.module:factory`` or ``file.py:factory``)."""
    if not isinstance(spec, str | os.PathLike):
        return False
    text = os.fspath(spec)
    return ":" in text and not Path(text).exists()


def _resolve_factory(ref: str) -> Any:
    """``package.module:attr`` or ``path/to/file.py:attr`` -> the attribute."""
    target, _, attr = ref.rpartition(":")
    if not target or not attr:
        raise ParameterError(f"a model factory is written 'package.module:factory', got {ref!r}")
    if target.endswith(".py"):
        path = Path(target)
        if not path.is_file():
            raise FileNotFoundError(f"no Python file at {path} (model factory {ref!r})")
        name = f"_tsexplain_user_model_{abs(hash(str(path.resolve())))}"
        spec = importlib.util.spec_from_file_location(name, path)
        if spec is None or spec.loader is None:
            raise ParameterError(f"cannot import {path} (model factory {ref!r})")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        sys.path.insert(0, str(path.resolve().parent))  # let it import its neighbours
        try:
            spec.loader.exec_module(module)
        except Exception as exc:  # the user's file: report it in one line
            sys.modules.pop(name, None)
            raise ParameterError(
                f"importing {path} (model factory {ref!r}) failed: {type(exc).__name__}: "
                f"{_first_line(exc)}"
            ) from None
        finally:
            sys.path.remove(str(path.resolve().parent))
    else:
        if os.getcwd() not in sys.path:  # as 'python -m' does: modules of the working folder
            sys.path.insert(0, os.getcwd())
        try:
            module = importlib.import_module(target)
        except ModuleNotFoundError as exc:
            raise ParameterError(
                f"cannot import {target!r} for model factory {ref!r} ({exc}); run from the folder "
                f"that holds it, set PYTHONPATH, or write 'path/to/file.py:{attr}'"
            ) from None
    obj = module
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise ParameterError(f"{target!r} has no attribute {attr!r} (model factory {ref!r})") from None
    if not callable(obj):
        raise ParameterError(f"model factory {ref!r} is not callable")
    return obj


def _load_factory(ref: str, weights: Path | None, kwargs: dict[str, Any]) -> LoadedModel:
    import torch

    factory = _resolve_factory(ref)
    try:
        module = factory(**kwargs)
    except Exception as exc:  # the user's code: report it in one line
        from tsexplain.exceptions import is_out_of_memory

        if is_out_of_memory(exc):
            raise
        raise ParameterError(
            f"calling {ref}({', '.join(f'{k}=' for k in kwargs)}) failed: "
            f"{type(exc).__name__}: {_first_line(exc)}"
        ) from None
    if not isinstance(module, torch.nn.Module):
        raise ParameterError(f"model factory {ref!r} returned {type(module).__name__}, not a torch.nn.Module")
    details: dict[str, Any] = {"factory": ref, "factory_kwargs": kwargs}
    if weights is None:
        details["weights"] = None
        if _initialised_at_random(factory, kwargs, module):
            warn_caller(
                f"{ref}() was called without weights and builds its parameters at random (a "
                f"second call gives others): the model is untrained. Pass its trained weights "
                f"(--weights FILE, or weights= in Python) unless that is what you want to explain"
            )
    else:
        state = _read_state_dict(weights)
        try:
            module.load_state_dict(state, strict=True)
        except RuntimeError as exc:
            msg = " ".join(str(exc).split())
            raise DataFormatError(
                f"the weights in {weights} do not fit {ref}(): {msg[:300]}"
            ) from None
        details["weights"] = str(weights)
    return LoadedModel(module.eval(), "factory", ref, details)


def _initialised_at_random(factory: Any, kwargs: dict[str, Any], module: Any) -> bool:
    """Whether ``factory(**kwargs)`` gives other parameters on a second call with another seed
    (a fresh, untrained model; a factory that loads trained weights itself gives the same)."""
    import torch

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed((torch.initial_seed() + 1) % 2**63)
        try:
            other = factory(**kwargs)
        except Exception:  # noqa: BLE001 - the first call worked; no verdict from a second one
            return False
    theirs = dict(other.named_parameters()) if isinstance(other, torch.nn.Module) else {}
    return any(
        name in theirs and theirs[name].shape == p.shape and not torch.equal(theirs[name], p)
        for name, p in module.named_parameters()
    )


def _load_safetensors(path: Path) -> LoadedModel:
    from tsexplain.training import load_model

    try:
        module = load_model(path)
    except DataFormatError as exc:
        if "carries no architecture spec" in str(exc):
            raise DataFormatError(
                f"{path} has no architecture JSON (it holds weights only): pass your model's "
                f"factory as MODEL, 'package.module:factory --weights {path}'"
            ) from None
        raise
    return LoadedModel(module, "safetensors", str(path))


def _from_module(module: Any) -> LoadedModel:
    import torch

    if isinstance(module, torch.jit.ScriptModule):
        source = f"the TorchScript module {type(module).__name__}"
        saved = sum(p.numel() for p in module.parameters())
        if _script_training_constants(module.inlined_graph):  # traced in train(): switch a copy
            module = _frozen(module, source)
        else:
            module = _script_in_inference_mode(module, None, source)
        return LoadedModel(_script_wrapper(module, saved).eval(), "torchscript", type(module).__name__)
    if getattr(module, "_tsexplain_torchscript", False):
        return LoadedModel(module, "torchscript", type(module).__name__)
    return LoadedModel(module, "module", type(module).__name__)


def load_any_model(
    spec: Any,
    weights: str | os.PathLike[str] | None = None,
    factory_kwargs: dict[str, Any] | None = None,
    *,
    allow_code: bool = True,
) -> LoadedModel:
    """Load a model for explanation from a module, a file or a factory reference.

    Parameters
    ----------
    spec : torch.nn.Module, torch.export.ExportedProgram, str or path-like
        A module (kept as it is; a ScriptModule is wrapped as a file would be), an exported
        program, a ``.pt2`` file (``torch.export.save``), a TorchScript file, a ``.safetensors``
        file saved by ``tsexplain.training.save_model`` (architecture JSON beside it or in its
        header), an ``.onnx`` file (needs ``onnx2torch``), or ``package.module:factory`` /
        ``path/to/file.py:factory``.
    weights : str or path-like, optional
        With a factory: ``.safetensors``, or ``.pt``/``.pth`` holding a state dict (read with
        ``torch.load(weights_only=True)``). With a ``.safetensors`` spec that has no architecture
        JSON, pass the factory as ``spec`` and the file here instead.
    factory_kwargs : dict, optional
        Keyword arguments of the factory.
    allow_code : bool
        False refuses factory references (they import and run Python code); the explorer passes
        False unless it was started with ``--trust-code``.

    Returns
    -------
    LoadedModel
        ``.module`` in eval mode (a module given is returned unchanged), ``.kind`` one of
        :data:`MODEL_FORMS`.

    Raises
    ------
    PickleRefusedError
        The file is a pickle (``torch.save(model)``).
    ParameterError, DataFormatError, FileNotFoundError
        With a message saying what to do.

    Examples
    --------
    >>> import os, tempfile, torch
    >>> from tsexplain.models import AGRACNN
    >>> net = torch.nn.Sequential(torch.nn.Conv1d(2, 4, 3), torch.nn.AdaptiveAvgPool1d(1),
    ...                           torch.nn.Flatten(), torch.nn.Linear(4, 3))
    >>> with tempfile.TemporaryDirectory() as d:
    ...     path = os.path.join(d, "model.pt2")
    ...     program = torch.export.export(net, (torch.zeros(2, 2, 16),),
    ...                                   dynamic_shapes=({0: torch.export.Dim("batch")},))
    ...     torch.export.save(program, path)
    ...     exported = load_any_model(path)  # the file carries the architecture and weights
    ...     weights = os.path.join(d, "weights.pt")
    ...     torch.save(AGRACNN(length=32).state_dict(), weights)  # a state dict: plain tensors
    ...     built = load_any_model("tsexplain.models:AGRACNN", weights, {"length": 32})
    >>> exported.kind, exported.module(torch.zeros(5, 2, 16)).shape  # (N, C, T) -> (N, K)
    ('export', torch.Size([5, 3]))
    >>> type(exported.module.get_submodule("0")).__name__  # layers keep their names and class
    'Conv1d'
    >>> built.kind, built.details["weights"].endswith("weights.pt"), built.module.training
    ('factory', True, False)
    """
    import torch

    factory_kwargs = dict(factory_kwargs or {})
    if isinstance(spec, torch.nn.Module):
        if weights is not None or factory_kwargs:
            raise ParameterError("weights and factory arguments go with a factory reference, not a module")
        return _from_module(spec)
    if isinstance(spec, torch.export.ExportedProgram):
        return _from_exported(spec, "ExportedProgram")
    if not isinstance(spec, str | os.PathLike):
        raise ParameterError(
            f"a model is an nn.Module, a file or 'package.module:factory'; got {type(spec).__name__}"
        )
    text = os.fspath(spec)
    path = Path(text)
    wpath = Path(os.fspath(weights)) if weights is not None else None
    if is_factory_reference(text):
        if not allow_code:
            raise ParameterError(
                f"model {text!r} is Python code (a factory); it runs only when its code is "
                f"trusted: start the explorer with 'tsexplain serve --trust-code'"
            )
        return _load_factory(text, wpath, factory_kwargs)
    if not path.exists():
        raise FileNotFoundError(
            f"no model file at {path} (a model is a .pt2 file, a TorchScript file, a .safetensors "
            f"file, or 'package.module:factory')"
        )
    if path.is_dir():
        raise ParameterError(f"{path} is a folder; pass the model file itself")
    if wpath is not None:
        raise ParameterError(
            "--weights goes with a factory ('package.module:factory'); a model file carries its "
            "own weights"
        )
    if factory_kwargs:
        raise ParameterError("--model-arg goes with a factory ('package.module:factory')")
    suffix = path.suffix.lower()
    if suffix == ".onnx":
        return _load_onnx(path)
    if suffix == ".safetensors":
        return _load_safetensors(path)
    if suffix == ".json":
        raise ParameterError(
            f"{path} is the architecture JSON; pass the .safetensors weights file beside it"
        )
    names = _zip_names(path)
    if names is not None:
        if _is_exported(names) or (suffix == ".pt2" and not _is_torchscript(names)):
            return _load_exported(path)
        if _is_torchscript(names):
            return _load_torchscript(path)
        if any(n.endswith("data.pkl") for n in names):
            try:
                _read_state_dict(path)
            except (PickleRefusedError, DataFormatError):
                raise _refuse_pickle(path, "a torch.save pickle, not a saved program") from None
            raise ParameterError(
                f"{path} holds only weights (a state dict), not the architecture: pass the "
                f"model's factory as MODEL, 'package.module:factory --weights {path}'"
            )
        raise DataFormatError(f"{path} is a zip archive but neither a .pt2 nor a TorchScript model")
    if _looks_like_pickle(path):
        raise _refuse_pickle(path, "a pickle")
    raise DataFormatError(
        f"{path} is not a model tsexplain reads: expected a .pt2 file (torch.export.save), a "
        f"TorchScript file, a .safetensors file from tsexplain.training.save_model, an .onnx "
        f"file, or 'package.module:factory'"
    )
