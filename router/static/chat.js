// Resident web chat: no build step, no framework. Resident and bot text is only ever set with
// textContent, never innerHTML, so nothing a resident or operator types can run as code.
(function () {
  "use strict";
  var log = document.getElementById("log");
  var form = document.getElementById("composer");
  var input = document.getElementById("text");
  var sendBtn = document.getElementById("send");
  var statusEl = document.getElementById("status");
  var KEY = "rsa.web.session";
  var sessionId = localStorage.getItem(KEY);
  var events = null;
  var convId = null;
  var lastAt = 0;
  var shown = {};
  var WHO = { bot: "智能助手", operator: "人工客服", system: "系统", resident: "我" };

  function prefs(name, btn) {
    var on = localStorage.getItem("rsa.pref." + name) === "1";
    document.body.classList.toggle(name, on);
    btn.setAttribute("aria-pressed", String(on));
    btn.addEventListener("click", function () {
      on = !on;
      localStorage.setItem("rsa.pref." + name, on ? "1" : "0");
      document.body.classList.toggle(name, on);
      btn.setAttribute("aria-pressed", String(on));
    });
  }
  prefs("big", document.getElementById("bigger"));
  prefs("contrast", document.getElementById("contrast"));

  function add(author, text, buttons) {
    if (text) {
      var div = document.createElement("div");
      div.className = "msg " + author;
      var who = document.createElement("span");
      who.className = "who";
      who.textContent = WHO[author] || author;
      div.appendChild(who);
      div.appendChild(document.createTextNode(text));
      log.appendChild(div);
    }
    if (buttons && buttons.length) {
      var row = document.createElement("div");
      row.className = "buttons";
      buttons.forEach(function (b) {
        var btn = document.createElement("button");
        btn.type = "button";
        btn.textContent = b.title;
        btn.addEventListener("click", function () { send(b.payload, b.title); });
        row.appendChild(btn);
      });
      log.appendChild(row);
    }
    log.scrollTop = log.scrollHeight;
  }

  function api(method, path, body) {
    return fetch(path, {
      method: method,
      headers: body ? { "Content-Type": "application/json; charset=utf-8" } : {},
      body: body ? JSON.stringify(body) : undefined,
    }).then(function (r) {
      return r.json().then(function (d) { if (!r.ok) { throw d; } return d; });
    });
  }

  function ensureSession() {
    if (sessionId) { return Promise.resolve(sessionId); }
    return api("POST", "/api/v1/channels/web/sessions").then(function (d) {
      sessionId = d.session_id;
      localStorage.setItem(KEY, sessionId);
      return sessionId;
    });
  }

  function seen(m) {
    // Operator and system messages may come twice (history, live, replay after a reconnect): once only.
    var key = m.at + "|" + m.author + "|" + m.text;
    if (shown[key]) { return true; }
    shown[key] = true;
    if (m.at > lastAt) { lastAt = m.at; }
    return false;
  }

  function listen(newConvId) {
    if (newConvId === convId && events) { return; }
    convId = newConvId;
    if (events) { events.close(); }
    events = new EventSource("/api/v1/channels/web/events?session_id=" + encodeURIComponent(sessionId) +
                             "&since=" + encodeURIComponent(String(lastAt || Date.now() / 1000 - 5)));
    events.onmessage = function (e) {
      var ev = JSON.parse(e.data);
      if (ev.type === "message" && !seen(ev)) { add(ev.author, ev.text, ev.buttons); }
      if (ev.type === "state") { statusEl.textContent = ev.state === "human" ? "人工客服已接入" : ""; }
    };
  }

  function send(text, shown) {
    text = (text || "").trim();
    if (!text) { return; }
    add("resident", shown || text);
    sendBtn.disabled = true;
    statusEl.textContent = "正在回复…";
    ensureSession().then(function (sid) {
      return api("POST", "/api/v1/channels/web/messages", { session_id: sid, text: text });
    }).then(function (d) {
      statusEl.textContent = d.conversation.state === "queued" ? "正在为您转接人工客服…" : "";
      d.replies.forEach(function (r) { add(r.author || "bot", r.text, r.buttons); });
      listen(d.conversation.id);
    }).catch(function (err) {
      if (err && err.error && err.error.code === "bad_session") { localStorage.removeItem(KEY); sessionId = null; }
      statusEl.textContent = (err && err.error && err.error.message) || "网络不太稳定，请稍后再试。";
    }).then(function () { sendBtn.disabled = false; input.focus(); });
  }

  form.addEventListener("submit", function (e) {
    e.preventDefault();
    var t = input.value;
    input.value = "";
    send(t);
  });
  input.addEventListener("keydown", function (e) {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) { e.preventDefault(); form.requestSubmit(); }
  });

  if (sessionId) {
    api("GET", "/api/v1/channels/web/history?session_id=" + encodeURIComponent(sessionId)).then(function (d) {
      d.messages.forEach(function (m) {
        if (!seen(m)) { add(m.author, m.text, m.author === "resident" ? [] : m.buttons); }
      });
      if (d.conversation) { listen(d.conversation.id); }
      if (!d.messages.length) { add("bot", "您好！我是社区民生服务助手，可以帮您咨询办事、反映问题、查询工单进度。请问有什么可以帮您？"); }
    }).catch(function () { localStorage.removeItem(KEY); sessionId = null; });
  } else {
    add("bot", "您好！我是社区民生服务助手，可以帮您咨询办事、反映问题、查询工单进度。请问有什么可以帮您？");
  }
})();
