// Live status of a submission page: polls the status endpoint every 2 s
// while the submission is queued or running, updates status, message and
// log in place, and reloads once when it ends so the results render.
// Without JavaScript, a <noscript> meta refresh does the same, coarser.
(function () {
  "use strict";
  var root = document.querySelector("[data-poll]");
  if (!root) return;
  var url = root.getAttribute("data-poll");
  var lastLog = parseInt(root.getAttribute("data-last-log") || "0", 10);
  var statusEl = document.querySelector("[data-testid=status]");
  var messageEl = document.querySelector("[data-testid=message]");
  var logEl = document.querySelector("[data-testid=log]");
  var failures = 0;

  function tick() {
    fetch(url + "?after=" + lastLog, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) {
        if (!r.ok) throw new Error("HTTP " + r.status);
        return r.json();
      })
      .then(function (s) {
        failures = 0;
        if (statusEl) {
          statusEl.textContent = s.status;
          statusEl.className = "status " + s.status;
        }
        if (messageEl) messageEl.textContent = s.message || "";
        if (logEl && s.log) {
          s.log.forEach(function (l) {
            logEl.appendChild(document.createTextNode(l.at + "  " + l.line + "\n"));
            lastLog = Math.max(lastLog, l.id);
          });
        }
        if (s.status === "finished" || s.status === "failed") {
          window.location.reload();
          return;
        }
        setTimeout(tick, 2000);
      })
      .catch(function () {
        failures++;
        setTimeout(tick, Math.min(30000, 2000 * Math.pow(2, failures)));
      });
  }
  setTimeout(tick, 2000);
})();
