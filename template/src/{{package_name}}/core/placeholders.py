"""The entries of the documents that only people can write, and which are still open.

The generated documents mark each such entry with the words in ``PLACEHOLDER``. An entry
is named by its section headings and, for a list item such as
``- Out-of-scope uses: To be filled by the owners.``, the item's label, so the readiness
gate and ``make model-card`` can say exactly what is left: ``Intended use: Out-of-scope uses``.

Replacing the marker with another placeholder does not fill an entry either: a labelled
list item whose answer reads like one (``TBD``, ``TODO``, ``N/A``, ``-``, ``?``, ``...``,
``xxx``, ``fill in``, nothing at all; see ``is_placeholder_like``) is open too, and named
with what it reads (``Intended use: Intended users (reads 'TBD')``). Owners who mean
"does not apply" write why ("none: the data describes no person"), which a reader can check.
"""

import re

from .markers import MARKER, fenced_lines

PLACEHOLDER = "To be filled by the owners"
HEADING = re.compile(r"^(?P<level>#{1,6})\s+(?P<title>.+?)\s*#*\s*$")
# "- [ ] **Lawful basis** (Art. 6): ..." or "- Out-of-scope uses: ..." -> the label and the answer.
LIST_LABEL = re.compile(r"^\s*[-*]\s+(?:\[[ xX]\]\s+)?(?P<label>[^:]+?):(?P<value>.*)$")
# Whole answers that stand for "not written yet", compared without case, Markdown emphasis
# or a final full stop.
PLACEHOLDER_LIKE = re.compile(
    r"""^(?:
        |tbd|tba|tbc|todo|to\ do|fixme|wip|n/?a|n\.a|na|none\ yet|pending|unknown\ yet
        |x{2,}|\?+|[-\u2013\u2014]+|\.{2,}|\u2026|lorem\ ipsum.*
        |fill(?:ed)?\ (?:in|out)(?:\ later)?|to\ fill|to\ be\ (?:filled|written|added|completed|decided|done)(?:\ .*)?
    )$""",
    re.IGNORECASE | re.VERBOSE,
)
# Answers that start with a to-do word are not answers yet either: "TODO: ask legal".
TODO_PREFIX = re.compile(r"^(?:tbd|tba|tbc|todo|fixme|xxx)\b", re.IGNORECASE)


def _plain(label: str) -> str:
    return re.sub(r"[*_`]", "", label).strip()


def is_placeholder_like(text: str) -> bool:
    """Whether ``text`` (an owner's answer) says nothing yet: empty, ``TBD``, ``N/A``, ``-``, ``...``."""
    plain = _plain(text)
    if not plain.strip("."):  # "", ".", "..." and friends
        return True
    unstopped = plain[:-1].rstrip() if plain.endswith(".") and not plain.endswith("..") else plain
    return bool(PLACEHOLDER_LIKE.match(unstopped) or TODO_PREFIX.match(plain))


def _front_matter_lines(lines: list[str]) -> set[int]:
    """Numbers (from 1) of the YAML front matter's lines: metadata, not owners' entries."""
    if not lines or lines[0].rstrip() != "---":
        return set()
    closing = next((index for index in range(1, len(lines)) if lines[index].rstrip() == "---"), None)
    return set(range(1, (closing if closing is not None else len(lines) - 1) + 2))


def _measured_lines(lines: list[str]) -> set[int]:
    """Numbers (from 1) of the lines inside measured blocks: written by ``make model-card``.

    Lenient on purpose: broken markers are reported by ``markers.find_blocks`` when the
    documents are rendered; here they only must not hide or invent open entries.
    """
    inside, measured = False, set()
    for number, line in enumerate(lines, start=1):
        marker = MARKER.match(line)
        if marker:
            inside = marker["edge"] == "start"
        elif inside:
            measured.add(number)
    return measured


def _answer(lines: list[str], index: int, first: str) -> str:
    """The answer of the list item on ``lines[index]``: its text after the label, with the
    indented lines that continue it (an answer written as a nested list or a paragraph)."""
    parts = [first.strip()]
    for line in lines[index + 1 :]:
        if not line.strip() or not line[:1].isspace():
            break
        parts.append(line.strip())
    return " ".join(part for part in parts if part)


def _placeholder_answer(answer: str) -> str | None:
    """What an answer reads when it is placeholder-like (whole, or after its last colon), else None.

    The compliance items put a description before the answer ("...: how a human reviews
    them: TBD"), so the part after the last colon is the owners' answer.
    """
    for candidate in (answer, answer.rsplit(":", 1)[-1] if ":" in answer else answer):
        if is_placeholder_like(candidate):
            return candidate.strip()
    return None


def unfilled_entries(text: str) -> list[str]:
    """``"Section: Subsection: label"`` of every entry still open, in order.

    Open: a line that still holds ``PLACEHOLDER``, or a labelled list item whose answer is
    placeholder-like (named with what it reads). Code blocks, measured blocks and the front
    matter are skipped: they hold examples, generated text and metadata.
    """
    headings: list[tuple[int, str]] = []
    entries: list[str] = []
    lines = text.splitlines()
    skipped = fenced_lines(text) | _front_matter_lines(lines) | _measured_lines(lines)
    for number, line in enumerate(lines, start=1):
        if number in skipped:
            continue
        heading = HEADING.match(line)
        if heading:
            level = len(heading["level"])
            headings = [item for item in headings if item[0] < level] + [(level, _plain(heading["title"]))]
            continue
        label = LIST_LABEL.match(line)
        if PLACEHOLDER in line:
            reads = ""
        elif label and not line[:1].isspace():
            answer = _placeholder_answer(_answer(lines, number - 1, label["value"]))
            if answer is None:
                continue
            reads = f" (reads '{answer}')" if answer else " (empty)"
        else:
            continue
        # The document title (#) names the document, which the caller already says.
        path = [title for level, title in headings if level > 1]
        if label and PLACEHOLDER not in label["label"]:
            path.append(_plain(label["label"]))
        entry = (": ".join(path) or "(before the first section)") + reads
        if entry not in entries:
            entries.append(entry)
    return entries
