/* "Where to buy" on a product page: nearest sales points first.
 *
 * <ul data-where-to-buy data-product="REF" data-api="/api/v1/sales-points"> with <li data-ref="..">
 * items, each holding an empty [data-distance] span; a [data-near-me] button inside the section.
 * The visitor's location comes from the browser (after a click) or from ?near=lat,lng in the page
 * address; the API (GET /api/v1/sales-points?product=REF&near=lat,lng) gives the order and the
 * distances. Without JavaScript the server's order (district, name) stays.
 */
(function () {
  "use strict";

  function format(km) {
    var lang = document.documentElement.lang || "vi";
    var digits = km < 10 ? 1 : 0;
    return km.toLocaleString(lang, { maximumFractionDigits: digits, minimumFractionDigits: digits }) + " km";
  }

  function parseNear(value) {
    var parts = String(value || "").split(",");
    if (parts.length !== 2) return null;
    var lat = parseFloat(parts[0]), lng = parseFloat(parts[1]);
    if (!isFinite(lat) || !isFinite(lng) || Math.abs(lat) > 90 || Math.abs(lng) > 180) return null;
    return [lat, lng];
  }

  function setup(list) {
    var section = list.closest("section") || document;
    var button = section.querySelector("[data-near-me]");
    var status = section.querySelector("[data-near-status]");
    function say(key) { if (status) status.textContent = key ? list.getAttribute("data-msg-" + key) || "" : ""; }

    function sort(lat, lng) {
      var url = new URL(list.getAttribute("data-api"), window.location.href);
      url.searchParams.set("product", list.getAttribute("data-product"));
      url.searchParams.set("near", lat.toFixed(5) + "," + lng.toFixed(5));
      url.searchParams.set("per_page", "100");
      say("loading");
      return fetch(url.toString(), { headers: { Accept: "application/json" }, credentials: "omit" })
        .then(function (response) {
          if (!response.ok) throw new Error(String(response.status));
          return response.json();
        })
        .then(function (body) {
          var items = {};
          list.querySelectorAll("li[data-ref]").forEach(function (li) { items[li.getAttribute("data-ref")] = li; });
          (body.items || []).forEach(function (point) {
            var li = items[point.ref];
            if (!li) return;
            var span = li.querySelector("[data-distance]");
            if (span && typeof point.distance_km === "number") span.textContent = "· " + format(point.distance_km);
            list.appendChild(li); // moves it after the ones already sorted
            delete items[point.ref];
          });
          Object.keys(items).forEach(function (ref) { list.appendChild(items[ref]); });
          list.setAttribute("data-sorted", "near");
          say("sorted");
        })
        .catch(function () { say("failed"); });
    }

    var fromAddress = parseNear(new URL(window.location.href).searchParams.get("near"));
    if (fromAddress) sort(fromAddress[0], fromAddress[1]);

    if (!button) return;
    if (!("geolocation" in navigator)) return;
    button.hidden = false;
    button.addEventListener("click", function () {
      say("locating");
      navigator.geolocation.getCurrentPosition(
        function (pos) { sort(pos.coords.latitude, pos.coords.longitude); },
        function () { say("denied"); },
        { enableHighAccuracy: false, timeout: 10000, maximumAge: 300000 }
      );
    });
  }

  function init() { document.querySelectorAll("[data-where-to-buy]").forEach(setup); }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
