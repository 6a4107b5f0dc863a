// The optional interactive map of a page of results (tenants whose configuration sets `map`):
// Leaflet over the tenant's tiles, the same numbered markers as the server's SVG map, each
// opening the fiche. The list stays the page's content; without this script the SVG map shows.
(function () {
  "use strict";
  var holder = document.getElementById("carte-interactive");
  var source = document.getElementById("carte-donnees");
  if (!holder || !source || !window.L) { return; }
  var data = JSON.parse(source.textContent);
  holder.hidden = false;
  var map = window.L.map(holder, { scrollWheelZoom: false });
  var attribution = document.createElement("span");
  attribution.textContent = data.attribution;  // plain text, never HTML
  window.L.tileLayer(data.tiles, { maxZoom: 18, attribution: attribution.innerHTML }).addTo(map);
  var bounds = window.L.latLngBounds([]);
  if (data.centre) {
    bounds.extend(data.centre);
    if (data.radius_m) {
      window.L.circle(data.centre, { radius: data.radius_m, color: "#1d5f8a", weight: 2, fillOpacity: 0.05 }).addTo(map);
      bounds.extend(window.L.latLng(data.centre).toBounds(2 * data.radius_m));
    }
  }
  // Fiches on one spot (a commune's centre) are fanned around it, in pixels, as on the SVG map.
  var spots = {};
  data.points.forEach(function (point) {
    var key = point.lat + " " + point.lon;
    spots[key] = (spots[key] || []).concat([point]);
  });
  data.points.forEach(function (point) {
    var here = spots[point.lat + " " + point.lon];
    var k = here.indexOf(point);
    var reach = here.length > 1 ? 18 + 3 * here.length : 0;
    var angle = 2 * Math.PI * k / here.length - Math.PI / 2;
    var anchor = [15 - reach * Math.cos(angle), 15 - reach * Math.sin(angle)];
    var icon = window.L.divIcon({ className: "results-map-pin", html: String(point.number), iconSize: [30, 30],
                                  iconAnchor: anchor });
    var marker = window.L.marker([point.lat, point.lon], { icon: icon, title: point.label, alt: point.label, keyboard: true });
    marker.on("click", function () { window.location.href = point.href; });
    // Leaflet focuses a marker (tabindex, role "button") but opens nothing on Enter without a popup.
    marker.on("keypress", function (event) {
      if (event.originalEvent.key === "Enter") { window.location.href = point.href; }
    });
    marker.addTo(map);
    bounds.extend([point.lat, point.lon]);
  });
  map.fitBounds(bounds, { padding: [24, 24], maxZoom: 15 });
  var figure = document.querySelector(".results-map-figure");
  if (figure) { figure.hidden = true; }
}());
