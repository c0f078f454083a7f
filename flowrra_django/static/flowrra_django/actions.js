/* The action buttons of the dashboard outside Django (FastAPI, Flask, Quart): a button with
   data-fl-post="<API URL>" POSTs data-fl-body (JSON, "{}" by default) to the API, then
   opens the task it made (data-fl-go="<tasks URL>") or reloads the page; a refusal shows
   in #fl-message. */
(function () {
  "use strict";
  if (!window.fetch) return;
  function say(text) {
    var note = document.getElementById("fl-message");
    if (!note) return;
    note.textContent = text;
    note.hidden = !text;
  }
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-fl-post]");
    if (!button) return;
    event.preventDefault();
    var question = button.getAttribute("data-fl-confirm");
    if (question && !window.confirm(question)) return;
    button.disabled = true;
    say("");
    fetch(button.getAttribute("data-fl-post"), {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json" },
      body: button.getAttribute("data-fl-body") || "{}"
    })
      .then(function (response) {
        return response.json().then(function (body) { return { ok: response.ok, body: body }; });
      })
      .then(function (answer) {
        var go = button.getAttribute("data-fl-go");
        if (answer.ok && go && answer.body.task_id) {
          window.location.href = go + encodeURIComponent(answer.body.task_id) + "/";
        } else if (answer.ok) {
          window.location.reload();
        } else {
          say(answer.body.error || "Not done.");
          button.disabled = false;
        }
      })
      .catch(function () { say("The server did not answer."); button.disabled = false; });
  });
})();
