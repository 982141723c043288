"""Request and response models of the REST API, one per direction.

Arrays travel as :class:`NDArray`: nested lists in ``data`` with their ``shape`` spelled out,
e.g. attribution values of shape (N, C, T).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import numpy as np
from pydantic import AliasChoices, BaseModel, ConfigDict, Field, StrictBool, model_validator

ScalarParam = StrictBool | int | float | str | None
#: A method's parameter: a scalar, or a flat object of scalars for a parameter that holds
#: another method's parameters (tsr's ``base_params``, e.g. ``{"steps": 16}``).
ParamValue = ScalarParam | dict[Annotated[str, Field(max_length=64)], ScalarParam]
#: Workspace names: a plain file stem (no path parts).
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
#: Which output to explain: an output index (checked against the model's outputs), "predicted"
#: (each sample's top output) or null, the model's default output. Request bodies use
#: :data:`Target`, query parameters :data:`TargetValue` with :data:`TARGET_DESCRIPTION`.
TargetValue = int | Literal["predicted"] | None
TARGET_DESCRIPTION = (
    "which output to explain: an output index, 'predicted' (each sample's top output) or null, "
    "the only output of a single-output model. For a model with several outputs the attribution "
    "requests (explain, aggregates, curves) refuse null, as the library does; the network views "
    "and the jobs take the model's default: a classifier's predicted class, output 0 of a "
    "regression model with several outputs (a forecaster; the explorer's output picker starts "
    "there)")
Target = Annotated[TargetValue, Field(description=TARGET_DESCRIPTION)]
#: The output a response explains: the request's ``target`` with its default filled in.
Explained = Annotated[TargetValue, Field(description="the output explained: the request's "
                                         "target with its default filled in")]
Name = Annotated[str, Field(min_length=1, max_length=64, pattern=NAME_PATTERN,
                            examples=["anomaly_cnn"])]
Index = Annotated[int, Field(ge=0, le=10_000_000)]


class NDArray(BaseModel):
    """An array as nested lists with its shape, e.g. shape [N, C, T]."""

    shape: list[int]
    data: list[Any]

    @classmethod
    def of(cls, a: Any, decimals: int | None = None) -> NDArray:
        """``a`` as nested lists (non-finite values become null); ``decimals`` rounds."""
        arr = np.asarray(a, dtype=np.float64)
        if decimals is not None:
            arr = np.round(arr, decimals)
        # numpy's stub does not take None as the scalar of np.where
        data = (np.where(np.isfinite(arr), arr, None).tolist()  # type: ignore[call-overload]
                if not np.isfinite(arr).all() else arr.tolist())
        return cls(shape=list(arr.shape), data=data if arr.ndim else [data])


# ---------------------------------------------------------------------------- health, methods
class HealthResponse(BaseModel):
    status: Literal["ok"]
    version: str
    workspace: str = Field(description="the workspace folder's name (never a path)")
    n_models: int
    n_datasets: int
    jobs_active: int
    cache_entries: int


class MethodInfo(BaseModel):
    name: str
    summary: str
    parameters: dict[str, Any]
    signed: bool
    randomized: bool
    uses_baseline: bool
    sequence_method: bool
    unit_kind: Literal["gradient", "contribution"]


# ---------------------------------------------------------------------------- models, data
class ModelSummary(BaseModel):
    name: str
    kind: Literal["safetensors", "export", "factory", "torchscript", "memory"]
    architecture: str | None
    task: Literal["binary", "multiclass", "regression"] | None = Field(
        description="None when the model cannot be loaded (see problem)")
    input_shape: list[int] | None = Field(description="[C, T] the model was built for")
    n_outputs: int | None
    output_names: list[str]
    output_unit: str
    description: str
    default_dataset: str | None
    n_params: int
    problem: str | None = Field(None, description="why the model cannot be used now (e.g. Python "
                                                  "code the server does not trust); None if usable")


class ClassCount(BaseModel):
    label: float
    name: str
    count: int


class DatasetSummary(BaseModel):
    name: str
    shape: list[int] = Field(description="[N, C, T]")
    channel_names: list[str]
    class_names: list[str] | None
    classes: list[ClassCount]
    has_labels: bool
    has_mask: bool
    value_unit: str
    time_unit: str
    additional_shapes: list[list[int]] = Field(
        default_factory=list,
        description="shape (N, ...) of each further model input additional_0, additional_1, ... "
        "(forward(x, *further), in forward's order after x); empty: the series alone")


class DatasetUpload(BaseModel):
    """A data set sent as JSON: ``X`` nested (N, C, T); saved as ``datasets/NAME.npz``."""

    model_config = ConfigDict(extra="forbid")
    name: Name
    X: list[Any] = Field(description="nested lists of shape (N, C, T)", min_length=1)
    y: list[float] | None = None
    channel_names: list[Annotated[str, Field(max_length=64)]] | None = Field(None, max_length=4096)
    class_names: list[Annotated[str, Field(max_length=64)]] | None = Field(None, max_length=1024)
    value_unit: Annotated[str, Field(max_length=64)] = "value"
    time_unit: Annotated[str, Field(max_length=64)] = "step"
    additional: list[list[Any]] | None = Field(
        None, max_length=16,
        description="a model's further inputs (forward(x, *further)), in forward's order after "
        "x: each nested lists of shape (N, ...), one row per series; saved as additional_<i>")


class Prediction(BaseModel):
    outputs: list[float] = Field(description="raw model outputs (K,)")
    output_unit: str
    probabilities: list[float] | None = None
    predicted: int | None = None
    predicted_name: str | None = None
    text: str = Field(description="the prediction in words, with units")


class SampleResponse(BaseModel):
    dataset: str
    index: int
    x: NDArray = Field(description="(C, T)")
    label: float | None
    label_name: str | None
    mask: NDArray | None = Field(None, description="(C, T) ground-truth mask, when the data set has one")
    time: list[float] | None
    channel_names: list[str]
    value_unit: str
    time_unit: str
    model: str | None = None
    prediction: Prediction | None = None


# ---------------------------------------------------------------------------- explanations
class ExplainRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    model: Name
    dataset: Name
    indices: list[Index] = Field(min_length=1, max_length=256, examples=[[0]])
    method: Annotated[str, Field(max_length=64)] = Field("integrated_gradients", examples=["saliency"])
    params: dict[Annotated[str, Field(max_length=64)], ParamValue] = Field(default_factory=dict, max_length=16)
    target: Target = None


class AdditionalAttribution(BaseModel):
    """One further model input of the explained samples and its attribution."""

    name: str = Field(description="its array in the data set: additional_0, additional_1, ...")
    inputs: NDArray = Field(description="(N, ...) the values the model was given")
    values: NDArray | None = Field(
        description="(N, ...) attribution of the explained output, per value of the input for "
        "a gradient (saliency, smoothgrad), a contribution for integrated_gradients and "
        "gradient_x_input; None: not attributed (an integer input is held fixed, or the "
        "method attributes the series only)")


class ExplainResponse(BaseModel):
    model: str
    dataset: str
    indices: list[int]
    method: str
    params: dict[str, Any] = Field(description="the method's parameters as used (defaults filled in)")
    target: list[int] | None
    signed: bool
    unit: str = Field(description="unit of the attribution values")
    values: NDArray = Field(description="(N, C, T)")
    x: NDArray = Field(description="(N, C, T)")
    channel_names: list[str]
    predictions: list[Prediction]
    extras: dict[str, list[float]]
    additional: list[AdditionalAttribution] = Field(
        default_factory=list,
        description="a model with further inputs: each one's values and attribution, in "
        "forward's order after x (empty for a model of the series alone)")
    seconds: float
    cached: bool


class AggregateRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    model: Name
    dataset: Name
    method: Annotated[str, Field(max_length=64)] = "integrated_gradients"
    params: dict[Annotated[str, Field(max_length=64)], ParamValue] = Field(default_factory=dict, max_length=16)
    target: Target = None
    group_by: Literal["label", "prediction"] = "label"
    max_samples: int | None = Field(None, ge=1, le=100_000, description="default: 200 or the server's limit")


class AggregateGroup(BaseModel):
    key: float
    name: str
    count: int
    mean: NDArray = Field(description="(C, T) mean attribution")
    mean_abs: NDArray = Field(description="(C, T) mean absolute attribution")
    channel_share: list[float] = Field(description="(C,) share of the mean |attribution| per channel")


class AggregateResponse(BaseModel):
    model: str
    dataset: str
    method: str
    params: dict[str, Any]
    group_by: str
    grouping: str = Field(description="the groups in words, e.g. 'grouped by quartile of the "
                          "prediction of output 3' (a regression model's values are binned)")
    target: Explained
    n_samples: int
    unit: str
    signed: bool = Field(description="whether the method's values take both signs; false for a "
                         "non-negative relevance (grad_cam, tsr), whose mean is drawn from 0 up")
    channel_names: list[str]
    groups: list[AggregateGroup]
    seconds: float
    cached: bool


# ---------------------------------------------------------------------------- network
class LayerSummary(BaseModel):
    name: str
    kind: str
    input_shape: list[int] | None
    output_shape: list[int] | None
    n_filters: int | None
    kernel_size: int | None
    n_params: int


class LayerImportance(BaseModel):
    layer: str
    importance: list[float] = Field(description="(F,) TSViz Eq. 16, sum_t |dy/da_f|")
    scaled: list[float] = Field(description="(F,) min-max scaled within the layer")


class NetworkResponse(BaseModel):
    model: str
    input_shape: list[int]
    output_shape: list[int] | None
    layers: list[LayerSummary]
    conv_layers: list[str]
    n_filters: int
    n_params: int
    dataset: str | None = None
    index: int | None = None
    target: Explained = None
    importance: list[LayerImportance] = Field(default_factory=list)


class Dendrogram(BaseModel):
    icoord: list[list[float]]
    dcoord: list[list[float]]
    leaves: list[int]
    cut_height: float


class SilhouettePoint(BaseModel):
    k: int
    score: float


class ClusterInfo(BaseModel):
    k: int
    best_k: int
    labels: list[int] = Field(description="(F,) cluster 1..k of each filter")
    silhouette: list[SilhouettePoint]
    dendrogram: Dendrogram


class LayerResponse(BaseModel):
    model: str
    layer: str
    dataset: str
    index: int
    target: Explained
    n_filters: int
    importance: list[float] = Field(description="(F,) sum_t |dy/da_f| in output units per activation unit")
    importance_scaled: list[float]
    activations: NDArray = Field(description="(F, T') activation of every filter")
    saliency: NDArray | None = Field(None, description="(F, C, T) |da_f/dx|, min-max scaled per filter")
    clusters: ClusterInfo | None
    cluster_note: str | None = None
    prediction: Prediction | None = None


# ---------------------------------------------------------------------------- jobs
class _JobBase(BaseModel):
    model_config = ConfigDict(extra="forbid")
    model: Name
    target: Target = None


class InverseJob(_JobBase):
    """Inverse optimisation (TSViz Eq. 25-26): an input the model maps to ``target_value``.

    A regression model with several outputs drives its explained output (``target``) to the
    value; a classifier moves toward the class ``target_value`` (its ``target`` stays the
    default or 'predicted')."""

    kind: Literal["inverse"]
    target_value: float = Field(1.0, ge=-1e6, le=1e6, description="the output to reach: "
                                "probability/label, class index or value (formerly 'target')")
    dataset: Name | None = Field(None, description="start from this data set's sample (else random)")
    index: Index = 0
    steps: int = Field(300, ge=1, le=5000, validation_alias=AliasChoices("steps", "iterations"),
                       description="optimisation steps ('iterations' is the former name)")
    alpha: float = Field(0.01, gt=0, le=10)
    optimizer: Literal["sgd", "adam"] = "sgd"
    smoothness: float = Field(0.0, ge=0, le=1e3)
    seed: int = Field(0, ge=0, le=2**31 - 1)

    @model_validator(mode="before")
    @classmethod
    def _former_target(cls, data: Any) -> Any:
        """``target`` was the value to reach; it now names the output, as in every request, so
        a request that gives it without ``target_value`` is refused rather than misread."""
        if isinstance(data, dict) and "target" in data and "target_value" not in data:
            raise ValueError("give target_value, the value to reach (formerly 'target'); "
                             "target names the explained output, as in every request")
        return data


class AdversarialJob(_JobBase):
    """FGSM or iterative FGSM (TSViz Eq. 27-28) on one sample."""

    kind: Literal["adversarial"]
    dataset: Name
    index: Index = 0
    method: Literal["fgsm", "iterative"] = "iterative"
    epsilon: float = Field(0.1, gt=0, le=10)
    alpha: float = Field(0.001, gt=0, le=10)
    steps: int = Field(300, ge=1, le=5000)
    targeted: StrictBool = False
    y: float | None = Field(None, ge=-1e6, le=1e6, description="label/value to move toward "
                            "(targeted) or away from; a regression model's value of the explained output")
    stop_on_flip: StrictBool = Field(True, description="stop when the predicted class changes "
                                     "(classifiers; a regression model has no class to flip)")


class PruningJob(_JobBase):
    """Pruning curve (TSViz Fig. 10): test loss as filters are removed by importance."""

    kind: Literal["pruning"]
    dataset: Name
    layer: Annotated[str, Field(max_length=128)]
    order: Literal["least", "most", "both"] = "both"
    max_pruned: int | None = Field(None, ge=1, le=4096)
    max_samples: int = Field(500, ge=2, le=20_000)


Strategy = Literal["most", "least", "random", "cluster"]
STRATEGIES: tuple[Strategy, ...] = ("most", "least", "random", "cluster")


class FaithfulnessJob(_JobBase):
    """TSViz Table 1: test loss with one filter of each conv layer removed, chosen by strategy:
    the most or least important (mean Eq. 16 over the data set), a random one, or the least
    important member of the largest DTW cluster (a redundant filter); optional fine-tuning."""

    kind: Literal["faithfulness"]
    dataset: Name = Field(description="labelled data set the loss is measured on")
    strategies: list[Strategy] = Field(default_factory=lambda: list(STRATEGIES), min_length=1,
                                       max_length=4)
    max_samples: int = Field(500, ge=2, le=20_000)
    fine_tune_epochs: int = Field(0, ge=0, le=20)
    train_dataset: Name | None = Field(None, description="labelled data for fine-tuning "
                                       "(required when fine_tune_epochs > 0)")
    seed: int = Field(0, ge=0, le=2**31 - 1)


class EnsembleJob(_JobBase):
    """AGRA: retrain the model's architecture several times and average the gradients."""

    kind: Literal["ensemble"]
    dataset: Name
    index: Index = 0
    n_models: int = Field(4, ge=2, le=16)
    epochs: int = Field(3, ge=1, le=50)
    max_samples: int = Field(2000, ge=10, le=50_000)
    method: Literal["saliency", "gradient_x_input", "integrated_gradients", "smoothgrad"] = "saliency"
    seed: int = Field(0, ge=0, le=2**31 - 1)


class BenchmarkJob(_JobBase):
    """Time every (or the chosen) attribution method on a batch of samples."""

    kind: Literal["benchmark"]
    dataset: Name
    n_samples: int = Field(16, ge=1, le=256)
    methods: list[Annotated[str, Field(max_length=64)]] | None = Field(None, max_length=16)


JobRequest = Annotated[
    InverseJob | AdversarialJob | PruningJob | FaithfulnessJob | EnsembleJob | BenchmarkJob,
    Field(discriminator="kind"),
]


class JobStatus(BaseModel):
    id: str
    kind: str
    status: Literal["queued", "running", "done", "failed", "cancelled"]
    progress: float = Field(ge=0, le=1)
    message: str
    created: float
    started: float | None
    finished: float | None
    error: str | None
    request: dict[str, Any]
    result: dict[str, Any] | None = None


# ---------------------------------------------------------------------------- TSViz extras
class CurvesRequest(BaseModel):
    """Deletion and insertion curves of an attribution (faithfulness), with a random ranking as
    the reference."""

    model_config = ConfigDict(extra="forbid")
    model: Name
    dataset: Name
    indices: list[Index] = Field(min_length=1, max_length=256, examples=[[0]])
    method: Annotated[str, Field(max_length=64)] = Field("integrated_gradients", examples=["saliency"])
    params: dict[Annotated[str, Field(max_length=64)], ParamValue] = Field(default_factory=dict, max_length=16)
    target: Target = None
    steps: int = Field(20, ge=2, le=100)


class Curve(BaseModel):
    kind: Literal["deletion", "insertion"]
    ranking: Literal["attribution", "random"]
    fractions: list[float] = Field(description="(S,) share of the C x T cells replaced/restored")
    mean: list[float] = Field(description="(S,) explained output averaged over the samples")
    scores: NDArray = Field(description="(N, S) explained output of each sample")
    auc: float = Field(description="mean area under the curve")


class CurvesResponse(BaseModel):
    model: str
    dataset: str
    indices: list[int]
    method: str
    target: Explained
    unit: str = Field(description="unit of the explained output")
    curves: list[Curve]
    seconds: float


class SaturationResponse(BaseModel):
    """TSViz Proposition 1: where the sigmoid/softmax output is saturated, and a temperature."""

    model: str
    dataset: str
    target: Explained
    n_samples: int
    activation: str
    tol: float
    fraction: float = Field(description="share of samples whose top probability > 1 - tol")
    suggested_temperature: float | None
    temperature: float
    fraction_at_temperature: float
    probability: list[float] = Field(description="(N,) top probability at T = 1")
    probability_at_temperature: list[float] = Field(description="(N,) top probability at T")
    layers: list[str]
    importance: list[float] = Field(description="per conv layer: mean total filter importance "
                                    "for the explained class's probability at T = 1")
    importance_at_temperature: list[float] = Field(description="per conv layer, the same at T "
                                                   "(equal to importance when T = 1)")


class FilterStatsResponse(BaseModel):
    """Data-set level filter importance (TSViz Fig. 9): min, mean and max of Eq. 16 per filter."""

    model: str
    layer: str
    dataset: str
    target: Explained
    n_samples: int
    min: list[float]
    mean: list[float]
    max: list[float]
    ranking: list[int] = Field(description="filters from the most to the least important (mean)")
