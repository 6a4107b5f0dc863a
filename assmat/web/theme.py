"""The tenant's colours as CSS variables, with a text colour readable on them (WCAG)."""

from __future__ import annotations


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
