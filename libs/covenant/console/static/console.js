// Progressive enhancement only: every page works without this file.
// The rule-pack editor validates as you type against the owning service (same checks as publish).
(function () {
  "use strict";
  var source = document.getElementById("source");
  var out = document.getElementById("live-validation");
  if (!source || !out || !window.fetch) { return; }
  var timer = null;
  function show(result) {
    out.textContent = "";
    var p = document.createElement("p");
    p.className = result.valid ? "ok" : "error";
    p.textContent = result.valid ? "✔ valid" + (result.tests_passed ? " (" + result.tests_passed + " tests)" : "") : "✘";
    out.appendChild(p);
    (result.problems || []).forEach(function (text) {
      var li = document.createElement("div");
      li.className = "error";
      li.textContent = text;
      out.appendChild(li);
    });
  }
  function validate() {
    fetch(source.dataset.validateUrl, {
      method: "POST",
      headers: { "Content-Type": "text/plain; charset=utf-8", "X-CSRF-Token": source.dataset.csrf },
      body: source.value,
      credentials: "same-origin"
    }).then(function (r) { return r.json(); }).then(show).catch(function () {});
  }
  source.addEventListener("input", function () {
    if (timer) { clearTimeout(timer); }
    timer = setTimeout(validate, 400);
  });
})();
