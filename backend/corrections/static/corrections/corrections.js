// The overdue queue reloads (htmx) when /ws/corrections/ announces a new alert; it also
// reloads every 30 s, so a lost connection only delays it. Reconnects with back-off.
(function () {
  "use strict";
  var badge = document.getElementById("overdue-live");
  if (!badge || !window.WebSocket) { return; }
  var delay = 1000;
  function show(key, cls) { badge.textContent = badge.dataset[key]; badge.className = "badge " + cls; }
  function connect() {
    var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    var socket = new WebSocket(scheme + window.location.host + "/ws/corrections/");
    socket.onopen = function () { delay = 1000; show("ok", "ok"); };
    socket.onmessage = function (message) {
      var event;
      try { event = JSON.parse(message.data); } catch (error) { return; }
      if (event.type === "correction.overdue" && window.htmx) {
        window.htmx.trigger(document.body, "fv-overdue");
      }
    };
    socket.onclose = function (closing) {
      if (closing.code === 4403) { show("denied", "bad"); return; }
      show("lost", "bad");
      window.setTimeout(connect, delay);
      delay = Math.min(delay * 2, 30000);
    };
  }
  connect();
})();
