/* The live dashboard: listens on the websocket at data-fl-live-ws and, when an event concerns
   this page, fetches the page again and swaps its [data-fl-live-region] in place (no reload).
   With data-fl-live-poll="<ms>" instead (a server without websockets), it does so every <ms>.
   Without JavaScript the <noscript> refresh keeps the page current instead. */
(function () {
  "use strict";
  var root = document.querySelector("[data-fl-live-ws], [data-fl-live-poll]");
  if (!root || !window.WebSocket || !window.fetch || !window.DOMParser) return;
  var statusEl = document.getElementById("fl-live-status");
  var scope = root.getAttribute("data-fl-live-scope") || "";
  var wsPath = root.getAttribute("data-fl-live-ws");
  var MIN_GAP = 300, FALLBACK_EVERY = 10000;
  var socket = null, retry = 0, fetching = false, wanted = false, lastFetch = 0, fallback = null;

  function say(state, text) {
    if (!statusEl) return;
    statusEl.textContent = text;
    statusEl.classList.remove("fl-live-connecting", "fl-live-live", "fl-live-reconnecting", "fl-live-off");
    statusEl.classList.add("fl-live", "fl-live-" + state);
    statusEl.setAttribute("data-state", state);
  }

  function busy() {
    var active = document.activeElement;
    return active && active.closest && active.closest("[data-fl-live-region]") &&
      /^(INPUT|SELECT|TEXTAREA)$/.test(active.tagName);
  }

  function swap(html) {
    var fresh = new DOMParser().parseFromString(html, "text/html");
    var regions = document.querySelectorAll("[data-fl-live-region]");
    Array.prototype.forEach.call(regions, function (region) {
      var next = fresh.getElementById(region.id);
      if (!next) return;
      var keep = {};
      Array.prototype.forEach.call(region.querySelectorAll("[data-fl-keep][id]"), function (el) { keep[el.id] = el; });
      Array.prototype.forEach.call(next.querySelectorAll("[data-fl-keep][id]"), function (el) {
        if (keep[el.id]) el.replaceWith(keep[el.id]);
      });
      region.replaceChildren.apply(region, Array.prototype.slice.call(next.childNodes));
    });
    var title = fresh.querySelector("#content > h1");
    var mine = document.querySelector("#content > h1");
    if (title && mine && title.innerHTML !== mine.innerHTML) mine.innerHTML = title.innerHTML;
  }

  function refresh() {
    wanted = true;
    if (fetching) return;
    var wait = lastFetch + MIN_GAP - Date.now();
    if (wait > 0 || busy()) { setTimeout(refresh, Math.max(wait, 200)); return; }
    wanted = false; fetching = true; lastFetch = Date.now();
    fetch(window.location.href, { credentials: "same-origin", headers: { "X-Flowrra-Live": "1" } })
      .then(function (response) { return response.ok && !response.redirected ? response.text() : null; })
      .then(function (html) { if (html) swap(html); })
      .catch(function () {})
      .then(function () { fetching = false; if (wanted) refresh(); });
  }

  function concerns(event) {
    if (event.type === "resync") return true;
    if (scope.indexOf("task:") === 0) return event.task && event.task.task_id === scope.slice(5);
    if (scope.indexOf("worker:") === 0) {
      var id = scope.slice(7);
      return (event.worker && event.worker.id === id) || (event.task && event.task.worker === id);
    }
    return event.type === "task.update" || event.type.indexOf("worker.") === 0;
  }

  function startFallback() {
    if (!fallback) fallback = setInterval(refresh, FALLBACK_EVERY);
  }

  function connect() {
    var url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + wsPath;
    if (scope) url += "?" + scope.replace(":", "=");
    socket = new WebSocket(url);
    socket.onmessage = function (message) {
      var event;
      try { event = JSON.parse(message.data); } catch (e) { return; }
      if (event.type === "hello") {
        if (retry > 0) refresh(); /* what changed while we were away */
        retry = 0;
        if (fallback) { clearInterval(fallback); fallback = null; }
        say("live", "live");
      } else if ((event.type === "batch" ? event.events : [event]).some(concerns)) {
        refresh();
      }
    };
    socket.onclose = function (closing) {
      if (closing.code === 4401 || closing.code === 4403) {
        say("off", "not live: log in as staff");
        startFallback();
        return;
      }
      retry += 1;
      say("reconnecting", "reconnecting\u2026");
      startFallback();
      setTimeout(connect, Math.min(1000 * Math.pow(2, retry - 1), 15000));
    };
  }

  var pollEvery = parseInt(root.getAttribute("data-fl-live-poll") || "0", 10);
  if (pollEvery > 0) {
    say("live", "live, every " + pollEvery / 1000 + " s");
    setInterval(refresh, pollEvery);
    return;
  }
  say("connecting", "connecting\u2026");
  connect();
})();
