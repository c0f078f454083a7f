/* The actions of the dashboard outside Django (FastAPI, Flask, Quart), through its JSON API:
   - a button with data-fl-post="<API URL>" sends data-fl-body (JSON, "{}" by default) with
     data-fl-method (POST by default), then opens the task it made (data-fl-go="<tasks URL>")
     or reloads the page;
   - a form with data-fl-form="<API URL>" sends its fields as a JSON object (checkboxes as
     true or false) with data-fl-method, then goes to data-fl-go.
   A refusal shows in #fl-message, with the fields it names. */
(function () {
  "use strict";
  if (!window.fetch) return;
  function say(text) {
    var note = document.getElementById("fl-message");
    if (!note) return;
    note.textContent = text;
    note.hidden = !text;
  }
  function send(url, method, body, done, failed) {
    say("");
    fetch(url, {
      method: method || "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json" },
      body: body
    })
      .then(function (response) {
        return response.json().then(function (data) { return { ok: response.ok, data: data }; });
      })
      .then(function (answer) {
        if (answer.ok) { done(answer.data); return; }
        var fields = answer.data.fields || {};
        var detail = Object.keys(fields).map(function (name) { return name + ": " + fields[name]; });
        say([answer.data.error || "Not done."].concat(detail).join(" "));
        failed();
      })
      .catch(function () { say("The server did not answer."); failed(); });
  }
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-fl-post]");
    if (!button) return;
    event.preventDefault();
    var question = button.getAttribute("data-fl-confirm");
    if (question && !window.confirm(question)) return;
    button.disabled = true;
    send(button.getAttribute("data-fl-post"), button.getAttribute("data-fl-method"),
      button.getAttribute("data-fl-body") || "{}",
      function (data) {
        var go = button.getAttribute("data-fl-go");
        if (go && data.task_id) window.location.href = go + encodeURIComponent(data.task_id) + "/";
        else window.location.reload();
      },
      function () { button.disabled = false; });
  });
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.hasAttribute || !form.hasAttribute("data-fl-form")) return;
    event.preventDefault();
    var data = {};
    Array.prototype.forEach.call(form.elements, function (field) {
      if (!field.name) return;
      data[field.name] = field.type === "checkbox" ? field.checked : field.value;
    });
    send(form.getAttribute("data-fl-form"), form.getAttribute("data-fl-method"), JSON.stringify(data),
      function () { window.location.href = form.getAttribute("data-fl-go"); },
      function () { window.scrollTo(0, 0); });
  });
})();
