/* Small page behaviours without inline handlers (the Content-Security-Policy forbids inline script).
 *
 *   <form data-confirm="Xóa mục này?">   asks before submitting; "Hủy" keeps the page as it is.
 *   <button type="button" data-print>    prints the page (label sheets).
 *   <input data-select-on-focus>         selects its whole value on focus (links to copy).
 */
(function () {
  "use strict";

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.hasAttribute("data-confirm")) {
      return;
    }
    if (!window.confirm(form.getAttribute("data-confirm"))) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  }, true);

  document.addEventListener("click", function (event) {
    var target = event.target instanceof Element ? event.target.closest("[data-print]") : null;
    if (target) {
      event.preventDefault();
      window.print();
    }
  });

  document.addEventListener("focusin", function (event) {
    var target = event.target;
    if (target instanceof HTMLInputElement && target.hasAttribute("data-select-on-focus")) {
      target.select();
    }
  });
})();
