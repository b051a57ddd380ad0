// Plays an activity's linked recordings in place. Each play asks the review API for a
// short-lived presigned URL; the server enters that view in the access register.
(function () {
  "use strict";
  var video = document.getElementById("activity-player");
  var caption = document.getElementById("activity-player-caption");
  if (!video) { return; }
  function play(button) {
    var url = "/api/review/recordings/" + encodeURIComponent(button.dataset.recording) + "/playback";
    caption.textContent = button.dataset.loading || "…";
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (response) {
        return response.json().then(function (body) { return { ok: response.ok, body: body }; });
      })
      .then(function (result) {
        if (!result.ok || !result.body.media_url) {
          caption.textContent = (result.body && (result.body.message || result.body.code)) || "—";
          return;
        }
        video.hidden = false;
        if (result.body.poster_url) { video.poster = result.body.poster_url; }
        video.src = result.body.media_url;
        video.dataset.recording = button.dataset.recording;
        caption.textContent = button.dataset.title || "";
        video.play().catch(function () { /* autoplay may be refused; controls remain */ });
      })
      .catch(function () { caption.textContent = "—"; });
  }
  document.addEventListener("click", function (event) {
    var button = event.target.closest("button.play-inline");
    if (button) { event.preventDefault(); play(button); }
  });
})();
