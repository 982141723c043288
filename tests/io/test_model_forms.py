"""Every model form through the one loading layer: same attributions as the nn.Module.

Forms: the ``nn.Module`` itself, a factory + weights (``.pt`` state dict and ``.safetensors``),
``save_model`` safetensors + spec, a ``torch.export`` program (``.pt2``) and TorchScript. Model
families: CNN (with BatchNorm), LSTM, GRU, Transformer encoder, a multi-horizon forecaster
(outputs (N, H)) and a CNN-LSTM. The oracle is ``tsexplain.explain`` on the ``nn.Module`` built
by the same factory with the same weights.
"""

from __future__ import annotations

import copy
import importlib.util
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

import tsexplain
from tsexplain import network
from tsexplain.exceptions import DataFormatError, ParameterError
from tsexplain.io import load_any_model
from tsexplain.network._hooks import NO_MODULE_TREE

NETS = Path(__file__).with_name("_user_nets.py")
KINDS = ("cnn", "lstm", "gru", "transformer", "forecaster", "cnn_lstm")
FORMS = ("module", "factory_pt", "factory_safetensors", "export", "torchscript")
LENGTH = 32


def _nets():
    spec = importlib.util.spec_from_file_location("_tsexplain_test_user_nets", NETS)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _x(n: int = 4, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((n, 1, LENGTH)).astype(np.float32)


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """Every kind saved in every form: {(kind, form): (spec, weights, kwargs)}."""
    from safetensors.torch import save_file

    d = tmp_path_factory.mktemp("forms")
    torch.manual_seed(0)  # the initial weights and BatchNorm statistics below
    nets = _nets()
    out = {}
    for kind in KINDS:
        net = nets.make(kind).eval()
        if kind == "cnn":  # BatchNorm statistics as after training
            with torch.no_grad():
                net.features[1].running_mean.uniform_(-0.5, 0.5)
                net.features[1].running_var.uniform_(0.5, 2.0)
        state = net.state_dict()
        torch.save(state, d / f"{kind}.pt")
        save_file({k: v.contiguous() for k, v in state.items()}, str(d / f"{kind}.safetensors"))
        example = torch.zeros(2, 1, LENGTH)
        program = torch.export.export(net, (example,), dynamic_shapes=({0: torch.export.Dim("batch")},))
        torch.export.save(program, d / f"{kind}.pt2")
        torch.jit.script(net).save(str(d / f"{kind}.ts.pt"))
        ref = f"{NETS}:make"
        out[(kind, "module")] = (net, None, None)
        out[(kind, "factory_pt")] = (ref, d / f"{kind}.pt", {"kind": kind})
        out[(kind, "factory_safetensors")] = (ref, d / f"{kind}.safetensors", {"kind": kind})
        out[(kind, "export")] = (d / f"{kind}.pt2", None, None)
        out[(kind, "torchscript")] = (d / f"{kind}.ts.pt", None, None)
    return out


def _load(saved, kind: str, form: str):
    spec, weights, kwargs = saved[(kind, form)]
    return load_any_model(spec, weights, kwargs)


def _ig(model, x, target=0):
    return np.asarray(tsexplain.explain(model, x, "integrated_gradients", target=target, steps=8).values)


@pytest.mark.parametrize("kind", KINDS)
def test_every_form_gives_the_module_attributions(saved, kind):
    x = _x()
    reference = _ig(saved[(kind, "module")][0], x)
    for form in FORMS:
        loaded = _load(saved, kind, form)
        got = _ig(loaded.module, x)
        if form.startswith("factory") or form == "module":
            # the same module class with the same weights: the same computation, bit for bit
            np.testing.assert_array_equal(got, reference, err_msg=form)
        else:  # a traced graph of the same operations (BatchNorm may be folded differently)
            np.testing.assert_allclose(got, reference, rtol=1e-4, atol=1e-6, err_msg=form)
        assert loaded.kind == {"module": "module", "factory_pt": "factory",
                               "factory_safetensors": "factory"}.get(form, form)


def test_save_model_safetensors_and_spec_equals_the_module(tmp_path):
    from tsexplain.models import FordACNN
    from tsexplain.training import save_model

    torch.manual_seed(0)
    net = FordACNN(n_channels=1, n_outputs=3, filters=8).eval()
    path = save_model(net, tmp_path / "forda")
    loaded = load_any_model(path)
    assert loaded.kind == "safetensors" and loaded.has_module_tree
    x = _x(3)
    np.testing.assert_array_equal(_ig(loaded.module, x), _ig(net, x))


def test_real_ucr_data_every_form(saved, shared_data_dir, tmp_path):
    """ECG5000 (5 classes labelled 1..5), a few series cut to the test length: target=label."""
    from tsexplain.io import load_any_data

    data = load_any_data(shared_data_dir / "ECG5000", split="train").head(6)
    assert data.classes == [1, 2, 3, 4, 5] and data.y.min() >= 0 and data.y.max() <= 4
    x = np.ascontiguousarray(data.X[:, :, :LENGTH], dtype=np.float32)
    target = np.minimum(data.y, 1)  # the test models have two outputs
    reference = _ig(saved[("cnn", "module")][0], x, target)
    for form in FORMS[1:]:
        got = _ig(_load(saved, "cnn", form).module, x, target)
        np.testing.assert_allclose(got, reference, rtol=1e-4, atol=1e-6, err_msg=form)


@pytest.mark.parametrize("form", ["factory_pt", "export"])
def test_network_views_work_on_forms_with_a_module_tree(saved, form):
    x = torch.as_tensor(_x(3))
    for kind, conv in (("cnn", "features.0"), ("cnn_lstm", "conv.0")):
        module = saved[(kind, "module")][0]
        loaded = _load(saved, kind, form).module
        assert network.describe(loaded, x).conv_layers[0].name == conv
        ref_acts = network.conv_activations(module, x)
        acts = network.conv_activations(loaded, x)
        assert list(acts) == list(ref_acts)
        for name in acts:
            torch.testing.assert_close(acts[name], ref_acts[name], rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(network.filter_importance(loaded, x, conv, target=0),
                                   network.filter_importance(module, x, conv, target=0),
                                   rtol=1e-4, atol=1e-6)
        adv = network.iterative_fgsm(loaded, x[:1], 0.1, steps=3, alpha=0.01, y=0)
        ref_adv = network.iterative_fgsm(module, x[:1], 0.1, steps=3, alpha=0.01, y=0)
        np.testing.assert_allclose(np.asarray(adv.x_adv), np.asarray(ref_adv.x_adv), atol=1e-5)
        pruned = network.prune_filters(loaded, conv, [0])
        assert pruned(x).shape == module(x).shape


def test_torchscript_network_analysis_says_why_in_one_line(saved):
    script = _load(saved, "cnn", "torchscript").module
    x = torch.as_tensor(_x(2))
    calls = {
        "describe": lambda: network.describe(script, x),
        "conv_activations": lambda: network.conv_activations(script, x),
        "filter_importance": lambda: network.filter_importance(script, x, "features.0", target=0),
        "filter_saliency": lambda: network.filter_saliency(script, x, "features.0"),
        "prune_filters": lambda: network.prune_filters(script, "features.0", [0]),
        "detect_saturation": lambda: network.detect_saturation(script, x),
    }
    raw = torch.jit.load(str(saved[("cnn", "torchscript")][0]))
    calls["raw ScriptModule"] = lambda: network.describe(raw, x)
    for name, call in calls.items():
        with pytest.raises(ParameterError) as err:
            call()
        assert str(err.value) == NO_MODULE_TREE, name
        assert "\n" not in str(err.value)
    assert not _load(saved, "cnn", "torchscript").has_module_tree


def test_torchscript_runs_inverse_optimisation_and_fgsm_like_the_module(saved):
    """They need the input gradient only, not hooks: the script gives the module's results."""
    script = _load(saved, "cnn", "torchscript").module
    module = _load(saved, "cnn", "module").module
    x = torch.as_tensor(_x(2))
    inv = [network.inverse_optimize(m, 1, shape=(1, 1, LENGTH), steps=3) for m in (module, script)]
    torch.testing.assert_close(inv[1].x, inv[0].x, rtol=1e-5, atol=1e-6)
    assert not torch.equal(inv[0].x, inv[0].start)  # the optimisation moved the series
    adv = [network.iterative_fgsm(m, x, 0.1, steps=2, y=0) for m in (module, script)]
    torch.testing.assert_close(adv[1].x_adv, adv[0].x_adv, rtol=1e-5, atol=1e-6)
    assert float(adv[0].perturbation.abs().max()) > 0


def test_torchscript_chunks_respect_the_memory_budget(saved):
    """The wrapper no longer hides the script: sizing falls back to a conservative estimate."""
    from tsexplain.attribution._memory import activation_bytes

    row = torch.as_tensor(_x(1))
    module = saved[("cnn", "module")][0]
    script = _load(saved, "cnn", "torchscript").module
    exported = _load(saved, "cnn", "export").module
    hooked_total, _ = activation_bytes(module, row)
    script_total, _ = activation_bytes(script, row)
    export_total, _ = activation_bytes(exported, row)
    assert script_total >= hooked_total  # never an underestimate (it was only the output before)
    assert export_total == hooked_total  # the unflattened program is hooked layer by layer


def test_replicas_of_every_form_can_be_frozen_and_explained(saved):
    """The explorer deep-copies models into replicas; autograd must still freeze their parameters."""
    from tsexplain._model_state import frozen_eval

    x = _x(2)
    for form in FORMS:
        twin = copy.deepcopy(_load(saved, "cnn", form).module)
        with frozen_eval(twin):
            pass
        np.testing.assert_allclose(_ig(twin, x), _ig(saved[("cnn", "module")][0], x),
                                   rtol=1e-4, atol=1e-6, err_msg=form)


def test_exported_program_objects_and_scriptmodules_are_accepted_in_python():
    nets = _nets()
    net = nets.make("cnn").eval()
    program = torch.export.export(net, (torch.zeros(2, 1, LENGTH),),
                                  dynamic_shapes=({0: torch.export.Dim("batch")},))
    x = _x(3)
    assert load_any_model(program).kind == "export"
    assert load_any_model(torch.jit.script(net)).kind == "torchscript"
    np.testing.assert_allclose(_ig(load_any_model(program).module, x), _ig(net, x), rtol=1e-4, atol=1e-6)


class _TrainModeNet(torch.nn.Module):
    """Batch norm, dropout, a 2-layer LSTM with dropout and attention with dropout: every kind of
    operation that training mode changes."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(3)
        self.conv = torch.nn.Conv1d(2, 6, 3, padding=1)
        self.bn = torch.nn.BatchNorm1d(6)
        self.drop = torch.nn.Dropout(0.3)
        self.lstm = torch.nn.LSTM(6, 8, num_layers=2, dropout=0.2, batch_first=True)
        self.attention = torch.nn.MultiheadAttention(8, 2, dropout=0.25, batch_first=True)
        self.fc = torch.nn.Linear(8, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.drop(torch.relu(self.bn(self.conv(x))))
        out, _ = self.lstm(h.transpose(1, 2))
        out, _ = self.attention(out, out, out, need_weights=False)
        return self.fc(out[:, -1])


def _exported_in_training_mode() -> tuple[torch.nn.Module, object, torch.Tensor]:
    net = _TrainModeNet().train()
    x = torch.randn(6, 2, 16, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():  # running statistics away from (0, 1), so that batch and running differ
        net(3 * x + 1)
    program = torch.export.export(net, (x,), dynamic_shapes=({0: torch.export.Dim("batch")},))
    return net.eval(), program, x


def test_a_program_exported_in_training_mode_runs_as_after_eval(tmp_path):
    """Exported from train(): dropout draws and batch norm uses batch statistics in the graph;
    loaded, it computes what the module computes after eval(), with a warning that says so."""
    from tsexplain.attribution import Saliency
    from tsexplain.io.models import training_mode_operations

    net, program, x = _exported_in_training_mode()
    torch.export.save(program, tmp_path / "train.pt2")
    with pytest.warns(UserWarning, match=r"exported in training mode \(batch_norm, dropout, lstm, scaled_dot_product_attention\)"):
        loaded = load_any_model(tmp_path / "train.pt2").module
    with torch.no_grad():
        expected = net(x)
        torch.testing.assert_close(loaded(x), expected, rtol=0, atol=1e-6)
        torch.testing.assert_close(loaded(x[:2]), expected[:2], rtol=0, atol=1e-6)  # no batch statistics
    ref = Saliency(net).attribute(x, target=1).values
    np.testing.assert_allclose(Saliency(loaded).attribute(x, target=1).values, ref, rtol=1e-4, atol=1e-7)
    with pytest.warns(UserWarning, match="training mode"):  # the program object itself, in Python
        ours = Saliency(program).attribute(x, target=1).values
    np.testing.assert_allclose(ours, ref, rtol=1e-4, atol=1e-7)
    assert len(training_mode_operations(program.graph)) == 4  # the user's program is left as it was


def test_a_decomposed_training_mode_program_and_a_training_mode_module_are_refused():
    from tsexplain.attribution import Saliency

    net, program, x = _exported_in_training_mode()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        decomposed = program.run_decompositions()
    with pytest.raises(DataFormatError, match=r"training mode and decomposed .*model\.eval\(\)"):
        load_any_model(decomposed)

    class Noisy(torch.nn.Module):  # noise drawn in forward, whatever the mode
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return (x + 0.1 * torch.randn_like(x)).mean(2)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        noisy = torch.export.export(Noisy(), (x,), dynamic_shapes=({0: torch.export.Dim("batch")},))
    with pytest.raises(DataFormatError, match=r"draws random numbers in its forward pass \(randn_like\)"):
        load_any_model(noisy)
    with pytest.raises(ParameterError, match=r"runs in training mode .*pass the ExportedProgram itself"):
        Saliency(program.module())


def test_torchscript_traced_in_training_mode_runs_as_after_eval(tmp_path):
    """A trace keeps the training flags as constants, which eval() does not change: the loaded
    (frozen) graph has them switched, from a file and from a ScriptModule in Python."""
    from tsexplain.attribution import Saliency

    net = _TrainModeNet().train()
    x = torch.randn(6, 2, 16, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        net(3 * x + 1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        traced = torch.jit.trace(net, x, check_trace=False)
    traced.save(str(tmp_path / "train.ts"))
    ref = Saliency(net.eval()).attribute(x, target=1).values
    with pytest.warns(UserWarning, match=r"traced in training mode \(dropout, lstm, scaled_dot_product_attention\)"):
        loaded = load_any_model(tmp_path / "train.ts")
    with torch.no_grad():
        torch.testing.assert_close(loaded.module(x[:2]), net(x[:2]), rtol=0, atol=1e-6)
    np.testing.assert_allclose(Saliency(loaded).attribute(x, target=1).values, ref, rtol=1e-4, atol=1e-7)
    with pytest.warns(UserWarning, match="traced in training mode"):
        ours = Saliency(traced).attribute(x, target=1).values
    np.testing.assert_allclose(ours, ref, rtol=1e-4, atol=1e-7)

    class Noisy(torch.nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return (x + 0.1 * torch.randn_like(x)).mean(2)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        noisy = torch.jit.trace(Noisy(), x, check_trace=False)
    with pytest.raises(DataFormatError, match=r"draws random numbers in its forward pass \(randn_like\)"):
        load_any_model(noisy)


def test_the_module_of_an_exported_program_is_a_model_for_input_methods():
    """``ExportedProgram.module()`` refuses eval() and runs one flat graph: input methods work on
    it; a layer method says that its layer is never called and what to pass instead."""
    from tsexplain.attribution import IntegratedGradients, LayerGradCam

    net = _TrainModeNet().eval()
    x = torch.randn(5, 2, 16, generator=torch.Generator().manual_seed(4))
    program = torch.export.export(net, (x,), dynamic_shapes=({0: torch.export.Dim("batch")},))
    flat = program.module()
    np.testing.assert_allclose(IntegratedGradients(flat, steps=8).attribute(x, target=2).values,
                               IntegratedGradients(net, steps=8).attribute(x, target=2).values,
                               rtol=1e-4, atol=1e-6)
    with pytest.raises(ParameterError, match=r"layer 'conv' was not called .*pass the ExportedProgram"):
        LayerGradCam(flat, layer="conv").attribute(x, target=2)
    assert LayerGradCam(program, layer="conv").attribute(x, target=2).values.shape == (5, 2, 16)


def test_pt2_with_a_fixed_batch_size_is_refused_with_the_fix(tmp_path):
    net = _nets().make("cnn").eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.export.save(torch.export.export(net, (torch.zeros(2, 1, LENGTH),)), tmp_path / "fixed.pt2")
    with pytest.raises(DataFormatError, match=r"fixed batch size of 2.*Dim\('batch'\)"):
        load_any_model(tmp_path / "fixed.pt2")


def test_factory_code_runs_only_when_allowed(saved):
    spec, weights, kwargs = saved[("cnn", "factory_pt")]
    with pytest.raises(ParameterError, match="--trust-code"):
        load_any_model(spec, weights, kwargs, allow_code=False)


def test_errors_in_the_users_factory_are_one_line(tmp_path):
    bad = tmp_path / "broken.py"
    bad.write_text("import torch\ndef make():\n    raise RuntimeError('no such layer')\n")
    with pytest.raises(ParameterError, match="calling .*broken.py:make.* failed: RuntimeError: no such layer"):
        load_any_model(f"{bad}:make")
    bad.write_text("def make(:\n")
    with pytest.raises(ParameterError, match="importing .*broken.py .* failed: SyntaxError"):
        load_any_model(f"{bad}:make")


def test_a_factory_without_weights_that_builds_a_fresh_model_warns(tmp_path):
    """Without --weights a factory's model is untrained unless the factory loads weights itself:
    a second call with another seed tells the two apart."""
    nets = tmp_path / "nets.py"
    nets.write_text(
        "import torch\n"
        "def fresh():\n    return torch.nn.Conv1d(1, 2, 3)\n"
        "def trained():\n"
        "    net = torch.nn.Conv1d(1, 2, 3)\n"
        "    torch.nn.init.constant_(net.weight, 0.5)\n"
        "    torch.nn.init.zeros_(net.bias)\n"
        "    return net\n"
    )
    torch.save(torch.nn.Conv1d(1, 2, 3).state_dict(), tmp_path / "w.pt")
    state = torch.get_rng_state()
    with pytest.warns(UserWarning, match=r"nets.py:fresh\(\) was called without weights .*untrained") as caught:
        load_any_model(f"{nets}:fresh")
    assert caught[0].filename == __file__
    assert not torch.equal(torch.get_rng_state(), state)  # the first call drew, as it always did
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_any_model(f"{nets}:trained")
        load_any_model(f"{nets}:fresh", tmp_path / "w.pt")


def test_pt2_network_layers_keep_torch_classes(saved):
    tree = _load(saved, "cnn", "export").module
    kinds = {name: type(m).__name__ for name, m in tree.named_modules() if name}
    assert kinds["features.0"] == "Conv1d" and kinds["features.1"] == "BatchNorm1d"
    assert kinds["features.2"] == "ReLU" and kinds["fc"] == "Linear"
    assert kinds["pool"] == "AdaptiveAvgPool1d"  # a named interpreter module
    assert isinstance(tree.get_submodule("features.0"), torch.nn.Conv1d)


def test_copies_of_a_pt2_model_raise_no_torch_notice(saved):
    """Copies of a .pt2 model (BatchNorm folding, the local front, explorer replicas) printed
    torch's FutureWarning about tree specs to the user."""
    tree = _load(saved, "cnn", "export").module
    x = torch.as_tensor(_x(3))
    with warnings.catch_warnings():
        warnings.simplefilter("error", FutureWarning)
        twin = copy.deepcopy(tree)
        for method in ("integrated_gradients", "occlusion"):
            tsexplain.explain(tree, x, method, target=0)
    torch.testing.assert_close(twin(x), tree(x))
    assert type(twin) is type(tree) and twin.get_submodule("features.0") is not tree.get_submodule("features.0")


def test_pt2_loads_from_several_threads_at_once(saved):
    """The explorer builds replicas in parallel; torch.export.load has one global deserializer."""
    import threading

    errors: list[str] = []

    def load() -> None:
        try:
            _load(saved, "cnn", "export")
        except Exception as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(repr(exc))

    threads = [threading.Thread(target=load) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def test_save_model_on_a_custom_module_writes_weights_only_and_says_how_to_load(tmp_path):
    from tsexplain.training import save_model

    net = _nets().make("cnn").eval()
    path = save_model(net, tmp_path / "mine")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine.safetensors"]  # no JSON claimed
    with pytest.raises(DataFormatError, match=r"holds weights only.*package\.module:factory --weights"):
        load_any_model(path)
    loaded = load_any_model(f"{NETS}:make", path, {"kind": "cnn"})  # the way out it names
    x = _x(2)
    np.testing.assert_array_equal(_ig(loaded.module, x), _ig(net, x))
