// What every page needs from script; pages still work without it.
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  // The menu folds behind one button on a phone (CSS shows the button below 760px).
  document.addEventListener("click", function (event) {
    var toggle = event.target.closest ? event.target.closest(".menu-toggle") : null;
    if (!toggle) return;
    var header = toggle.closest("header");
    var open = header.classList.toggle("menu-open");
    toggle.setAttribute("aria-expanded", open ? "true" : "false");
  });

  // A box that scrolls sideways (a wide table in a card) must be reachable by keyboard
  // (WCAG 2.1.1): make it focusable and name it after its heading.
  function markScrollable(root) {
    var boxes = root.querySelectorAll(".card, .table-scroll, table.list");
    for (var i = 0; i < boxes.length; i++) {
      var box = boxes[i];
      if (box.scrollWidth <= box.clientWidth + 1 || box.hasAttribute("tabindex")) continue;
      box.tabIndex = 0;
      if (!box.hasAttribute("aria-label") && !box.hasAttribute("aria-labelledby")) {
        var heading = box.querySelector("h2, h3");
        box.setAttribute("role", "region");
        box.setAttribute("aria-label", heading ? heading.textContent.trim() : document.title);
      }
    }
  }
  document.addEventListener("DOMContentLoaded", function () { markScrollable(document); });
  document.addEventListener("htmx:afterSettle", function () { markScrollable(document); });
  window.addEventListener("resize", function () { markScrollable(document); });
})();
