// Job page: live progress over the WebSocket /ws/analysis/{id} (the session cookie authenticates it), with a
// polling fallback on /api/v2/analysis/{id}; the page reloads once the job is final so the server renders the
// verdict. Heatmap toggles and clickable suspicious frames work without a live connection.
(function () {
  "use strict";
  var el = document.getElementById("job-live");
  var job = el ? JSON.parse(el.textContent) : null;

  document.querySelectorAll("input[data-overlay]").forEach(function (box) {
    box.addEventListener("change", function () {
      document.querySelectorAll('[data-overlay-id="' + box.dataset.overlay + '"]').forEach(function (img) {
        img.classList.toggle("off", !box.checked);
      });
    });
  });
  var player = document.getElementById("player");
  function seek(t) {
    if (!player) return;
    player.currentTime = parseFloat(t) || 0;
    player.pause();
    player.scrollIntoView({ behavior: "smooth", block: "center" });
  }
  document.querySelectorAll("button.frame, .marker").forEach(function (b) {
    b.addEventListener("click", function () { seek(b.dataset.t); });
    b.addEventListener("keydown", function (e) {
      if (b.tagName !== "BUTTON" && (e.key === "Enter" || e.key === " ")) { e.preventDefault(); seek(b.dataset.t); }
    });
  });

  if (!job || ["completed", "failed", "cancelled"].indexOf(job.status) >= 0) return;
  var bar = document.getElementById("progress-bar");
  var pct = document.getElementById("progress-pct");
  var statusEl = document.getElementById("progress-status");
  var stage = document.getElementById("progress-stage");
  var transport = document.getElementById("progress-transport");
  var meter = bar.parentNode;
  var finished = false;
  var pollTimer = null;

  function show(ev) {
    if (typeof ev.progress === "number") {
      bar.style.width = ev.progress + "%";
      pct.textContent = ev.progress + "%";
      meter.setAttribute("aria-valuenow", ev.progress);
    }
    if (ev.status) statusEl.textContent = ev.status;
    if (ev.stage !== undefined) stage.textContent = ev.stage || "";
    if (["completed", "failed", "cancelled"].indexOf(ev.status) >= 0 && !finished) {
      finished = true;
      if (ev.status === "completed") { bar.style.width = "100%"; pct.textContent = "100%"; meter.setAttribute("aria-valuenow", 100); }
      document.body.dataset.jobFinal = ev.status;
      setTimeout(function () { window.location.reload(); }, 600);
    }
  }
  function poll() {
    if (finished || pollTimer) return;
    transport.textContent = "polling";
    pollTimer = setInterval(function () {
      fetch(job.api, { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (j) { if (j) show(j); if (finished) clearInterval(pollTimer); })
        .catch(function () {});
    }, 2000);
  }
  if (!("WebSocket" in window)) { poll(); return; }
  var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
  var ws;
  try { ws = new WebSocket(scheme + window.location.host + job.ws); } catch (e) { poll(); return; }
  ws.onopen = function () { transport.textContent = "live"; };
  ws.onmessage = function (m) {
    try { var ev = JSON.parse(m.data); } catch (e) { return; }
    if (ev.type === "pong") return;
    show(ev);
  };
  ws.onerror = function () { poll(); };
  ws.onclose = function () { if (!finished) poll(); };
})();
