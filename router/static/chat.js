// Resident web chat: no build step, no framework. Resident and bot text is only ever set with
// textContent, never innerHTML, so nothing a resident or operator types can run as code.
//
// The session id lives in sessionStorage (this tab only, gone when it closes) and ends on the server
// after a while without use; 「清空对话」 ends it at once, and so does leaving the page idle while the bot
// is answering (a kiosk must not show the next resident the last one's conversation). A resident
// waiting for or talking to a person is never cleared by the idle timer.
(function () {
  "use strict";
  var log = document.getElementById("log");
  var form = document.getElementById("composer");
  var input = document.getElementById("text");
  var sendBtn = document.getElementById("send");
  var clearBtn = document.getElementById("clear");
  var statusEl = document.getElementById("status");
  var KEY = "rsa.web.session";
  var TTL_KEY = "rsa.web.session.ttl";
  var GREETING = "您好！我是社区民生服务助手，可以帮您咨询办事、反映问题、查询工单进度。请问有什么可以帮您？";
  var WHO = { bot: "智能助手", operator: "人工客服", system: "系统", resident: "我" };
  var store = tabStore();
  var sessionId = store.get(KEY);
  var ttl = Number(store.get(TTL_KEY)) || 1800;
  var events = null;
  var relisten = null;
  var convId = null;
  var convState = null;
  var lastAt = 0;
  var shown = {};
  var lastActivity = Date.now();

  // Earlier versions kept the session in localStorage, where it outlived the tab: drop it.
  try { localStorage.removeItem("rsa.web.session"); } catch (e) { /* storage disabled */ }

  function tabStore() {
    var s = null;
    try { s = window.sessionStorage; s.getItem(KEY); } catch (e) { s = null; }
    var mem = {};
    return {
      get: function (k) { return s ? s.getItem(k) : (mem[k] || null); },
      set: function (k, v) { if (s) { s.setItem(k, v); } else { mem[k] = v; } },
      remove: function (k) { if (s) { s.removeItem(k); } else { delete mem[k]; } },
    };
  }

  function prefs(name, btn) {
    var on = false;
    try { on = localStorage.getItem("rsa.pref." + name) === "1"; } catch (e) { /* storage disabled */ }
    document.body.classList.toggle(name, on);
    btn.setAttribute("aria-pressed", String(on));
    btn.addEventListener("click", function () {
      on = !on;
      try { localStorage.setItem("rsa.pref." + name, on ? "1" : "0"); } catch (e) { /* storage disabled */ }
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
      cache: "no-store",
    }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (d) {
        if (!r.ok) { d = d || {}; d.status = r.status; throw d; }
        return d;
      });
    });
  }

  // No answer came back (the network, or a server restarting behind the load balancer): worth sending
  // the same message again once, under the same message_id, so it is never taken twice.
  function transient(err) {
    return !err || !err.error || err.status === 502 || err.status === 503 || err.status === 504;
  }

  function newMessageId() {
    var bytes = new Uint8Array(12);
    window.crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }

  function wait(ms) { return new Promise(function (resolve) { setTimeout(resolve, ms); }); }

  function code(err) { return err && err.error && err.error.code; }

  function ensureSession() {
    if (sessionId) { return Promise.resolve(sessionId); }
    return api("POST", "/api/v1/channels/web/sessions").then(function (d) {
      sessionId = d.session_id;
      ttl = Number(d.expires_in) || ttl;
      store.set(KEY, sessionId);
      store.set(TTL_KEY, String(ttl));
      return sessionId;
    });
  }

  // Forget the session and everything shown on this page (the server side ends separately).
  function forget() {
    if (events) { events.close(); events = null; }
    if (relisten) { clearTimeout(relisten); relisten = null; }
    sessionId = null;
    store.remove(KEY);
    convId = null;
    convState = null;
    lastAt = 0;
    shown = {};
    while (log.firstChild) { log.removeChild(log.firstChild); }
  }

  function clearConversation(message) {
    var sid = sessionId;
    forget();
    if (sid) {
      api("POST", "/api/v1/channels/web/sessions/end", { session_id: sid }).catch(function () { /* expired */ });
    }
    statusEl.textContent = message;
    add("bot", GREETING);
    input.value = "";
  }

  function touch() { lastActivity = Date.now(); }

  function setState(state) {
    convState = state;
    if (state === "queued") { statusEl.textContent = "正在为您转接人工客服…"; }
    else if (state === "human") { statusEl.textContent = "人工客服已接入"; }
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
    if (relisten) { clearTimeout(relisten); relisten = null; }
    var sid = sessionId;
    var source = new EventSource("/api/v1/channels/web/events?session_id=" + encodeURIComponent(sid) +
                                 "&since=" + encodeURIComponent(String(lastAt || Date.now() / 1000 - 5)));
    events = source;
    source.onmessage = function (e) {
      var ev = JSON.parse(e.data);
      if (ev.type === "message" && !seen(ev)) { touch(); add(ev.author, ev.text, ev.buttons); }
      if (ev.type === "state") {
        setState(ev.state);
        if (ev.state !== "queued" && ev.state !== "human") { statusEl.textContent = ""; }
      }
    };
    source.onerror = function () {
      // The browser reconnects by itself after a dropped stream; a refused one (too many streams, a busy
      // server) stays closed: try again a little later, as long as this is still the same conversation.
      if (source.readyState !== EventSource.CLOSED || events !== source) { return; }
      events = null;
      relisten = setTimeout(function () {
        relisten = null;
        if (sessionId === sid && convId === newConvId) { convId = null; listen(newConvId); }
      }, 15000);
    };
  }

  function post(text, label, mayRetry) {
    var messageId = newMessageId();
    var once = function (sid) {
      return api("POST", "/api/v1/channels/web/messages", { session_id: sid, text: text, message_id: messageId });
    };
    return ensureSession().then(function (sid) {
      return once(sid).catch(function (err) {
        if (!transient(err)) { throw err; }
        return wait(1500).then(function () { return once(sid); });
      });
    }).catch(function (err) {
      if (!mayRetry || code(err) !== "bad_session") { throw err; }
      // The session ended (idle too long, or cleared in another way): this message starts a new one,
      // and what belonged to the old one leaves the screen.
      forget();
      add("resident", label);
      return post(text, label, false);
    });
  }

  function send(text, label) {
    text = (text || "").trim();
    if (!text) { return; }
    touch();
    label = label || text;
    add("resident", label);
    sendBtn.disabled = true;
    statusEl.textContent = "正在回复…";
    post(text, label, true).then(function (d) {
      statusEl.textContent = "";
      setState(d.conversation.state);
      d.replies.forEach(function (r) {
        // a system message also comes on the live stream: with its time, it is shown once
        if (r.at && seen({at: r.at, author: r.author || "bot", text: r.text})) { return; }
        add(r.author || "bot", r.text, r.buttons);
      });
      listen(d.conversation.id);
    }).catch(function (err) {
      if (code(err) === "bad_session") { forget(); }
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
  clearBtn.addEventListener("click", function () { clearConversation("对话已清空。"); input.focus(); });
  ["keydown", "pointerdown", "touchstart", "scroll"].forEach(function (name) {
    document.addEventListener(name, touch, { passive: true, capture: true });
  });
  // Left idle while talking to the bot: clear, as 「清空对话」 would. Never while waiting for a person.
  setInterval(function () {
    if (!sessionId || convState === "queued" || convState === "human") { return; }
    if (Date.now() - lastActivity > ttl * 1000) { clearConversation("长时间未操作，对话已清空。"); }
  }, 15000);

  if (sessionId) {
    api("GET", "/api/v1/channels/web/history?session_id=" + encodeURIComponent(sessionId)).then(function (d) {
      d.messages.forEach(function (m) {
        if (!seen(m)) { add(m.author, m.text, m.author === "resident" ? [] : m.buttons); }
      });
      if (d.conversation) { setState(d.conversation.state); listen(d.conversation.id); }
      if (!d.messages.length) { add("bot", GREETING); }
    }).catch(function () { forget(); add("bot", GREETING); });
  } else {
    add("bot", GREETING);
  }
})();
