/* Live room: an enhancement of the plain page. Without JavaScript the page reads the room from
 * its log and posts forms; with it, this script joins /ws/rooms/<id>/ with the last sequence
 * number the page was rendered from, applies each event as it arrives (the same rules as
 * deliberation/selectors.py apply_event), sends forms marked data-frame as protocol frames,
 * and reconnects with last_seq so nothing is missed or shown twice. Text is always set with
 * textContent, never parsed as HTML. */
(function () {
  "use strict";
  var root = document.getElementById("room");
  if (!root || !("WebSocket" in window)) return;

  var mode = root.dataset.mode;
  var me = root.dataset.user ? Number(root.dataset.user) : null;
  var canTakePart = root.dataset.canTakePart === "true";
  var canRun = root.dataset.canRun === "true";
  var state = JSON.parse(document.getElementById("room-state").textContent);
  var L = JSON.parse(document.getElementById("room-labels").textContent);
  var lastSeq = state.last_seq;
  var contributions = {};
  state.contributions.forEach(function (c) { contributions[c.id] = c; });
  var polls = {};
  state.polls.forEach(function (p) { polls[p.id] = p; });
  var ws = null;
  var backoff = 500;
  var refs = 0;
  var pending = {};

  function $(sel, el) { return (el || document).querySelector(sel); }
  function $$(sel, el) { return Array.prototype.slice.call((el || document).querySelectorAll(sel)); }
  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }
  function csrf() { var i = $("input[name=csrfmiddlewaretoken]"); return i ? i.value : ""; }
  // A count with its noun, in the page's language: the page gives each plural category's words
  // (backend/plurals.py), and the browser knows which category a number is in.
  function plural(forms, n) {
    var category = new Intl.PluralRules(document.documentElement.lang || "en").select(n);
    return (forms[category] || forms.other || "").split("{n}").join(String(n));
  }
  function announce(text) { var s = $("#live-status"); if (s) s.textContent = text; }

  // --- Connection ---------------------------------------------------------------------------
  function connect() {
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    root.dataset.live = "connecting";
    ws = new WebSocket(scheme + location.host + root.dataset.ws);
    ws.onopen = function () {
      backoff = 500;
      ws.send(JSON.stringify({ type: "join", last_seq: lastSeq }));
    };
    ws.onmessage = function (message) { handle(JSON.parse(message.data)); };
    ws.onclose = function (event) {
      ws = null;
      root.dataset.live = "off";
      if (event.code === 4404 || event.code === 4403) return;
      // Logged out (here or in another tab) or the account was closed: the page shows what
      // someone signed out may do.
      if (event.code === 4401) { location.reload(); return; }
      announce(L.offline);
      setTimeout(connect, backoff);
      backoff = Math.min(backoff * 2, 10000);
    };
  }

  function handle(frame) {
    if (frame.type === "batch") { // events that arrived together, in order
      frame.events.forEach(handle);
      return;
    }
    if (frame.type === "event") {
      if (frame.seq <= lastSeq) return; // already shown (the page or an earlier frame)
      lastSeq = frame.seq;
      apply(frame.event, frame.data);
    } else if (frame.type === "joined") {
      lastSeq = Math.max(lastSeq, frame.last_seq);
      root.dataset.live = "on";
      root.dataset.seq = String(lastSeq);
      presence(frame.count);
    } else if (frame.type === "presence") {
      presence(frame.count);
    } else if (frame.type === "error") {
      showError(frame);
    }
    root.dataset.seq = String(lastSeq);
  }

  function presence(count) {
    var p = $("#presence");
    if (!p || mode === "screen") return;
    p.hidden = false;
    p.textContent = " · " + plural(L.people_here, count);
  }

  // --- Events -------------------------------------------------------------------------------
  function apply(type, data) {
    if (type === "opened" || type === "closed") { location.reload(); return; }
    if (type === "said") said(data);
    else if (type === "reactions") { // reactions and hands in aggregate, a few a second
      (data.reacted || []).forEach(reacted);
      if (data.queue) queue("hand", data);
    }
    else if (type === "reacted") reacted(data); // one reaction (logs from before aggregation)
    else if (type === "pinned") pinned(data);
    else if (type === "hidden") hidden(data);
    else if (type === "hand" || type === "speaker" || type === "muted") queue(type, data);
    else if (type === "agenda") agenda(data.item);
    else if (type === "timer") { state.timer_ends_at = data.ends_at; setTimer(); }
    else if (type === "poll_opened") pollOpened(data.poll);
    else if (type === "poll_voted" || type === "poll_closed") pollUpdated(type, data);
  }

  function said(data) {
    var c = Object.assign({}, data, { hidden: false, pinned: false, counts: { agree: 0, disagree: 0, unsure: 0 } });
    contributions[c.id] = c;
    var list = $("#contributions");
    var tpl = $("#contribution-template");
    if (!list || !tpl) return;
    var holder = document.createElement("ol");
    holder.innerHTML = tpl.innerHTML.split("__ID__").join(String(c.id))
      .split("__AUTHOR__").join(String(c.author.id))
      .split("__REPLY__").join(String(c.reply_to || ""));
    var li = holder.firstElementChild;
    $(".c-author", li).textContent = c.author.name;
    $(".c-kind", li).textContent = L.kinds[c.kind] || c.kind;
    $(".c-text", li).textContent = c.text;
    // Written in the writer's language: say so, for screen readers and right-to-left text.
    if (c.language) { $(".c-text", li).lang = c.language; }
    $(".c-text", li).dir = "auto";
    li.className = "contribution kind-" + c.kind;
    var about = $(".c-proposal", li);
    if (c.proposal) { $(".c-proposal-title", li).textContent = c.proposal.title; about.hidden = false; } else { about.hidden = true; }
    var reply = $(".c-reply", li);
    var parent = c.reply_to ? contributions[c.reply_to] : null;
    if (parent) { $(".c-reply-author", li).textContent = parent.author.name; reply.hidden = false; } else { reply.hidden = true; }
    var replyTo = $(".c-reply-to .visually-hidden", li);
    if (replyTo) replyTo.textContent = " " + c.author.name;
    list.appendChild(li);
    var empty = $("#contributions-empty");
    if (empty) empty.hidden = true;
    if (me !== null && c.author.id === me) {
      var form = $("#say");
      if (form) {
        $("#say-text").value = "";
        var r = $("#say-reply-to");
        if (r) r.value = "";
        var note = $("#say-replying");
        if (note) note.remove();
      }
    } else {
      announce(L.new_contribution + " " + c.author.name);
    }
  }

  function reacted(data) {
    var c = contributions[data.contribution];
    if (c) c.counts = data.counts;
    var li = document.getElementById("c-" + data.contribution);
    if (!li) return;
    Object.keys(data.counts).forEach(function (k) {
      $$(".count-" + k, li).forEach(function (n) { n.textContent = String(data.counts[k]); });
    });
  }

  function pinned(data) {
    var c = contributions[data.contribution];
    if (c) c.pinned = data.pinned;
    var li = document.getElementById("c-" + data.contribution);
    if (li) {
      li.classList.toggle("is-pinned", data.pinned);
      $(".c-pinned", li).hidden = !data.pinned;
      var form = $(".c-pin-form", li);
      if (form) {
        form.querySelector("input[name=pinned]").value = data.pinned ? "false" : "true";
        form.querySelector("button").textContent = data.pinned ? L.unpin : L.pin;
      }
    }
    renderPinned();
  }

  function hidden(data) {
    var c = contributions[data.contribution];
    if (c) { c.hidden = true; c.text = ""; c.pinned = false; c.reason = data.reason; }
    var li = document.getElementById("c-" + data.contribution);
    if (li) {
      $$(".c-text, .c-actions", li).forEach(function (n) { n.remove(); });
      li.classList.add("is-hidden");
      li.classList.remove("is-pinned");
      $(".c-pinned", li).hidden = true;
      var note = el("p", { "class": "hidden-note c-hidden-note" }, L.hidden_note + " ");
      note.appendChild(el("span", { "class": "c-reason" }, data.reason));
      li.appendChild(note);
    }
    renderPinned();
  }

  function renderPinned() {
    var list = $("#pinned");
    if (!list) return;
    list.textContent = "";
    Object.keys(contributions).map(Number).sort(function (a, b) { return a - b; }).forEach(function (id) {
      var c = contributions[id];
      if (!c.pinned || c.hidden) return;
      var li = el("li", { "data-id": String(id) });
      li.appendChild(el("span", { "class": "pinned-text" }, c.text));
      li.appendChild(document.createTextNode(" "));
      li.appendChild(el("span", { "class": "meta" }, "– " + c.author.name));
      list.appendChild(li);
    });
  }

  function queue(type, data) {
    state.queue = data.queue;
    if (type === "speaker") {
      state.speaker = data.user;
      var s = $("#speaker");
      if (s) s.textContent = data.user ? data.user.name : "–";
    }
    if (type === "muted" && me !== null && data.user.id === me) { location.reload(); return; }
    var list = $("#queue");
    if (list) {
      list.textContent = "";
      data.queue.forEach(function (p) { list.appendChild(el("li", {}, p.name)); });
    }
    var empty = $("#queue-empty");
    if (empty) empty.hidden = data.queue.length > 0;
    var form = $("#hand-form");
    if (form && me !== null) {
      var up = data.queue.some(function (p) { return p.id === me; });
      form.querySelector("input[name=raised]").value = up ? "false" : "true";
      form.querySelector("button").textContent = up ? L.lower : L.raise;
    }
  }

  function agenda(item) {
    state.agenda_item = item;
    var now = $("#agenda-current");
    if (now) now.textContent = item ? item.title : "–";
    $$("#agenda li").forEach(function (li) {
      if (item && Number(li.dataset.position) === item.position) li.setAttribute("aria-current", "step");
      else li.removeAttribute("aria-current");
    });
    var select = $("#agenda-step");
    if (select) select.value = item ? String(item.position) : "0";
  }

  function setTimer() {
    var t = $("#timer");
    if (!t) return;
    t.dataset.ends = state.timer_ends_at || "";
    tick();
  }

  function tick() {
    var t = $("#timer");
    if (!t) return;
    if (!t.dataset.ends) { t.textContent = "–"; return; }
    var left = Math.max(0, Math.round((Date.parse(t.dataset.ends) - Date.now()) / 1000));
    var m = Math.floor(left / 60);
    var s = left % 60;
    t.textContent = m + ":" + (s < 10 ? "0" : "") + s;
  }

  // --- Polls --------------------------------------------------------------------------------
  function pollNode(poll) {
    var div = el("div", { "class": "poll", id: "poll-" + poll.id, "data-id": String(poll.id) });
    div.appendChild(el("h3", {}, poll.question));
    if (!poll.closed && canTakePart && mode !== "screen") {
      var form = el("form", { method: "post", action: root.dataset.act, "class": "poll-vote", "data-frame": "" });
      form.appendChild(el("input", { type: "hidden", name: "csrfmiddlewaretoken", value: csrf() }));
      form.appendChild(el("input", { type: "hidden", name: "type", value: "poll_vote" }));
      form.appendChild(el("input", { type: "hidden", name: "poll", value: String(poll.id) }));
      var fieldset = el("fieldset");
      fieldset.appendChild(el("legend", {}, L.your_answer));
      poll.options.forEach(function (o) {
        var id = "poll-" + poll.id + "-" + o.id;
        var row = el("div", { "class": "choice" });
        row.appendChild(el("input", { type: "radio", name: "option", id: id, value: String(o.id), required: "" }));
        row.appendChild(document.createTextNode(" "));
        row.appendChild(el("label", { "for": id }, o.text));
        fieldset.appendChild(row);
      });
      form.appendChild(fieldset);
      form.appendChild(el("button", { type: "submit" }, L.answer));
      div.appendChild(form);
    }
    var status = (poll.closed ? L.closed + " " : "") + plural(L.answers, poll.total) +
      (!poll.show_live && !poll.closed ? " · " + L.at_close : "");
    div.appendChild(el("p", { "class": "poll-status" }, status));
    if (poll.counts) {
      var ul = el("ul", { "class": "poll-results" });
      poll.options.forEach(function (o) {
        var li = el("li");
        li.appendChild(el("span", { "class": "poll-option" }, o.text));
        li.appendChild(document.createTextNode(": "));
        li.appendChild(el("strong", {}, poll.counts[String(o.id)] || 0));
        ul.appendChild(li);
      });
      div.appendChild(ul);
    }
    if (canRun && !poll.closed && mode !== "screen") {
      var close = el("form", { method: "post", action: root.dataset.act, "data-frame": "" });
      close.appendChild(el("input", { type: "hidden", name: "csrfmiddlewaretoken", value: csrf() }));
      close.appendChild(el("input", { type: "hidden", name: "type", value: "poll_close" }));
      close.appendChild(el("input", { type: "hidden", name: "poll", value: String(poll.id) }));
      close.appendChild(el("button", { type: "submit", "class": "secondary" }, L.close_poll));
      div.appendChild(close);
    }
    return div;
  }

  function pollOpened(poll) {
    var p = Object.assign({}, poll, { total: 0, closed: false, counts: null });
    if (poll.show_live) {
      p.counts = {};
      poll.options.forEach(function (o) { p.counts[String(o.id)] = 0; });
    }
    polls[p.id] = p;
    var box = $("#polls");
    if (!box) return;
    if (mode === "screen") box.textContent = "";
    box.insertBefore(pollNode(p), box.firstChild);
    var empty = $("#polls-empty");
    if (empty) empty.hidden = true;
    var form = $("#poll-question");
    if (form && canRun) { form.value = ""; $("#poll-options").value = ""; }
  }

  function pollUpdated(type, data) {
    var p = polls[data.poll];
    if (!p) return;
    p.total = data.total;
    p.counts = data.counts;
    if (type === "poll_closed") p.closed = true;
    var old = document.getElementById("poll-" + p.id);
    if (!old) return;
    var checked = old.querySelector("input[type=radio]:checked");
    var fresh = pollNode(p);
    if (checked) {
      var again = fresh.querySelector("#" + checked.id);
      if (again) again.checked = true;
    }
    var hadFocus = old.contains(document.activeElement) ? document.activeElement.id : null;
    old.replaceWith(fresh);
    if (hadFocus && document.getElementById(hadFocus)) document.getElementById(hadFocus).focus();
  }

  // --- Sending forms as frames ----------------------------------------------------------------
  function showError(frame) {
    var form = frame.ref ? pending[frame.ref] : null;
    var target = form || $("#live") || root;
    var old = target.querySelector(".live-error");
    if (old) old.remove();
    var p = el("p", { "class": "error-message live-error", role: "alert" }, frame.detail);
    target.insertBefore(p, target.firstChild);
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.hasAttribute("data-frame") || !ws || ws.readyState !== 1 || root.dataset.live !== "on") return;
    event.preventDefault();
    var data = new FormData(form, event.submitter || undefined);
    var frame = {};
    data.forEach(function (value, key) { if (key !== "csrfmiddlewaretoken") frame[key] = value; });
    frame.ref = "f" + (++refs);
    pending[frame.ref] = form;
    var old = form.querySelector(".live-error");
    if (old) old.remove();
    ws.send(JSON.stringify(frame));
  });

  setInterval(tick, 1000);
  tick();
  connect();
})();
