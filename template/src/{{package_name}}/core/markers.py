"""Measured blocks: the only parts of the documents that ``make model-card`` rewrites.

A measured block is delimited by two HTML comments, each alone on its line (Markdown
renderers hide them)::

    <!-- measured:metrics:start -->
    ...regenerated from artifacts/...
    <!-- measured:metrics:end -->

Everything outside the blocks belongs to the owners and is kept byte for byte, so a
re-render can never overwrite what people wrote. Markers that do not pair up are refused
with the line to fix before anything is written: guessing where a block ends could
delete the owners' text. Markers quoted inside fenced code blocks are ignored.
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass

from .errors import ProjectError

MARKER = re.compile(r"^<!-- measured:(?P<name>[a-z0-9_-]+):(?P<edge>start|end) -->[ \t\r]*$", re.MULTILINE)
FENCE = re.compile(r"^[ \t]*(```|~~~)")


def fenced_lines(text: str) -> set[int]:
    """Numbers (from 1) of the lines inside fenced code blocks, fences included.

    A marker or placeholder quoted in a code block (say, in the owners' notes on how the
    card works) is an example, not a block or an open entry.
    """
    fenced: set[int] = set()
    inside = False
    for number, line in enumerate(text.splitlines(), start=1):
        is_fence = bool(FENCE.match(line))
        if inside or is_fence:
            fenced.add(number)
        if is_fence:
            inside = not inside
    return fenced


def start_marker(name: str) -> str:
    return f"<!-- measured:{name}:start -->"


def end_marker(name: str) -> str:
    return f"<!-- measured:{name}:end -->"


@dataclass(frozen=True)
class Block:
    """One measured block: ``text[content_start:content_end]`` is its regenerated content."""

    name: str
    content_start: int  # just after the start marker's line
    content_end: int  # the first character of the end marker


def _line_number(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def find_blocks(text: str, source: str) -> list[Block]:
    """The measured blocks of ``text`` in order; ``source`` names the file in error messages."""
    blocks: list[Block] = []
    open_name, open_end, open_line = None, 0, 0
    code = fenced_lines(text)
    for match in MARKER.finditer(text):
        name, edge, line = match["name"], match["edge"], _line_number(text, match.start())
        if line in code:
            continue
        if edge == "start":
            if open_name is not None:
                raise ProjectError(
                    f"{source}:{line}: block '{name}' starts inside block '{open_name}' (line {open_line}); "
                    f"add `{end_marker(open_name)}` where that block ends."
                )
            if any(block.name == name for block in blocks):
                raise ProjectError(f"{source}:{line}: a second '{name}' block; keep one of them.")
            open_name, open_end, open_line = name, match.end() + 1, line
        elif open_name is None:
            raise ProjectError(
                f"{source}:{line}: `{end_marker(name)}` without its start; add `{start_marker(name)}` "
                "where the block begins."
            )
        elif open_name != name:
            raise ProjectError(
                f"{source}:{line}: `{end_marker(name)}` inside block '{open_name}' (line {open_line}); "
                f"add `{end_marker(open_name)}` where that block ends."
            )
        else:
            blocks.append(Block(name, min(open_end, match.start()), match.start()))
            open_name = None
    if open_name is not None:
        raise ProjectError(
            f"{source}:{open_line}: block '{open_name}' has no `{end_marker(open_name)}`; add it after the block."
        )
    return blocks


def replace_blocks(text: str, contents: Mapping[str, str], source: str) -> str:
    """``text`` with each block's content replaced by ``contents[name]`` (one trailing newline).

    Every block in ``text`` must have content: an unknown name is most likely a typo that
    would otherwise leave stale numbers in the document. Names without a block in
    ``text`` are skipped: the owners (or the answers) left that block out.
    """
    blocks = find_blocks(text, source)
    unknown = [block.name for block in blocks if block.name not in contents]
    if unknown:
        raise ProjectError(
            f"{source}: unknown measured block(s) {', '.join(unknown)}; known: {', '.join(sorted(contents))}."
        )
    pieces, position = [], 0
    for block in blocks:
        pieces += [text[position : block.content_start], contents[block.name].rstrip("\n") + "\n"]
        position = block.content_end
    pieces.append(text[position:])
    return "".join(pieces)
