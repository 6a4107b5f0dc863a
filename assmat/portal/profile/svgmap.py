"""The fiche's small map: an SVG drawn on the server from one point, with no tiles and no script.

A pure function of its inputs (a point, whether it is exact, the commune's name, the communes
around it): tested without a browser or a database. The point is always the centre of the
drawing, and only pixel offsets are written out: the SVG carries no coordinates. When the address
is hidden the point is the commune's centre and a ring of about 1 km says « somewhere here »."""

from __future__ import annotations

import math
from dataclasses import dataclass

from markupsafe import Markup, escape

from assmat.core.i18n import gettext as _

WIDTH, HEIGHT = 320, 220
SPAN_KM = 16.0  # the width of the drawing on the ground
PX_PER_KM = WIDTH / SPAN_KM
RING_KM = 1.0  # the ring around a commune centre: the place is somewhere in the commune
SCALE_KM = 2
KM_PER_DEGREE_LAT = 110.57
KM_PER_DEGREE_LON_EQUATOR = 111.32


@dataclass(frozen=True)
class Place:
    name: str
    latitude: float
    longitude: float


@dataclass(frozen=True)
class MapFigure:
    svg: Markup
    caption: str
    approximate: bool


def project(latitude: float, longitude: float, centre: tuple[float, float],
            px_per_km: float = PX_PER_KM) -> tuple[float, float]:
    """Pixel position of a point on a drawing centred on `centre` (equirectangular: exact enough
    over a few kilometres), north up, `px_per_km` pixels a kilometre."""
    lat0, lon0 = centre
    east_km = (longitude - lon0) * KM_PER_DEGREE_LON_EQUATOR * math.cos(math.radians(lat0))
    north_km = (latitude - lat0) * KM_PER_DEGREE_LAT
    return WIDTH / 2 + east_km * px_per_km, HEIGHT / 2 - north_km * px_per_km


def unproject(x: float, y: float, centre: tuple[float, float], px_per_km: float = PX_PER_KM) -> tuple[float, float]:
    """The inverse of `project`: the latitude and longitude under a pixel of the same drawing."""
    lat0, lon0 = centre
    east_km, north_km = (x - WIDTH / 2) / px_per_km, (HEIGHT / 2 - y) / px_per_km
    return (lat0 + north_km / KM_PER_DEGREE_LAT,
            lon0 + east_km / (KM_PER_DEGREE_LON_EQUATOR * math.cos(math.radians(lat0))))


def _n(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def render_map(latitude: float, longitude: float, *, commune: str, approximate: bool, address_hidden: bool = True,
               nearby: list[Place] | tuple[Place, ...] = ()) -> MapFigure:
    """The figure: a marker (exact) or a ring (approximate: the commune's centre, because the
    address is hidden or not located yet) at the centre, the commune's name, the communes
    around, a scale bar and the north."""
    centre = (latitude, longitude)
    name = escape(commune)
    if approximate:
        caption = (_("Address not disclosed: approximate position (centre of the commune)") if address_hidden
                   else _("Approximate position (centre of the commune)"))
        description = _("Approximate position: centre of %(commune)s, within about 1 km.") % {"commune": commune}
    else:
        caption = _("Position of the place of care in %(commune)s.") % {"commune": commune}
        description = caption
    title = _("Map: %(commune)s") % {"commune": commune}
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="fiche-map" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'width="{WIDTH}" height="{HEIGHT}" role="img" aria-labelledby="carte-titre carte-description">',
        f'<title id="carte-titre">{escape(title)}</title>',
        f'<desc id="carte-description">{escape(description)}</desc>',
        f'<rect x="0" y="0" width="{WIDTH}" height="{HEIGHT}" fill="#eef3f6" stroke="#5b6770"/>',
    ]
    step = 2 * PX_PER_KM  # a faint 2 km grid: distances read at a glance
    grid = [f'M{_n(x)} 0V{HEIGHT}' for x in _ticks(WIDTH, step)] + [f'M0 {_n(y)}H{WIDTH}' for y in _ticks(HEIGHT, step)]
    parts.append(f'<path d="{" ".join(grid)}" stroke="#d3dde3" stroke-width="1" fill="none"/>')
    for place in nearby:
        x, y = project(place.latitude, place.longitude, centre)
        if 8 <= x <= WIDTH - 8 and 8 <= y <= HEIGHT - 28:
            parts.append(f'<circle cx="{_n(x)}" cy="{_n(y)}" r="3" fill="#5b6770"/>'
                         f'<text x="{_n(x + 5)}" y="{_n(y - 5)}" font-size="13" fill="#3d4850">{escape(place.name)}</text>')
    cx, cy = WIDTH / 2, HEIGHT / 2
    if approximate:
        ring = RING_KM * PX_PER_KM
        parts.append(f'<circle class="fiche-map-ring" cx="{_n(cx)}" cy="{_n(cy)}" r="{_n(ring)}" fill="#b0122b" '
                     f'fill-opacity="0.15" stroke="#b0122b" stroke-width="2" stroke-dasharray="4 3"/>')
        parts.append(f'<circle cx="{_n(cx)}" cy="{_n(cy)}" r="2.5" fill="#b0122b"/>')
    else:
        # A pin whose tip is the place.
        parts.append(f'<path class="fiche-map-marker" d="M{_n(cx)} {_n(cy)}l-7 -13a8 8 0 1 1 14 0z" fill="#b0122b" '
                     f'stroke="#ffffff" stroke-width="1.5"/><circle cx="{_n(cx)}" cy="{_n(cy - 16)}" r="3" fill="#ffffff"/>')
    parts.append(f'<text x="{_n(cx)}" y="{_n(cy + 34)}" font-size="16" font-weight="bold" text-anchor="middle" '
                 f'fill="#1d252b" stroke="#eef3f6" stroke-width="3" paint-order="stroke">{name}</text>')
    bar = SCALE_KM * PX_PER_KM
    parts.append(f'<path d="M10 {HEIGHT - 12}h{_n(bar)}M10 {HEIGHT - 16}v8M{_n(10 + bar)} {HEIGHT - 16}v8" '
                 f'stroke="#1d252b" stroke-width="2" fill="none"/>'
                 f'<text x="{_n(10 + bar / 2)}" y="{HEIGHT - 18}" font-size="13" text-anchor="middle" fill="#1d252b">'
                 f'{SCALE_KM} km</text>')
    parts.append(f'<path d="M{WIDTH - 20} 30l-7 14h14z" fill="#1d252b"/>'
                 f'<text x="{WIDTH - 20}" y="24" font-size="14" font-weight="bold" text-anchor="middle" fill="#1d252b">N</text>')
    parts.append("</svg>")
    return MapFigure(Markup("".join(parts)), caption, approximate)


def _ticks(length: float, step: float) -> list[float]:
    """Grid lines through the centre, every `step` pixels."""
    middle = length / 2
    count = int(middle // step)
    return [middle + k * step for k in range(-count, count + 1)]


def render_two_points(current: tuple[float, float] | None, requested: tuple[float, float]) -> Markup:
    """The staff's figure of a correction request: the fiche's current position (grey, « A ») and
    the requested one (red, « B ») on one drawing centred between them, with a scale bar; the
    span widens to hold both. Only pixel offsets are written out, no coordinates."""
    points = [p for p in (current, requested) if p is not None]
    centre = (sum(p[0] for p in points) / len(points), sum(p[1] for p in points) / len(points))
    span_km = 1.0
    if current is not None:
        east = abs(current[1] - requested[1]) * KM_PER_DEGREE_LON_EQUATOR * math.cos(math.radians(centre[0]))
        north = abs(current[0] - requested[0]) * KM_PER_DEGREE_LAT
        span_km = max(span_km, 1.6 * max(east, north * WIDTH / HEIGHT))
    px_per_km = WIDTH / span_km

    def at(point: tuple[float, float]) -> tuple[float, float]:
        return project(point[0], point[1], centre, px_per_km)

    label = _("Current position (A) and requested position (B)")  # outside the f-string: extracted
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="correction-map" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'width="{WIDTH}" height="{HEIGHT}" role="img" aria-label="{escape(label)}">',
        f'<rect x="0" y="0" width="{WIDTH}" height="{HEIGHT}" fill="#eef3f6" stroke="#5b6770"/>',
    ]
    if current is not None:
        x, y = at(current)
        parts.append(f'<circle class="position-current" cx="{_n(x)}" cy="{_n(y)}" r="6" fill="#5b6770"/>'
                     f'<text x="{_n(x + 9)}" y="{_n(y - 8)}" font-size="14" font-weight="bold" fill="#1d252b">A</text>')
    x, y = at(requested)
    parts.append(f'<circle class="position-requested" cx="{_n(x)}" cy="{_n(y)}" r="6" fill="#b0122b"/>'
                 f'<text x="{_n(x + 9)}" y="{_n(y + 18)}" font-size="14" font-weight="bold" fill="#b0122b">B</text>')
    scale_km = next(k for k in (0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000) if k * px_per_km >= 40)
    bar = scale_km * px_per_km
    label = f"{round(scale_km * 1000)} m" if scale_km < 1 else f"{scale_km:g} km"
    parts.append(f'<path d="M10 {HEIGHT - 12}h{_n(bar)}M10 {HEIGHT - 16}v8M{_n(10 + bar)} {HEIGHT - 16}v8" '
                 f'stroke="#1d252b" stroke-width="2" fill="none"/>'
                 f'<text x="{_n(10 + bar / 2)}" y="{HEIGHT - 18}" font-size="13" text-anchor="middle" fill="#1d252b">'
                 f'{label}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


# The map she clicks on « Ma fiche » to place her home: PICKER_SPAN_KM wide around her current
# position, so one pixel is about 3 m on the ground (a click lands within a few metres of where
# she aimed on the drawing; staff check it against the national map before accepting).
PICKER_SPAN_KM = 1.0
PICKER_PX_PER_KM = WIDTH / PICKER_SPAN_KM
PICKER_GRID_M = 100
PICKER_SCALE_M = 200


def render_picker(current_label: str) -> str:
    """The clickable map of « Ma fiche »: her current position (a pin) at the centre of a
    PICKER_SPAN_KM-wide drawing, a 100 m grid, a scale bar and the north; a standalone SVG
    document (the image of an `<input type="image">`), with no coordinates in it. The point a
    click stands for is `unproject(x, y, centre, PICKER_PX_PER_KM)` of the same centre."""
    cx, cy = WIDTH / 2, HEIGHT / 2
    step = PICKER_GRID_M / 1000 * PICKER_PX_PER_KM
    grid = [f'M{_n(x)} 0V{HEIGHT}' for x in _ticks(WIDTH, step)] + [f'M0 {_n(y)}H{WIDTH}' for y in _ticks(HEIGHT, step)]
    bar = PICKER_SCALE_M / 1000 * PICKER_PX_PER_KM
    return "".join([
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}">',
        f'<rect x="0" y="0" width="{WIDTH}" height="{HEIGHT}" fill="#eef3f6" stroke="#5b6770"/>',
        f'<path d="{" ".join(grid)}" stroke="#c9d4db" stroke-width="1" fill="none"/>',
        f'<path d="M{_n(cx)} {_n(cy)}l-7 -13a8 8 0 1 1 14 0z" fill="#5b6770" stroke="#ffffff" stroke-width="1.5"/>'
        f'<circle cx="{_n(cx)}" cy="{_n(cy - 16)}" r="3" fill="#ffffff"/>',
        f'<text x="{_n(cx)}" y="{_n(cy + 20)}" font-size="13" text-anchor="middle" fill="#1d252b" stroke="#eef3f6" '
        f'stroke-width="3" paint-order="stroke">{escape(current_label)}</text>',
        f'<path d="M10 {HEIGHT - 12}h{_n(bar)}M10 {HEIGHT - 16}v8M{_n(10 + bar)} {HEIGHT - 16}v8" '
        f'stroke="#1d252b" stroke-width="2" fill="none"/>'
        f'<text x="{_n(10 + bar / 2)}" y="{HEIGHT - 18}" font-size="13" text-anchor="middle" fill="#1d252b">'
        f'{PICKER_SCALE_M} m</text>',
        f'<path d="M{WIDTH - 20} 30l-7 14h14z" fill="#1d252b"/>'
        f'<text x="{WIDTH - 20}" y="24" font-size="14" font-weight="bold" text-anchor="middle" fill="#1d252b">N</text>',
        "</svg>",
    ])
# -- the search's map: a page of results ------------------------------------------------------------

RESULTS_WIDTH, RESULTS_HEIGHT = 640, 440
MARKER_R = 15
FAN_PX = 22  # markers on one spot (fiches at one commune's centre) are spread around it


@dataclass(frozen=True)
class Marker:
    number: int
    position: tuple[float, float]  # a public position: (latitude, longitude)
    href: str
    label: str


def results_frame(points: list[tuple[float, float]], centre: tuple[float, float] | None,
                  radius_km: float | None) -> tuple[tuple[float, float], float]:
    """The drawing's middle (the searched centre, else the middle of the points) and its scale in
    pixels per km: every point and the radius's ring fit, with a margin, 4 km wide at least."""
    middle = centre if centre is not None else (sum(p[0] for p in points) / len(points),
                                                sum(p[1] for p in points) / len(points))
    ratio = RESULTS_HEIGHT / RESULTS_WIDTH
    reach = 0.0
    for lat, lon in points:
        east = abs(lon - middle[1]) * KM_PER_DEGREE_LON_EQUATOR * math.cos(math.radians(middle[0]))
        north = abs(lat - middle[0]) * KM_PER_DEGREE_LAT
        reach = max(reach, east, north / ratio)
    span_km = max(4.0, 2.5 * reach, 2.4 * radius_km / ratio if radius_km else 0.0)
    return middle, RESULTS_WIDTH / span_km


def results_pixel(point: tuple[float, float], middle: tuple[float, float], px_per_km: float) -> tuple[str, str]:
    """A point's place on the search's map, as written in the SVG."""
    east_km = (point[1] - middle[1]) * KM_PER_DEGREE_LON_EQUATOR * math.cos(math.radians(middle[0]))
    north_km = (point[0] - middle[0]) * KM_PER_DEGREE_LAT
    return _n(RESULTS_WIDTH / 2 + east_km * px_per_km), _n(RESULTS_HEIGHT / 2 - north_km * px_per_km)


def render_results_map(markers: list[Marker], *, centre: tuple[float, float] | None = None,
                       radius_km: float | None = None) -> Markup:
    """The search's figure: the centre (the commune or address searched from) and the radius's
    ring when there is one, and a numbered marker per result, each a link to its fiche. The
    markers are the results' public positions; several on one spot are spread around it, with a
    line to the spot. Only pixel offsets are written out: the SVG carries no coordinates."""
    middle, px_per_km = results_frame([m.position for m in markers], centre, radius_km)

    title = _("Map of the results")
    description = _("Numbered markers, as in the list of results; each opens the fiche. A childminder whose address is "
                    "not disclosed is placed at the centre of her commune.")
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="results-map" viewBox="0 0 {RESULTS_WIDTH} {RESULTS_HEIGHT}" '
        f'role="group" aria-labelledby="carte-resultats-titre carte-resultats-description">',
        f'<title id="carte-resultats-titre">{escape(title)}</title>',
        f'<desc id="carte-resultats-description">{escape(description)}</desc>',
        f'<rect x="0" y="0" width="{RESULTS_WIDTH}" height="{RESULTS_HEIGHT}" fill="#eef3f6" stroke="#5b6770"/>',
    ]
    cx, cy = RESULTS_WIDTH / 2, RESULTS_HEIGHT / 2
    if centre is not None:
        if radius_km:
            ring = radius_km * px_per_km
            parts.append(f'<circle class="results-map-ring" cx="{_n(cx)}" cy="{_n(cy)}" r="{_n(ring)}" fill="#1d5f8a" '
                         f'fill-opacity="0.06" stroke="#1d5f8a" stroke-width="2" stroke-dasharray="6 4"/>')
        parts.append(f'<path class="results-map-centre" d="M{_n(cx - 9)} {_n(cy)}h18M{_n(cx)} {_n(cy - 9)}v18" '
                     f'stroke="#1d252b" stroke-width="3"/>')
    spots: dict[tuple[str, str], list[Marker]] = {}
    for marker in markers:
        spots.setdefault(results_pixel(marker.position, middle, px_per_km), []).append(marker)
    for (sx, sy), here in spots.items():
        x, y = float(sx), float(sy)
        parts.append(f'<circle class="results-map-spot" cx="{sx}" cy="{sy}" r="3" fill="#1d252b"/>')
        for k, marker in enumerate(here):
            mx, my = x, y
            if len(here) > 1:
                angle = 2 * math.pi * k / len(here) - math.pi / 2
                mx, my = x + (FAN_PX + 2 * len(here)) * math.cos(angle), y + (FAN_PX + 2 * len(here)) * math.sin(angle)
                parts.append(f'<path d="M{sx} {sy}L{_n(mx)} {_n(my)}" stroke="#1d252b" stroke-width="1"/>')
            parts.append(
                f'<a class="results-map-marker" href="{escape(marker.href)}" data-numero="{marker.number}" '
                f'data-spot="{sx} {sy}" aria-label="{escape(marker.label)}">'
                f'<circle cx="{_n(mx)}" cy="{_n(my)}" r="{MARKER_R}" fill="#b0122b" stroke="#ffffff" stroke-width="2"/>'
                f'<text x="{_n(mx)}" y="{_n(my + 6)}" font-size="17" font-weight="bold" text-anchor="middle" '
                f'fill="#ffffff">{marker.number}</text></a>')
    scale_km = next(k for k in (0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500) if k * px_per_km >= 50)
    bar = scale_km * px_per_km
    parts.append(f'<path d="M10 {RESULTS_HEIGHT - 12}h{_n(bar)}M10 {RESULTS_HEIGHT - 16}v8M{_n(10 + bar)} '
                 f'{RESULTS_HEIGHT - 16}v8" stroke="#1d252b" stroke-width="2" fill="none"/>'
                 f'<text x="{_n(10 + bar / 2)}" y="{RESULTS_HEIGHT - 18}" font-size="13" text-anchor="middle" '
                 f'fill="#1d252b">{scale_km:g} km</text>')
    parts.append(f'<path d="M{RESULTS_WIDTH - 20} 30l-7 14h14z" fill="#1d252b"/>'
                 f'<text x="{RESULTS_WIDTH - 20}" y="24" font-size="14" font-weight="bold" text-anchor="middle" '
                 f'fill="#1d252b">N</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
