// The venue screen follows the event: every few seconds it fetches itself and swaps in the new
// content, without the flash of a full reload. Without JavaScript a <noscript> meta refresh does it.
(function () {
  "use strict";
  var seconds = parseInt(document.body.dataset.refreshSeconds, 10) || 5;
  function refresh() {
    fetch(window.location.href, { headers: { "X-Requested-With": "fetch" }, cache: "no-store" })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        if (!html) return;
        var next = new DOMParser().parseFromString(html, "text/html").querySelector("main");
        var main = document.querySelector("main");
        if (next && main && next.innerHTML !== main.innerHTML) main.innerHTML = next.innerHTML;
      })
      .catch(function () {})
      .then(function () { window.setTimeout(refresh, seconds * 1000); });
  }
  window.setTimeout(refresh, seconds * 1000);
})();
