// Draws a day plan's depots, compound gates and routes with Leaflet, without any tile server:
// the plain background is enough to see which gate is on which route.
(function () {
  "use strict";
  function draw() {
    var element = document.getElementById("plan-map");
    var source = document.getElementById("plan-map-data");
    if (!element || !source || typeof L === "undefined") {
      return;
    }
    var data = JSON.parse(source.textContent);
    var map = L.map(element, { attributionControl: false, zoomSnap: 0.25 });
    var colours = ["#1565c0", "#2e7d32", "#6a1b9a", "#ef6c00", "#00838f", "#5d4037", "#ad1457", "#37474f"];
    var bounds = [];
    var vehicles = {};
    (data.routes || []).forEach(function (route) {
      if (!(route.vehicle in vehicles)) {
        vehicles[route.vehicle] = colours[Object.keys(vehicles).length % colours.length];
      }
      L.polyline(route.points, { color: vehicles[route.vehicle], weight: 3 }).bindTooltip(route.vehicle).addTo(map);
      route.points.forEach(function (p) { bounds.push(p); });
    });
    (data.gates || []).forEach(function (gate) {
      var p = [gate.lat, gate.lon];
      bounds.push(p);
      L.circleMarker(p, { radius: 6, color: gate.routed ? "#1b5e20" : "#c62828", fillOpacity: 0.8 })
        .bindTooltip(gate.name + " · " + gate.kg.toFixed(1) + " kg")
        .addTo(map);
    });
    (data.depots || []).forEach(function (depot) {
      var p = [depot.lat, depot.lon];
      bounds.push(p);
      var d = 0.0015;
      L.rectangle([[depot.lat - d, depot.lon - d], [depot.lat + d, depot.lon + d]], { color: "#000", weight: 2, fillOpacity: 0.9 })
        .bindTooltip(depot.name)
        .addTo(map);
    });
    if (bounds.length) {
      map.fitBounds(bounds, { padding: [20, 20], maxZoom: 16 });
    } else {
      map.setView([31.23, 121.47], 11);
    }
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
