"""A flame graph as a standalone SVG, from weighted stacks (CPU samples or bytes).

The classic layout: the root at the bottom, callees stacked above their callers, each
frame as wide as its share of the weight, siblings sorted by name so two graphs of the
same code line up. The lab's own frames are drawn in blue, everything else in warm
colours, so the lab's code stands out in a library-heavy stack. Hover a frame for its
full name and figures; open the speedscope JSON in https://www.speedscope.app for an
interactive view of the same samples.
"""

from __future__ import annotations

import html
import re
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

WIDTH = 1200
ROW = 17
TOP = 56  # title and subtitle
BOTTOM = 8
MIN_PX = 0.4  # narrower frames are not drawn
CHAR_PX = 6.6  # Verdana at 11 px, near enough to size labels
# Characters XML 1.0 forbids even escaped. A sampler reading a live process's memory
# can catch a frame name half-written and hand back such bytes; one would make the
# whole SVG unreadable.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _text(value: str) -> str:
    """`value` as SVG text: escaped, and what XML cannot hold shown as U+FFFD."""
    return html.escape(_NOT_XML.sub("\ufffd", value))


@dataclass
class _Node:
    name: str
    value: float = 0.0
    children: dict[str, _Node] = field(default_factory=dict)


def _tree(stacks: Mapping[tuple[str, ...], float]) -> _Node:
    root = _Node("all")
    for stack, weight in stacks.items():
        if weight <= 0:
            continue
        root.value += weight
        node = root
        for name in stack:
            node = node.children.setdefault(name, _Node(name))
            node.value += weight
    return root


def _depth(node: _Node) -> int:
    return 1 + max((_depth(c) for c in node.children.values()), default=0)


def _colour(name: str, own: bool) -> str:
    shade = zlib.crc32(name.encode(errors="surrogatepass")) % 1000 / 1000
    if own:
        return f"hsl({195 + shade * 30:.0f},65%,{58 + shade * 12:.0f}%)"
    return f"hsl({8 + shade * 42:.0f},{78 + shade * 10:.0f}%,{60 + shade * 8:.0f}%)"


def render(
    stacks: Mapping[tuple[str, ...], float],
    *,
    title: str,
    subtitle: str = "",
    unit: Callable[[float], str] = lambda v: f"{v:.2f} s",
    own: Callable[[str], bool] = lambda name: "(perflab/" in name,
) -> str:
    """The SVG document. `unit` formats a weight; `own` tells the lab's frames."""
    root = _tree(stacks)
    depth = _depth(root)
    height = TOP + depth * ROW + BOTTOM
    scale = (WIDTH - 20) / root.value if root.value else 0.0
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
        f'viewBox="0 0 {WIDTH} {height}" font-family="Verdana,sans-serif" font-size="11">',
        f'<rect width="{WIDTH}" height="{height}" fill="#fdfdf8"/>',
        f'<text x="{WIDTH / 2}" y="22" font-size="16" text-anchor="middle">{_text(title)}</text>',
        f'<text x="{WIDTH / 2}" y="42" fill="#555" text-anchor="middle">{_text(subtitle)}</text>',
    ]

    def draw(node: _Node, x: float, level: int) -> None:
        width = node.value * scale
        if width < MIN_PX:
            return
        y = height - BOTTOM - (level + 1) * ROW
        share = node.value / root.value * 100
        tip = f"{node.name}\n{unit(node.value)} ({share:.1f}%)"
        fill = "#c8c8c8" if level == 0 else _colour(node.name, own(node.name))
        parts.append(
            f'<g><title>{_text(tip)}</title><rect x="{x:.2f}" y="{y}" '
            f'width="{width:.2f}" height="{ROW - 1}" rx="2" fill="{fill}"/>'
        )
        fits = int((width - 6) / CHAR_PX)
        if fits >= 3:
            text = node.name if len(node.name) <= fits else node.name[: fits - 2] + ".."
            parts.append(f'<text x="{x + 3:.2f}" y="{y + ROW - 5}">{_text(text)}</text>')
        parts.append("</g>")
        offset = x
        for child in sorted(node.children.values(), key=lambda c: c.name):
            draw(child, offset, level + 1)
            offset += child.value * scale

    if root.value:
        draw(root, 10.0, 0)
    else:
        parts.append(f'<text x="{WIDTH / 2}" y="{TOP + 10}" text-anchor="middle">no samples</text>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"
