"""The entries of the documents that only people can write, and which are still open.

The generated documents mark each such entry with the words in ``PLACEHOLDER``. An entry
is named by its section headings and, for a list item such as
``- Out-of-scope uses: To be filled by the owners.``, the item's label, so the readiness
gate and ``make model-card`` can say exactly what is left: ``Intended use: Out-of-scope uses``.
"""

import re

from .markers import fenced_lines

PLACEHOLDER = "To be filled by the owners"
HEADING = re.compile(r"^(?P<level>#{1,6})\s+(?P<title>.+?)\s*#*\s*$")
# "- [ ] **Lawful basis** (Art. 6): ..." or "- Out-of-scope uses: ..." -> the label.
LIST_LABEL = re.compile(r"^\s*[-*]\s+(?:\[[ xX]\]\s+)?(?P<label>[^:]+?):")


def _plain(label: str) -> str:
    return re.sub(r"[*_`]", "", label).strip()


def unfilled_entries(text: str) -> list[str]:
    """``"Section: Subsection: label"`` of every line that still holds the placeholder, in order."""
    headings: list[tuple[int, str]] = []
    entries: list[str] = []
    code = fenced_lines(text)
    for number, line in enumerate(text.splitlines(), start=1):
        if number in code:
            continue
        heading = HEADING.match(line)
        if heading:
            level = len(heading["level"])
            headings = [item for item in headings if item[0] < level] + [(level, _plain(heading["title"]))]
            continue
        if PLACEHOLDER not in line:
            continue
        # The document title (#) names the document, which the caller already says.
        path = [title for level, title in headings if level > 1]
        label = LIST_LABEL.match(line)
        if label and PLACEHOLDER not in label["label"]:
            path.append(_plain(label["label"]))
        entry = ": ".join(path) or "(before the first section)"
        if entry not in entries:
            entries.append(entry)
    return entries
