// Upload page: drag and drop or file picker, several files, client-side type/size checks, one POST per file
// (the form view, with the session and CSRF token), then a link to each job. Without JavaScript the form posts.
(function () {
  "use strict";
  var form = document.getElementById("upload-form");
  if (!form) return;
  var input = document.getElementById("files");
  var zone = document.getElementById("dropzone");
  var list = document.getElementById("file-list");
  var status = document.getElementById("upload-status");
  var button = document.getElementById("submit");
  var maxBytes = parseInt(form.dataset.maxBytes, 10);
  var accepted = form.dataset.accept.split(",");
  var chosen = [];

  function human(n) {
    var u = ["B", "KB", "MB", "GB"], i = 0;
    while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
    return n.toFixed(i ? 1 : 0) + " " + u[i];
  }
  function problem(file) {
    if (file.size === 0) return "empty file";
    if (file.size > maxBytes) return "too large (max " + human(maxBytes) + ")";
    var type = file.type || "";
    var major = type.split("/")[0];
    if (accepted.indexOf(type) < 0 && ["image", "video", "audio"].indexOf(major) < 0) {
      return "not an image, video or audio file";
    }
    return null;
  }
  function render() {
    list.innerHTML = "";
    chosen.forEach(function (item, i) {
      var li = document.createElement("li");
      li.id = "file-" + i;
      var name = document.createElement("strong");
      name.textContent = item.file.name;
      var info = document.createElement("span");
      info.textContent = human(item.file.size) + (item.file.type ? " · " + item.file.type : "");
      var state = document.createElement("span");
      state.className = item.error ? "bad" : "good";
      state.textContent = item.error ? "Rejected: " + item.error : (item.state || "ready");
      li.append(name, info, state);
      if (item.url) {
        var a = document.createElement("a");
        a.href = item.url;
        a.textContent = "Open job";
        li.append(a);
      }
      list.append(li);
    });
    var ok = chosen.filter(function (c) { return !c.error && !c.url; }).length;
    button.disabled = ok === 0;
    status.textContent = chosen.length ? ok + " file(s) ready to analyse" : "";
  }
  function add(files) {
    chosen = chosen.filter(function (c) { return !c.url; });
    Array.prototype.forEach.call(files, function (f) { chosen.push({ file: f, error: problem(f) }); });
    render();
  }
  input.addEventListener("change", function () { add(input.files); input.value = ""; });
  ["dragenter", "dragover"].forEach(function (ev) {
    zone.addEventListener(ev, function (e) { e.preventDefault(); zone.classList.add("over"); });
  });
  ["dragleave", "drop"].forEach(function (ev) {
    zone.addEventListener(ev, function (e) { e.preventDefault(); zone.classList.remove("over"); });
  });
  zone.addEventListener("drop", function (e) { if (e.dataTransfer) add(e.dataTransfer.files); });

  form.addEventListener("submit", function (e) {
    e.preventDefault();
    var todo = chosen.filter(function (c) { return !c.error && !c.url; });
    if (!todo.length) { status.textContent = "Choose at least one image, video or audio file."; return; }
    button.disabled = true;
    var done = 0;
    function next() {
      if (!todo.length) {
        status.textContent = done + " file(s) submitted. Open each job to follow its progress.";
        render();
        var links = chosen.filter(function (c) { return c.url; });
        if (links.length === 1) window.location.href = links[0].url;
        return;
      }
      var item = todo.shift();
      item.state = "uploading…";
      render();
      var body = new FormData();
      body.append("files", item.file, item.file.name);
      ["priority", "tags", "csrfmiddlewaretoken"].forEach(function (k) { body.append(k, form.elements[k].value); });
      if (form.elements.detailed.checked) body.append("detailed", "on");
      fetch(form.action, { method: "POST", body: body, credentials: "same-origin",
                           headers: { "Accept": "application/json" } })
        .then(function (r) { return r.json().then(function (j) { return { ok: r.ok, body: j, status: r.status }; }); })
        .then(function (res) {
          if (res.body.jobs && res.body.jobs.length) {
            item.url = res.body.jobs[0].url; item.state = "submitted"; done++;
          } else {
            var err = (res.body.errors && res.body.errors[0]) || res.body;
            item.error = (err && err.error) || ("HTTP " + res.status);
          }
        })
        .catch(function () { item.error = "network error"; })
        .then(next);
    }
    next();
  });
  render();
})();
