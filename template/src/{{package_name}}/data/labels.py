"""Class labels: the one place that maps label names to output units and refuses unknown ones."""

from collections.abc import Iterable

import numpy as np

from ..core.errors import DataError


def encode_class_labels(
    labels: Iterable[object],
    class_names: tuple[str, ...],
    *,
    source: str,
    kind: str,
    where: str = "",
    fix: str,
) -> np.ndarray:
    """Class indices (int64) of ``labels``; a label never seen in training has no output unit, so
    it is an error naming the labels, the known ones and what to do (``fix``).
    """
    values = [str(label) for label in labels]
    unknown = sorted(set(values) - set(class_names))
    if unknown:
        raise DataError(
            f"{source} has {kind} {', '.join(map(repr, unknown[:5]))}{where} that the model was not "
            f"trained on (known: {', '.join(class_names)}). {fix}"
        )
    index = {name: position for position, name in enumerate(class_names)}
    return np.array([index[value] for value in values], dtype=np.int64)
