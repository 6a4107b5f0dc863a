"""The search's SVG map (pure): the list's numbers, each marker a link, fiches on one spot fanned
around it with the spot itself exact, the radius's ring, and no coordinates written out."""

from __future__ import annotations

import re

from assmat.portal.profile.svgmap import Marker, results_frame, results_pixel, render_results_map

AUCH = (43.6465, 0.5855)
PAVIE = (43.6100, 0.5910)


def test_markers_are_numbered_links_and_one_spot_holds_every_fiche_placed_there():
    markers = [Marker(1, AUCH, "/assistants/aaaaaaaaaaaa?retour=%2Frecherche", "1. Anne A, 32000 Auch"),
               Marker(2, AUCH, "/assistants/bbbbbbbbbbbb", "2. Anne B, 32000 Auch"),
               Marker(3, PAVIE, "/assistants/cccccccccccc", "3. Anne C, 32550 Pavie")]
    svg = str(render_results_map(markers, centre=AUCH, radius_km=5))
    found = re.findall(r'<a class="results-map-marker" href="([^"]+)" data-numero="(\d)" data-spot="([^"]+)"', svg)
    assert [number for _h, number, _s in found] == ["1", "2", "3"]
    middle, scale = results_frame([AUCH, AUCH, PAVIE], AUCH, 5)
    auch, pavie = " ".join(results_pixel(AUCH, middle, scale)), " ".join(results_pixel(PAVIE, middle, scale))
    assert [spot for _h, _n, spot in found] == [auch, auch, pavie]
    assert auch == "320 220"  # the centre searched from is the drawing's middle
    circles = re.findall(r'<circle cx="([\d.]+)" cy="([\d.]+)" r="15"', svg)
    assert circles[0] != circles[1]  # fanned, both clickable
    assert svg.count('class="results-map-ring"') == 1 and 'role="group"' in svg
    assert "43.6" not in svg and "0.58" not in svg and "0.59" not in svg  # pixels only


def test_without_a_centre_the_map_frames_the_results_and_draws_no_ring():
    svg = str(render_results_map([Marker(1, AUCH, "/assistants/a", "1"), Marker(2, PAVIE, "/assistants/b", "2")]))
    assert "results-map-ring" not in svg and "results-map-centre" not in svg
    for x, y in re.findall(r'data-spot="([\d.]+) ([\d.]+)"', svg):
        assert 0 < float(x) < 640 and 0 < float(y) < 440
