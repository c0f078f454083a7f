// Live preview of a schedule's next run times: asks the server (the same view that
// renders the preview without JavaScript) while the user edits the definition.
(function () {
  "use strict";
  var form = document.getElementById("fl-schedule-form");
  var box = document.getElementById("fl-preview");
  if (!form || !box) { return; }
  var url = box.getAttribute("data-url");
  var timer = null;
  var last = "";
  function refresh() {
    var params = new URLSearchParams();
    ["schedule_type", "schedule", "timezone"].forEach(function (name) {
      var field = form.elements[name];
      if (field) { params.set(name, field.value); }
    });
    var query = params.toString();
    if (query === last) { return; }
    last = query;
    fetch(url + "?" + query, { credentials: "same-origin", headers: { "X-Requested-With": "fetch" } })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) { if (html !== null && query === last) { box.innerHTML = html; } })
      .catch(function () {});
  }
  function schedule() { clearTimeout(timer); timer = setTimeout(refresh, 250); }
  function placeholder() {
    var kind = form.elements.schedule_type.value;
    var input = form.elements.schedule;
    input.placeholder = { cron: "*/15 * * * *", interval: "seconds, e.g. 90", once: "2030-01-31T09:00" }[kind] || "";
  }
  ["schedule_type", "schedule", "timezone"].forEach(function (name) {
    var field = form.elements[name];
    if (field) { field.addEventListener("input", schedule); field.addEventListener("change", schedule); }
  });
  form.elements.schedule_type.addEventListener("change", placeholder);
  placeholder();
  var button = document.getElementById("fl-preview-button");
  if (button) { (button.closest(".fl-row") || button).hidden = true; }
})();
