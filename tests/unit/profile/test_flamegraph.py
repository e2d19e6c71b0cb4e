"""The flame graph SVG: widths follow the weights, the lab's frames stand out."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from perflab.profile import flamegraph

SVG = "{http://www.w3.org/2000/svg}"


def _frames(svg: str) -> dict[str, tuple[float, float, str]]:
    """Frame name -> (x, width, fill) from each <g><title>."""
    root = ET.fromstring(svg)
    found = {}
    for group in root.iter(f"{SVG}g"):
        title = group.find(f"{SVG}title")
        rect = group.find(f"{SVG}rect")
        assert title is not None and rect is not None
        name = (title.text or "").split("\n")[0]
        found[name] = (float(rect.get("x")), float(rect.get("width")), rect.get("fill"))
    return found


def test_widths_are_shares_of_the_weight_and_children_sit_inside_parents() -> None:
    stacks = {
        ("main", "handler (perflab/api/x.py)", "fetch (asyncpg/c.py)"): 3.0,
        ("main", "handler (perflab/api/x.py)"): 1.0,
        ("main", "idle (asyncio/r.py)"): 4.0,
    }
    svg = flamegraph.render(stacks, title="t", subtitle="s")
    frames = _frames(svg)
    total = frames["all"][1]
    assert frames["main"][1] == total
    assert abs(frames["handler (perflab/api/x.py)"][1] - total / 2) < 0.05
    assert abs(frames["fetch (asyncpg/c.py)"][1] - total * 3 / 8) < 0.05
    handler_x = frames["handler (perflab/api/x.py)"][0]
    assert frames["fetch (asyncpg/c.py)"][0] == handler_x
    # The lab's frame is drawn in the blue range, a library's in the warm one.
    assert frames["handler (perflab/api/x.py)"][2].startswith("hsl(2")
    assert int(frames["fetch (asyncpg/c.py)"][2][4:].split(",")[0]) < 60
    assert "4.00 s (50.0%)" in svg


def test_names_are_escaped_and_an_empty_profile_says_so() -> None:
    svg = flamegraph.render({("<module> (a&b.py)",): 1.0}, title="x < y")
    ET.fromstring(svg)  # well-formed despite the <, > and &
    assert "&lt;module&gt; (a&amp;b.py)" in svg
    # A name py-spy read half-written from a live process (seen in CI: a NUL-like byte).
    torn = flamegraph.render({("main", "ha\x00nd\x1bler\udc80 (x.py)"): 1.0}, title="t")
    assert "ha\ufffdnd\ufffdler\ufffd (x.py)" in _frames(torn)
    empty = flamegraph.render({}, title="nothing")
    assert "no samples" in empty
    ET.fromstring(empty)
