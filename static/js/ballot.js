// The QR code on a voter's card opens this page with the code in the address's fragment
// (#code=...): a fragment never leaves the browser, so the code is in no server's access log.
// Without JavaScript the voter types the code printed beside the QR code.
(function () {
  "use strict";
  var match = /(?:^#|&)code=([A-Za-z0-9-]{1,40})/.exec(window.location.hash || "");
  if (!match) return;
  var field = document.querySelector("input[name=voter_code]");
  if (field && !field.value) field.value = match[1].toUpperCase();
  // Out of the address bar and the history, so the next person at this device cannot read it.
  if (window.history && window.history.replaceState) {
    window.history.replaceState(null, "", window.location.pathname + window.location.search);
  }
})();

// Progressive enhancement only: the ballot works without this. It shows a running total (cost
// against the limit, number chosen, or points used) in a polite live region as choices change.
(function () {
  "use strict";
  var form = document.querySelector("form.ballot");
  if (!form) return;
  var out = form.querySelector("[data-running-total]");
  if (!out) return;
  var kind = form.dataset.ballotType;
  var limit = parseInt(form.dataset.limit, 10);
  var points = parseInt(form.dataset.points, 10);
  // Amounts as the page's language writes them ("£12,500", "12 500 £"), like the server does.
  var lang = document.documentElement.lang || "en-GB";
  var currency = form.dataset.currency || "GBP";

  function money(minor) {
    var digits = minor % 100 ? 2 : 0;
    var options = { style: "currency", currency: currency, currencyDisplay: "narrowSymbol",
      minimumFractionDigits: digits, maximumFractionDigits: digits };
    var text;
    try {
      text = new Intl.NumberFormat(lang, options).format(minor / 100);
    } catch (e) {
      text = new Intl.NumberFormat("en-GB", options).format(minor / 100);
    }
    // In right-to-left text an amount is isolated, or "£20,000" would read "20,000£".
    return document.documentElement.dir === "rtl" ? "\u2066" + text + "\u2069" : text;
  }

  function fill(template, values) {
    return template.replace(/\{(\w+)\}/g, function (_, key) { return values[key]; });
  }

  function update() {
    var text = "";
    var over = false;
    var t = out.dataset;
    if (kind === "approval_budget" || kind === "approval_count") {
      var boxes = form.querySelectorAll("input[name=choice]:checked");
      var total = 0;
      boxes.forEach(function (b) { total += parseInt(b.dataset.cost, 10) || 0; });
      if (kind === "approval_budget") {
        over = total > limit;
        text = fill(over ? t.textOver : t.textBudget,
          { total: money(total), limit: money(limit), left: money(limit - total) });
      } else {
        text = fill(t.textCount, { n: boxes.length });
      }
    } else if (kind === "cumulative") {
      var used = 0;
      form.querySelectorAll("input.points").forEach(function (i) { used += parseInt(i.value, 10) || 0; });
      over = used > points;
      text = fill(t.textPoints, { used: used, points: points });
    } else {
      return;
    }
    out.textContent = text;
    out.classList.toggle("over", over);
    out.hidden = false;
  }

  form.addEventListener("change", update);
  form.addEventListener("input", update);
  update();
})();
