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

// Sortable leaderboard: the column headings are links that sort on the
// server (works without JavaScript); with it, a click sorts in place, within
// each group of rows (ranked entries stay above the unranked ones), and the
// address is updated so a reload keeps the order.
(function () {
  "use strict";
  var table = document.querySelector("table.sortable");
  if (!table) return;
  var heads = table.querySelectorAll("thead th");
  function value(row, i) {
    var cell = row.children[i];
    return cell ? cell.getAttribute("data-v") || "" : "";
  }
  function sortBy(i, desc) {
    table.querySelectorAll("tbody").forEach(function (tb) {
      var rows = Array.prototype.filter.call(tb.rows, function (r) { return !r.classList.contains("group"); });
      rows.sort(function (a, b) {
        var va = value(a, i), vb = value(b, i);
        if (va === "" || vb === "") return (va === "") - (vb === "");
        var na = parseFloat(va), nb = parseFloat(vb), c;
        if (!isNaN(na) && !isNaN(nb) && String(na) !== "NaN") c = na - nb;
        else c = va.toLowerCase() < vb.toLowerCase() ? -1 : va.toLowerCase() > vb.toLowerCase() ? 1 : 0;
        return desc ? -c : c;
      });
      rows.forEach(function (r) { tb.appendChild(r); });
    });
    heads.forEach(function (th, j) {
      if (j === i) th.setAttribute("aria-sort", desc ? "descending" : "ascending");
      else th.removeAttribute("aria-sort");
    });
  }
  heads.forEach(function (th, i) {
    var a = th.querySelector("a");
    if (!a) return;
    a.addEventListener("click", function (ev) {
      ev.preventDefault();
      var url = new URL(a.href, location.href);
      var desc = url.searchParams.get("dir") === "desc";
      sortBy(i, desc);
      // The next click on this heading reverses the order.
      var next = new URL(url);
      if (desc) next.searchParams.delete("dir"); else next.searchParams.set("dir", "desc");
      a.href = next.pathname + next.search;
      history.replaceState(null, "", url.pathname + url.search);
    });
  });
})();
