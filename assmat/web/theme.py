"""The tenant's branding: colours as CSS variables with a readable text colour (WCAG), the
logo's drawn size, the default icon."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from xml.etree import ElementTree


def _luminance(hex_colour: str) -> float:
    def channel(value: int) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def contrast_ratio(a: str, b: str) -> float:
    la, lb = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def readable_on(background: str) -> str:
    """White or near-black, whichever contrasts more with `background`."""
    return "#ffffff" if contrast_ratio(background, "#ffffff") >= contrast_ratio(background, "#161616") else "#161616"


def theme_css(primary: str) -> str:
    return (
        ":root{"
        f"--primary:{primary};"
        f"--on-primary:{readable_on(primary)};"
        "}\n"
    )


LOGO_HEIGHT = 48  # CSS pixels in the header


@cache
def logo_size(path: Path) -> tuple[int, int]:
    """The logo's width and height in the header, at LOGO_HEIGHT, keeping the SVG's aspect ratio
    (its viewBox, else its width/height attributes); a square when the file says neither."""
    try:
        root = ElementTree.parse(path).getroot()
    except (ElementTree.ParseError, OSError):
        return LOGO_HEIGHT, LOGO_HEIGHT
    width = height = None
    view_box = (root.get("viewBox") or "").replace(",", " ").split()
    if len(view_box) == 4:
        width, height = _number(view_box[2]), _number(view_box[3])
    if not width or not height:
        width, height = _number(root.get("width")), _number(root.get("height"))
    if not width or not height:
        return LOGO_HEIGHT, LOGO_HEIGHT
    return max(1, round(LOGO_HEIGHT * width / height)), LOGO_HEIGHT


def _number(value: str | None) -> float | None:
    match = re.match(r"\s*([0-9]*\.?[0-9]+)\s*(px)?\s*$", value or "")
    return float(match.group(1)) if match else None


def favicon_svg(primary: str) -> str:
    """The default icon: the tenant's colour, a house with a heart (childcare at home)."""
    ink = readable_on(primary)
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32">'
        f'<rect width="32" height="32" rx="6" fill="{primary}"/>'
        f'<path d="M6 15 16 6l10 9v11H6z" fill="none" stroke="{ink}" stroke-width="2.5" stroke-linejoin="round"/>'
        f'<path d="M16 23s-5-3-5-6a2.5 2.5 0 0 1 5-1 2.5 2.5 0 0 1 5 1c0 3-5 6-5 6z" fill="{ink}"/>'
        "</svg>"
    )
