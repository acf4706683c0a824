/* Sales point maps (Leaflet from static/vendor/leaflet, never a CDN).
 *
 * [data-sales-points-map]   a map of the points listed in the JSON element named by data-points;
 *                           tiles from data-tile-url ('' = none: markers on a blank map, with the
 *                           districts' names as landmarks; the same when tiles fail to load).
 * [data-sales-point-picker] a map where a click fills the inputs named by data-lat / data-lng.
 * [data-near-me]            a button: asks the browser's location, reloads with ?near=lat,lng.
 * Everything degrades: without JavaScript or Leaflet the list and the typed coordinates work.
 */
(function () {
  "use strict";

  var HANOI = [21.028, 105.834];

  function readJson(id) {
    var el = id && document.getElementById(id);
    if (!el) return null;
    try { return JSON.parse(el.textContent || "null"); } catch (e) { return null; }
  }

  function text(tag, value, className) {
    var el = document.createElement(tag);
    el.textContent = value;
    if (className) el.className = className;
    return el;
  }

  function popup(point) {
    var box = document.createElement("div");
    var title = document.createElement("strong");
    if (point.url) {
      var link = text("a", point.name);
      link.href = point.url;
      title.appendChild(link);
    } else {
      title.textContent = point.name;
    }
    box.appendChild(title);
    if (point.kind) box.appendChild(text("div", point.kind, "muted"));
    if (point.address) box.appendChild(text("div", point.address));
    if (point.hours) box.appendChild(text("div", "🕘 " + point.hours));
    return box;
  }

  function baseLayer(map, el) {
    var url = el.getAttribute("data-tile-url") || "";
    var landmarks = readJson(el.getAttribute("data-districts")) || [];
    var shown = false;
    function showLandmarks() {
      if (shown) return;
      shown = true;
      el.classList.add("map-no-tiles");
      landmarks.forEach(function (d) {
        L.circleMarker([d.lat, d.lng], { radius: 2, color: "#999", weight: 1, interactive: false })
          .bindTooltip(d.name, { permanent: true, direction: "right", className: "district-label", interactive: false })
          .addTo(map);
      });
    }
    if (!url) { showLandmarks(); return; }
    var layer = L.tileLayer(url, { maxZoom: 19, attribution: el.getAttribute("data-attribution") || "" });
    layer.on("tileerror", showLandmarks);
    layer.addTo(map);
  }

  function pointsMap(el) {
    var points = readJson(el.getAttribute("data-points")) || [];
    var map = L.map(el, { scrollWheelZoom: false });
    baseLayer(map, el);
    var bounds = [];
    points.forEach(function (p) {
      if (typeof p.lat !== "number" || typeof p.lng !== "number") return;
      var marker = L.marker([p.lat, p.lng], { title: p.name, alt: p.name }).addTo(map);
      marker.bindPopup(popup(p));
      bounds.push([p.lat, p.lng]);
    });
    if (bounds.length > 1) map.fitBounds(bounds, { padding: [30, 30], maxZoom: 15 });
    else if (bounds.length === 1) map.setView(bounds[0], 15);
    else map.setView(HANOI, 10);
    el.setAttribute("data-ready", String(bounds.length));
  }

  function pickerMap(el) {
    var lat = document.getElementById(el.getAttribute("data-lat"));
    var lng = document.getElementById(el.getAttribute("data-lng"));
    if (!lat || !lng) return;
    var map = L.map(el, { scrollWheelZoom: false });
    baseLayer(map, el);
    var marker = null;
    function read() {
      var a = parseFloat(String(lat.value).replace(",", "."));
      var b = parseFloat(String(lng.value).replace(",", "."));
      return isFinite(a) && isFinite(b) && Math.abs(a) <= 90 && Math.abs(b) <= 180 ? [a, b] : null;
    }
    function place(position, pan) {
      if (!marker) {
        marker = L.marker(position, { draggable: true }).addTo(map);
        marker.on("dragend", function () {
          var ll = marker.getLatLng();
          lat.value = ll.lat.toFixed(6);
          lng.value = ll.lng.toFixed(6);
        });
      } else {
        marker.setLatLng(position);
      }
      if (pan) map.panTo(position);
    }
    var start = read();
    map.setView(start || HANOI, start ? 15 : 10);
    if (start) place(start, false);
    map.on("click", function (event) {
      lat.value = event.latlng.lat.toFixed(6);
      lng.value = event.latlng.lng.toFixed(6);
      place(event.latlng, false);
    });
    [lat, lng].forEach(function (input) {
      input.addEventListener("change", function () {
        var position = read();
        if (position) place(position, true);
      });
    });
    el.setAttribute("data-ready", "1");
  }

  function nearMe(button) {
    var status = document.getElementById(button.getAttribute("data-status") || "");
    function say(message) { if (status) status.textContent = message || ""; }
    if (!("geolocation" in navigator)) { button.hidden = true; return; }
    button.hidden = false;
    button.addEventListener("click", function () {
      say(button.getAttribute("data-locating"));
      button.setAttribute("aria-busy", "true");
      navigator.geolocation.getCurrentPosition(function (pos) {
        var url = new URL(window.location.href);
        url.searchParams.set("near", pos.coords.latitude.toFixed(5) + "," + pos.coords.longitude.toFixed(5));
        url.searchParams.delete("page");
        window.location.assign(url.toString());
      }, function () {
        button.removeAttribute("aria-busy");
        say(button.getAttribute("data-denied"));
      }, { enableHighAccuracy: false, timeout: 10000, maximumAge: 300000 });
    });
  }

  function init() {
    document.querySelectorAll("[data-near-me]").forEach(nearMe);
    if (typeof window.L === "undefined") {
      document.querySelectorAll("[data-sales-points-map], [data-sales-point-picker]").forEach(function (el) {
        el.hidden = true;
      });
      return;
    }
    document.querySelectorAll("[data-sales-points-map]").forEach(pointsMap);
    document.querySelectorAll("[data-sales-point-picker]").forEach(pickerMap);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
