/* Progressive enhancement: a map of proposals on the round page, and a location picker on the
   proposal form. Without JavaScript (or without the map tiles) the page still lists every
   proposal and the form still takes latitude and longitude as numbers. */
(function () {
  "use strict";
  if (typeof L === "undefined") return;
  // The tile server is a setting (MAP_TILE_URL), so a council can use its own.
  var script = document.currentScript;
  var tiles = (script && script.dataset.tiles) || "https://tile.openstreetmap.org/{z}/{x}/{y}.png";
  var attribution = (script && script.dataset.attribution) ||
    '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors';

  var mapEl = document.getElementById("proposal-map");
  if (mapEl) {
    var points = JSON.parse(document.getElementById("proposal-points").textContent);
    if (points.length) {
      mapEl.hidden = false;
      var map = L.map(mapEl, { keyboard: true });
      L.tileLayer(tiles, { maxZoom: 19, attribution: attribution }).addTo(map);
      var bounds = [];
      points.forEach(function (p) {
        var marker = L.marker([p.lat, p.lng], { title: p.title, alt: p.title }).addTo(map);
        var link = document.createElement("a");
        link.href = p.url;
        link.textContent = p.title;
        marker.bindPopup(link);
        bounds.push([p.lat, p.lng]);
      });
      map.fitBounds(bounds, { maxZoom: 16, padding: [20, 20] });
    }
  }

  var lat = document.getElementById("id_latitude");
  var lng = document.getElementById("id_longitude");
  var picker = document.getElementById("location-picker");
  if (lat && lng && picker) {
    picker.hidden = false;
    var start = lat.value && lng.value ? [parseFloat(lat.value), parseFloat(lng.value)] : [54.07, -2.86];
    var pickMap = L.map(picker).setView(start, lat.value ? 16 : 12);
    L.tileLayer(tiles, { maxZoom: 19, attribution: attribution }).addTo(pickMap);
    var pin = lat.value ? L.marker(start).addTo(pickMap) : null;
    pickMap.on("click", function (e) {
      lat.value = e.latlng.lat.toFixed(5);
      lng.value = e.latlng.lng.toFixed(5);
      if (pin) pin.setLatLng(e.latlng); else pin = L.marker(e.latlng).addTo(pickMap);
    });
  }
})();
