/* Colours and bar widths from data attributes (the page may hold no inline style: see the CSP), so the
 * palette is defined once, in reports/style.py, for the PDF and the dashboard alike. */
(function () {
  "use strict";
  window.stanceColourise = function (root) {
    Array.prototype.forEach.call(root.querySelectorAll("[data-colour]"), function (el) {
      var colour = el.getAttribute("data-colour");
      if (!/^#[0-9A-Fa-f]{6}$/.test(colour)) return;
      if (el.classList.contains("swatch") || el.classList.contains("bar")) el.style.background = colour;
      else el.style.color = colour;
    });
    Array.prototype.forEach.call(root.querySelectorAll("[data-width]"), function (el) {
      var width = parseFloat(el.getAttribute("data-width"));
      if (isFinite(width)) el.style.width = Math.max(0, Math.min(100, width)) + "%";
    });
  };
  document.addEventListener("DOMContentLoaded", function () { window.stanceColourise(document); });
})();
