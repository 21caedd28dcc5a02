// A kiosk left alone goes back to an empty ballot, so no choice stays on screen. Without
// JavaScript a <noscript> meta refresh on the ballot pages does the same on a fixed timer.
(function () {
  "use strict";
  var home = document.body.dataset.kioskHome;
  if (!home) return;
  var IDLE_MS = (parseInt(document.body.dataset.kioskIdle, 10) || 120) * 1000;
  var timer = null;
  function reset() {
    window.clearTimeout(timer);
    timer = window.setTimeout(function () { window.location.replace(home); }, IDLE_MS);
  }
  ["keydown", "pointerdown", "input", "touchstart"].forEach(function (name) {
    document.addEventListener(name, reset, { passive: true });
  });
  reset();
})();
