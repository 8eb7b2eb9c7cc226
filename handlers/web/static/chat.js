// danvan web chat: sends what the citizen types or taps to /chat/api/*, shows the replies the
// core queued for this chat. No inline code (strict CSP); no personal data in URLs.
(function () {
  "use strict";
  var csrf = document.querySelector('meta[name="csrf-token"]').getAttribute("content");
  var messages = document.getElementById("messages");
  var choices = document.getElementById("choices");
  var form = document.getElementById("composer");
  var input = document.getElementById("text");
  var photo = document.getElementById("photo");
  var after = 0;
  var polling = false;
  var pollTimer = null;
  var quickPolls = 0;

  function uid() {
    var a = new Uint8Array(12);
    window.crypto.getRandomValues(a);
    return Array.prototype.map.call(a, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }

  function bubble(kind, html, text) {
    var div = document.createElement("div");
    div.className = "msg " + kind;
    if (html !== null) { div.innerHTML = html; } else { div.textContent = text; }
    messages.appendChild(div);
    messages.scrollTop = messages.scrollHeight;
    return div;
  }

  function showChoices(rows) {
    choices.textContent = "";
    rows.forEach(function (row) {
      var line = document.createElement("div");
      line.className = "choice-row";
      row.forEach(function (b) {
        var btn = document.createElement("button");
        btn.type = "button";
        btn.className = "choice";
        btn.textContent = b.label;
        btn.addEventListener("click", function () { press(b); });
        line.appendChild(btn);
      });
      choices.appendChild(line);
    });
  }

  function press(b) {
    if (b.kind === "request_location" && navigator.geolocation) {
      navigator.geolocation.getCurrentPosition(function (pos) {
        bubble("me", null, "📍 " + b.label);
        post({ location: { latitude: pos.coords.latitude, longitude: pos.coords.longitude } });
      }, function () { post({ payload: b.payload }); });
      return;
    }
    bubble("me", null, b.label);
    choices.textContent = "";
    post({ payload: b.payload });
  }

  // A refusal carries its Vietnamese explanation in {"message": ...}; show it as it is.
  function refusal(r, fallback) {
    return r.json().then(function (d) { bubble("bot error", null, (d && d.message) || fallback); })
      .catch(function () { bubble("bot error", null, fallback); });
  }

  function post(body, tries) {
    body.client_id = body.client_id || uid();   // the same id on a retry: handled once
    tries = tries || 0;
    return fetch("/chat/api/send", {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify(body)
    }).then(function (r) {
      if (r.status === 503 && tries < 6) {       // the server is busy: nothing was processed, send again
        setTimeout(function () { post(body, tries + 1); }, 3000 * (tries + 1));
        return;
      }
      if (!r.ok) { refusal(r, "Chưa gửi được, ông/bà vui lòng thử lại."); }
      soon();
    }).catch(function () { bubble("bot error", null, "Mất kết nối, ông/bà vui lòng thử lại."); });
  }

  function upload(file) {
    var data = new FormData();
    data.append("client_id", uid());
    data.append("caption", input.value);
    data.append("photo", file, file.name || "anh.jpg");
    input.value = "";
    bubble("me", null, "📷 " + (file.name || "Ảnh"));
    return fetch("/chat/api/upload", {
      method: "POST", credentials: "same-origin", headers: { "X-CSRF-Token": csrf }, body: data
    }).then(function (r) {
      if (!r.ok) { refusal(r, "Chưa gửi được ảnh, ông/bà vui lòng thử lại."); }
      soon();
    });
  }

  function poll() {
    if (polling) { return Promise.resolve(); }
    polling = true;
    return fetch("/chat/api/messages?after=" + after, { credentials: "same-origin", headers: { "X-CSRF-Token": csrf } })
      .then(function (r) { return r.ok ? r.json() : { messages: [] }; })
      .then(function (data) {
        var last = null;
        data.messages.forEach(function (m) {
          after = Math.max(after, m.id);
          bubble("bot", m.html, null);
          last = m;
        });
        if (last) { showChoices(last.buttons); }
        if (data.started === false && after === 0) { post({ text: "/start" }); }
      })
      .catch(function () {})
      .then(function () { polling = false; });
  }

  function soon() {
    quickPolls = 8;
    schedule(120);
  }

  function schedule(ms) {
    if (pollTimer) { clearTimeout(pollTimer); }
    pollTimer = setTimeout(function () {
      poll().then(function () {
        if (quickPolls > 0) { quickPolls -= 1; schedule(250); } else { schedule(4000); }
      });
    }, ms);
  }

  form.addEventListener("submit", function (e) {
    e.preventDefault();
    var text = input.value.trim();
    if (!text) { return; }
    input.value = "";
    bubble("me", null, text);
    choices.textContent = "";        // the old buttons belong to the question just answered
    post({ text: text });
  });
  photo.addEventListener("change", function () {
    if (photo.files && photo.files[0]) { upload(photo.files[0]); photo.value = ""; }
  });
  schedule(0);
}());
