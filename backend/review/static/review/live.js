// Live sync and processing events from /ws/events/ (sync/consumers.py); reconnects.
(function () {
  "use strict";
  var list = document.getElementById("live-events");
  var status = document.getElementById("live-status");
  if (!list) { return; }
  // The words come from the page, in its language (backend/review/live_labels.py).
  var labels = {};
  var given = document.getElementById("live-labels");
  try { labels = given ? JSON.parse(given.textContent) : {}; } catch (error) { labels = {}; }
  var delay = 1000;
  function show(text) { status.textContent = text; }
  function add(event) {
    if (event.type === "hello") { return; }
    var first = list.querySelector("li.muted");
    if (first) { first.remove(); }
    var item = document.createElement("li");
    var when = event.at ? new Date(event.at).toLocaleTimeString() : "";
    var what = labels[event.type] || labels.other || "";
    item.textContent = when + " · " + what + " · " + (event.clip_id || event.device_id || "");
    item.dataset.type = event.type;
    list.insertBefore(item, list.firstChild);
    while (list.children.length > 50) { list.removeChild(list.lastChild); }
  }
  function connect() {
    var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    var socket = new WebSocket(scheme + window.location.host + "/ws/events/");
    socket.onopen = function () { delay = 1000; show(labels.hello); status.className = "badge ok"; };
    socket.onmessage = function (message) {
      try { add(JSON.parse(message.data)); } catch (error) { /* ignore malformed events */ }
    };
    socket.onclose = function (closing) {
      status.className = "badge bad";
      if (closing.code === 4403) { show(labels.forbidden || ""); return; }
      show(labels.reconnecting || "");
      window.setTimeout(connect, delay);
      delay = Math.min(delay * 2, 30000);
    };
  }
  connect();
})();
