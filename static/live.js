// srarena's page script. Every page works without it; with it:
//
// - an upload form ([data-upload]) sends the model with XMLHttpRequest and
//   shows the upload's progress; the answer (the submission page, or the
//   challenge page with the refusal) replaces the page in place;
// - a live submission page ([data-poll]) polls its status endpoint every
//   second while queued, every half second while running and updates status, queue position,
//   "image i of N", message and log in place; when it ends, the page's
//   content is fetched again and swapped in, without a reload;
// - <time data-local-time> elements gain the viewer's local time.
// Without JavaScript, the upload is a plain form post and a <noscript> meta
// refresh reloads a live page.
(function () {
  "use strict";

  function $(root, sel) { return root.querySelector(sel); }

  function localTimes(root) {
    root.querySelectorAll("time[data-local-time]").forEach(function (t) {
      if (t.getAttribute("data-local-done")) return;
      var d = new Date(t.getAttribute("datetime"));
      if (isNaN(d.getTime())) return;
      t.setAttribute("data-local-done", "1");
      var span = document.createElement("span");
      span.setAttribute("data-testid", "local-time");
      span.textContent = " (" + d.toLocaleString([], { dateStyle: "medium", timeStyle: "short" }) + " your time)";
      t.parentNode.insertBefore(span, t.nextSibling);
    });
  }

  // swap replaces the page's main content (and title) with that of html.
  function swap(html, url) {
    var doc = new DOMParser().parseFromString(html, "text/html");
    var main = $(document, "main"), next = $(doc, "main");
    if (!main || !next) { window.location.assign(url || window.location.href); return; }
    document.title = doc.title;
    main.replaceWith(next);
    if (url && url !== window.location.href) history.pushState(null, "", url);
    init(document);
  }

  function bindUpload(form) {
    if (form.getAttribute("data-bound") || !window.FormData || !window.XMLHttpRequest) return;
    form.setAttribute("data-bound", "1");
    form.addEventListener("submit", function (e) {
      var xhr = new XMLHttpRequest();
      if (!xhr.upload) return; // let the browser post the form
      e.preventDefault();
      var bar = $(form, "[data-testid=upload-progress]");
      var text = $(form, "[data-testid=upload-progress-text]");
      var button = $(form, "button[type=submit]");
      if (button) button.disabled = true;
      if (bar) { bar.hidden = false; bar.value = 0; }
      xhr.upload.addEventListener("progress", function (ev) {
        if (!ev.lengthComputable) return;
        var pct = Math.floor(100 * ev.loaded / ev.total);
        if (bar) bar.value = pct;
        if (text) text.textContent = "Uploading… " + pct + " %";
      });
      xhr.upload.addEventListener("load", function () {
        if (bar) bar.value = 100;
        if (text) text.textContent = "Uploaded; checking the model…";
      });
      xhr.addEventListener("load", function () {
        swap(xhr.responseText, xhr.responseURL);
      });
      xhr.addEventListener("error", function () {
        if (button) button.disabled = false;
        if (text) text.textContent = "The upload failed (network error); try again.";
      });
      xhr.open("POST", form.action);
      xhr.send(new FormData(form));
    });
  }

  var polling = null;

  function poll(root) {
    var url = root.getAttribute("data-poll");
    var lastLog = parseInt(root.getAttribute("data-last-log") || "0", 10);
    var failures = 0;
    var token = {};
    polling = token;
    function set(sel, v) {
      var el = $(document, sel);
      if (el && el.textContent !== v) el.textContent = v;
    }
    function tick() {
      if (polling !== token) return;
      fetch(url + "?after=" + lastLog, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) {
          if (!r.ok) throw new Error("HTTP " + r.status);
          return r.json();
        })
        .then(function (s) {
          if (polling !== token) return;
          failures = 0;
          var st = $(document, "[data-testid=status]");
          if (st && st.textContent !== s.status) {
            st.textContent = s.status;
            st.className = "status " + s.status;
          }
          set("[data-testid=progress]", s.progress || "");
          set("[data-testid=queue]", s.queue || "");
          set("[data-testid=message]", s.message || "");
          var cancel = $(document, "[data-testid=cancel-form]");
          if (cancel) cancel.hidden = !s.can_cancel;
          var log = $(document, "[data-testid=log]");
          if (log && s.log) {
            s.log.forEach(function (l) {
              log.appendChild(document.createTextNode(l.at + "  " + l.line + "\n"));
              lastLog = Math.max(lastLog, l.id);
            });
          }
          if (s.status !== "queued" && s.status !== "running") {
            polling = null;
            // The results render on the server: fetch the page and swap
            // its content in.
            fetch(window.location.href, { credentials: "same-origin" })
              .then(function (r) { return r.text(); })
              .then(function (html) { swap(html); })
              .catch(function () { window.location.reload(); });
            return;
          }
          // Half-second steps while running, so "image i of N" shows
          // even when images take well under a second each.
          setTimeout(tick, s.status === "running" ? 500 : 1000);
        })
        .catch(function () {
          failures++;
          setTimeout(tick, Math.min(30000, 1000 * Math.pow(2, failures)));
        });
    }
    setTimeout(tick, 1000);
  }

  function init(root) {
    localTimes(root);
    root.querySelectorAll("form[data-upload]").forEach(bindUpload);
    var live = $(root, "[data-poll]");
    if (live) poll(live);
  }

  window.addEventListener("popstate", function () { window.location.reload(); });
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { init(document); });
  } else {
    init(document);
  }
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
    if (!cell) return "";
    // data-v is the sort value where it differs from the text shown.
    return cell.hasAttribute("data-v") ? cell.getAttribute("data-v") : cell.textContent.trim();
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

// Crop viewer: selecting a point of the overview moves the crop there (the
// form and the server-side crops work without JavaScript).
(function () {
  "use strict";
  var root = document.querySelector("[data-compare]");
  var form = document.querySelector("form.compare-form");
  if (!root || !form) return;
  var svg = root.querySelector("svg"), rect = root.querySelector("rect");
  var w = +root.getAttribute("data-w"), h = +root.getAttribute("data-h");
  function move(cx, cy) {
    var size = Math.min(+form.elements.size.value || 96, w, h);
    var x = Math.max(0, Math.min(w - size, Math.round(cx - size / 2)));
    var y = Math.max(0, Math.min(h - size, Math.round(cy - size / 2)));
    form.elements.x.value = x;
    form.elements.y.value = y;
    rect.setAttribute("x", x);
    rect.setAttribute("y", y);
    rect.setAttribute("width", size);
    rect.setAttribute("height", size);
    var at = root.ownerDocument.querySelector("[data-testid=crop-at]");
    if (at) at.textContent = size + "\u00d7" + size + " pixels at (" + x + ", " + y + ")";
    root.querySelectorAll("img.crop").forEach(function (img) {
      var u = new URL(img.src, location.href);
      u.searchParams.set("x", x);
      u.searchParams.set("y", y);
      u.searchParams.set("size", size);
      img.src = u.pathname + u.search;
    });
    var page = new URL(location.href);
    page.searchParams.set("image", form.elements.image.value);
    page.searchParams.set("x", x);
    page.searchParams.set("y", y);
    page.searchParams.set("size", size);
    history.replaceState(null, "", page.pathname + page.search);
  }
  svg.addEventListener("click", function (ev) {
    var box = svg.getBoundingClientRect();
    move((ev.clientX - box.left) * w / box.width, (ev.clientY - box.top) * h / box.height);
  });
  // A new image is a new page (its size differs).
  form.elements.image.addEventListener("change", function () {
    form.elements.x.value = "";
    form.elements.y.value = "";
    form.submit();
  });
})();
