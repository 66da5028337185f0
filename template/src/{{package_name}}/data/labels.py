"""Class labels: the one place that finds the classes, maps label names to output units and
refuses unknown ones (and a training split of one class)."""

from collections.abc import Iterable

import numpy as np

from ..core.errors import DataError


def class_names_of(labels: Iterable[object], *, where: str, needs: str) -> tuple[str, ...]:
    """The sorted class names of the training split's ``labels``; a single class cannot be
    learned, so it is an error naming ``where`` the labels come from and what is ``needs``-ed."""
    class_names = tuple(sorted({str(label) for label in labels}))
    if len(class_names) < 2:
        raise DataError(f"{where} has a single class ({class_names[0]!r}); classification needs {needs}")
    return class_names


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
