/* Sessions page: "Thêm phiên" adds one more blank session row (a copy of the last blank one with
 * the next index), so an organiser can add several sessions before saving. Without JavaScript the
 * page still shows one blank row after every save. */
(function () {
  "use strict";

  var form = document.querySelector("form[data-session-rows]");
  if (!form) {
    return;
  }
  var button = form.querySelector("[data-add-session]");
  if (!button) {
    return;
  }
  button.hidden = false;
  button.addEventListener("click", function () {
    var rows = form.querySelectorAll("[data-session-row]");
    var last = rows[rows.length - 1];
    var index = rows.length;
    var copy = last.cloneNode(true);
    copy.querySelectorAll("input, select, textarea, label").forEach(function (el) {
      ["name", "id", "for"].forEach(function (attr) {
        var value = el.getAttribute(attr);
        if (value) {
          el.setAttribute(attr, value.replace(/^sessions-\d+-/, "sessions-" + index + "-"));
        }
      });
      if (el.tagName === "INPUT" && el.type !== "checkbox" && el.type !== "hidden") {
        el.value = el.name && el.name.slice(-16) === "-meeting_minutes" ? "20" : "";
      }
      if (el.type === "hidden") {
        el.value = "";
      }
      el.removeAttribute("aria-invalid");
    });
    copy.querySelectorAll(".field-error").forEach(function (el) { el.remove(); });
    var remove = copy.querySelector("input[type=checkbox]");
    if (remove && remove.closest("label")) {
      remove.closest("label").remove();
    }
    var legend = copy.querySelector("legend");
    if (legend) {
      legend.textContent = button.getAttribute("data-new-label") || legend.textContent;
    }
    last.parentNode.appendChild(copy);
  });
})();
