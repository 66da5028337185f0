"""The reference profile: what the training inputs looked like, saved with the model.

Drift is a property of inputs relative to the data a model learned from, so the reference
is the *training split*, described once per trained model by the evaluation stage and saved
beside the model (``reference_profile.json`` next to the checkpoint or inside the model
folder); the batch check and the server compare against it without reading the training
data again. The profile records the SHA-256 of the weights it was written for, so a profile
left beside retrained weights is refused (and rewritten by the next evaluation) instead of
describing another model's data.

Per numeric feature it holds the interior bin edges (the training deciles) with the share
of training examples in each bin, for the population stability index, and a seeded sample
of at most ``SAMPLE_SIZE`` values for the two-sample test; per categorical feature, the
count of every category. Only aggregates and a small sample of *model inputs* are stored:
the label and the sensitive columns never enter it.
"""

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Protocol

import numpy as np

from ..artifacts import PROFILE_FILE
from ..atomic import write_text_atomically
from ..errors import ProjectError
from ..fingerprints import weights_sha256

PACKAGE = __name__.split(".")[0]
FORMAT_VERSION = 2  # 2: records the weights it was written for
NUMERIC = "numeric"
CATEGORICAL = "categorical"
# Deciles: enough resolution for the PSI, few enough bins that each holds ~10% of the
# reference, so a few hundred examples estimate every bin's share.
NUM_BINS = 10
# The two-sample test's power is limited by the smaller sample (a monitoring window holds a
# few hundred examples), so a larger reference sample only grows the file.
SAMPLE_SIZE = 1000

Features = Mapping[str, np.ndarray]


class FeatureExtractor(Protocol):
    """Turns a batch of model inputs into one value per example and feature (see ``features.py``)."""

    @property
    def kinds(self) -> Mapping[str, str]:
        """Each feature's kind, ``numeric`` or ``categorical``, in report order."""
        ...

    def __call__(self, inputs: np.ndarray) -> dict[str, np.ndarray]: ...


@dataclass(frozen=True)
class NumericReference:
    """Decile bins with the training share in each, and a sample of training values."""

    kind: ClassVar[str] = NUMERIC
    edges: tuple[float, ...]
    proportions: tuple[float, ...]
    sample: tuple[float, ...]
    mean: float
    std: float

    @classmethod
    def fit(cls, values: np.ndarray, rng: np.random.Generator) -> "NumericReference":
        values = np.asarray(values, dtype=np.float64)
        quantiles = np.quantile(values, np.linspace(0.0, 1.0, NUM_BINS + 1)[1:-1])
        edges = np.unique(quantiles)  # discrete features repeat quantiles: merge those bins
        counts = np.bincount(bin_index(edges, values), minlength=len(edges) + 1)
        size = min(SAMPLE_SIZE, len(values))
        sample = rng.choice(values, size=size, replace=False)
        return cls(
            edges=tuple(edges.tolist()),
            proportions=tuple((counts / len(values)).tolist()),
            sample=tuple(sample.tolist()),
            mean=float(values.mean()),
            std=float(values.std()),
        )

    def bin_proportions(self, values: np.ndarray) -> np.ndarray:
        """Share of ``values`` in each of the reference bins."""
        counts = np.bincount(bin_index(np.asarray(self.edges), values), minlength=len(self.edges) + 1)
        return counts / max(len(values), 1)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "edges": list(self.edges),
            "proportions": list(self.proportions),
            "mean": self.mean,
            "std": self.std,
            "sample": list(self.sample),
        }

    @classmethod
    def from_dict(cls, state: Mapping[str, Any]) -> "NumericReference":
        return cls(
            edges=tuple(map(float, state["edges"])),
            proportions=tuple(map(float, state["proportions"])),
            sample=tuple(map(float, state["sample"])),
            mean=float(state["mean"]),
            std=float(state["std"]),
        )


@dataclass(frozen=True)
class CategoricalReference:
    """How many training examples fell in each category."""

    kind: ClassVar[str] = CATEGORICAL
    counts: Mapping[str, int]

    @classmethod
    def fit(cls, values: np.ndarray) -> "CategoricalReference":
        categories, counts = np.unique(np.asarray(values).astype(str), return_counts=True)
        return cls(dict(zip(categories.tolist(), counts.tolist(), strict=True)))

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "counts": dict(self.counts)}

    @classmethod
    def from_dict(cls, state: Mapping[str, Any]) -> "CategoricalReference":
        return cls({str(key): int(value) for key, value in state["counts"].items()})


FeatureReference = NumericReference | CategoricalReference
REFERENCE_KINDS: dict[str, type[NumericReference] | type[CategoricalReference]] = {
    NUMERIC: NumericReference,
    CATEGORICAL: CategoricalReference,
}


def extract_features(extractor: FeatureExtractor, chunks: Iterable[np.ndarray]) -> dict[str, np.ndarray]:
    """The features of every example in ``chunks`` of model inputs, chunk by chunk.

    Only the features (a few numbers per example) are kept, so a large image folder is
    checked without holding all of its pixels in memory.
    """
    parts: dict[str, list[np.ndarray]] = {name: [] for name in extractor.kinds}
    for inputs in chunks:
        for name, values in extractor(inputs).items():
            parts[name].append(values)
    return {name: np.concatenate(values) if values else np.array([]) for name, values in parts.items()}


def bin_index(edges: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Bin of each value: ``i`` for ``edges[i-1] < value <= edges[i]`` (open-ended first and last bins)."""
    return np.searchsorted(edges, np.asarray(values, dtype=np.float64), side="left")


@dataclass(frozen=True)
class ReferenceProfile:
    """The reference of every monitored feature, and where it came from."""

    examples: int
    source: str
    features: Mapping[str, FeatureReference]
    weights_sha256: str = ""

    @classmethod
    def build(
        cls,
        features: Features,
        kinds: Mapping[str, str],
        *,
        source: str,
        seed: int = 0,
        weights_sha256: str = "",
    ) -> "ReferenceProfile":
        """Describe ``features`` (one array per feature, one value per training example)."""
        rng = np.random.default_rng(seed)
        examples = {len(values) for values in features.values()}
        if len(examples) != 1 or 0 in examples:
            raise ProjectError(
                f"cannot profile {source}: features need the same, non-zero number of examples."
            )
        references: dict[str, FeatureReference] = {
            name: NumericReference.fit(features[name], rng)
            if kind == NUMERIC
            else CategoricalReference.fit(features[name])
            for name, kind in kinds.items()
        }
        return cls(examples=examples.pop(), source=source, features=references, weights_sha256=weights_sha256)

    @property
    def kinds(self) -> dict[str, str]:
        return {name: reference.kind for name, reference in self.features.items()}

    def to_dict(self) -> dict[str, Any]:
        return {
            "format_version": FORMAT_VERSION,
            "examples": self.examples,
            "source": self.source,
            "weights_sha256": self.weights_sha256,
            "features": {name: reference.to_dict() for name, reference in self.features.items()},
        }

    @classmethod
    def from_dict(cls, state: Mapping[str, Any]) -> "ReferenceProfile":
        if state.get("format_version") != FORMAT_VERSION:
            raise ProjectError(
                f"reference profile format {state.get('format_version')!r} is not {FORMAT_VERSION}; "
                "evaluate the model (make evaluate) to write it again."
            )
        features = {
            str(name): REFERENCE_KINDS[reference["kind"]].from_dict(reference)
            for name, reference in state["features"].items()
        }
        return cls(
            examples=int(state["examples"]),
            source=str(state["source"]),
            features=features,
            weights_sha256=str(state["weights_sha256"]),
        )

    def save(self, path: Path) -> Path:
        """Write the profile as JSON (atomically: a reader never sees half a file)."""
        write_text_atomically(path, json.dumps(self.to_dict(), allow_nan=False) + "\n")
        return path

    @classmethod
    def load(cls, path: Path) -> "ReferenceProfile":
        """Read a saved profile; a missing or unreadable one names the command that writes it."""
        if not path.is_file():
            raise ProjectError(
                f"no reference profile at {path}: the evaluation stage writes it beside the model, so "
                f"run `make evaluate` (python -m {PACKAGE}.evaluation) first, or point at the trained model."
            )
        try:
            state = json.loads(path.read_text(encoding="utf-8"))
            return cls.from_dict(state)
        except (json.JSONDecodeError, KeyError, TypeError, ValueError) as error:
            raise ProjectError(
                f"reference profile {path} is unreadable ({error}); evaluate the model (make evaluate) "
                "to write it again."
            ) from error


def profile_path(model: Path) -> Path:
    """Where the profile of ``model`` lives: beside a checkpoint file, or inside a model folder."""
    return (model.parent if model.is_file() or model.suffix == ".pt" else model) / PROFILE_FILE


def load_profile(model: Path) -> ReferenceProfile:
    """The profile saved beside ``model``, refused unless it was written for ``model``'s weights."""
    path = profile_path(model)
    profile = ReferenceProfile.load(path)
    if profile.weights_sha256 != weights_sha256(model):
        raise ProjectError(
            f"reference profile {path} was written for other weights than those of {model} (the "
            f"model was trained again since): run `make evaluate` (python -m {PACKAGE}.evaluation) "
            "to profile this model's training inputs."
        )
    return profile
