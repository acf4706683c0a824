/* Autocomplete for search boxes marked data-autocomplete (the header box).
 *
 * Debounced (200 ms) fetch of GET data-suggest-url?q=… → {"suggestions": [...]}, at most 8 shown
 * in a listbox under the input. ARIA 1.2 combobox: role=combobox, aria-expanded, aria-controls,
 * aria-activedescendant; options role=option. ArrowDown/ArrowUp move, Enter picks (fills the box
 * and submits the search), Escape closes; a click picks too. No dependencies, no inline script.
 */
(function () {
  "use strict";

  var DELAY = 200;
  var MAX = 8;

  function setup(input, index) {
    var form = input.form;
    var url = input.getAttribute("data-suggest-url") || "/goi-y";
    var listId = "autocomplete-list-" + index;
    var list = document.createElement("ul");
    list.id = listId;
    list.className = "autocomplete-list";
    list.setAttribute("role", "listbox");
    list.setAttribute("aria-label", input.getAttribute("aria-label") || "");
    list.hidden = true;
    input.insertAdjacentElement("afterend", list);

    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-expanded", "false");
    input.setAttribute("aria-controls", listId);

    var timer = null;
    var controller = null;
    var items = [];
    var active = -1;

    function close() {
      list.hidden = true;
      list.textContent = "";
      items = [];
      active = -1;
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
    }

    function highlight(i) {
      var options = list.children;
      for (var k = 0; k < options.length; k++) {
        var on = k === i;
        options[k].setAttribute("aria-selected", on ? "true" : "false");
        options[k].classList.toggle("active", on);
      }
      active = i;
      if (i >= 0 && options[i]) {
        input.setAttribute("aria-activedescendant", options[i].id);
        if (options[i].scrollIntoView) options[i].scrollIntoView({ block: "nearest" });
      } else {
        input.removeAttribute("aria-activedescendant");
      }
    }

    function pick(i) {
      if (i < 0 || i >= items.length) return;
      input.value = items[i];
      close();
      if (!form) return;
      if (form.requestSubmit) form.requestSubmit();
      else form.submit();
    }

    function render(suggestions) {
      list.textContent = "";
      items = suggestions.filter(function (s) { return typeof s === "string" && s; }).slice(0, MAX);
      active = -1;
      input.removeAttribute("aria-activedescendant");
      if (!items.length) {
        close();
        return;
      }
      items.forEach(function (text, i) {
        var option = document.createElement("li");
        option.id = listId + "-" + i;
        option.setAttribute("role", "option");
        option.setAttribute("aria-selected", "false");
        option.textContent = text;
        // mousedown, not click: keep the focus in the input (no blur closing the list first).
        option.addEventListener("mousedown", function (event) {
          event.preventDefault();
          pick(i);
        });
        option.addEventListener("mousemove", function () {
          if (active !== i) highlight(i);
        });
        list.appendChild(option);
      });
      list.hidden = false;
      input.setAttribute("aria-expanded", "true");
    }

    function load() {
      var q = input.value.trim();
      if (!q) {
        close();
        return;
      }
      if (controller) controller.abort();
      controller = window.AbortController ? new AbortController() : null;
      var target = url + (url.indexOf("?") < 0 ? "?" : "&") + "q=" + encodeURIComponent(q);
      fetch(target, {
        headers: { Accept: "application/json" },
        credentials: "same-origin",
        signal: controller ? controller.signal : undefined,
      })
        .then(function (response) { return response.ok ? response.json() : { suggestions: [] }; })
        .then(function (data) {
          if (input.value.trim() !== q || document.activeElement !== input) return; // stale answer
          render(data && Array.isArray(data.suggestions) ? data.suggestions : []);
        })
        .catch(function () { /* aborted or offline: keep the box usable */ });
    }

    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(load, DELAY);
    });

    input.addEventListener("keydown", function (event) {
      var open = !list.hidden && items.length > 0;
      switch (event.key) {
        case "ArrowDown":
          event.preventDefault();
          if (open) highlight(active + 1 >= items.length ? 0 : active + 1);
          else load();
          break;
        case "ArrowUp":
          if (open) {
            event.preventDefault();
            highlight(active <= 0 ? items.length - 1 : active - 1);
          }
          break;
        case "Enter":
          if (open && active >= 0) {
            event.preventDefault();
            pick(active);
          } else {
            close();
          }
          break;
        case "Escape":
          if (open) {
            event.preventDefault(); // keep what was typed (a search input clears on Escape)
            close();
          }
          break;
        case "Tab":
          close();
          break;
        default:
          break;
      }
    });

    input.addEventListener("blur", function () {
      clearTimeout(timer);
      close();
    });
  }

  function init() {
    var inputs = document.querySelectorAll("input[data-autocomplete]");
    for (var i = 0; i < inputs.length; i++) setup(inputs[i], i);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
