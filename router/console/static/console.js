// 12345 坐席工作台: small, dependency-free enhancements over server-rendered pages.
// Live updates come over Server-Sent Events; server-rendered (escaped) fragments are swapped in with
// DOMParser, and anything built here from event data uses textContent only — resident text is never
// parsed as HTML in this file.
(function () {
  "use strict";

  var body = document.body;
  var csrf = body.dataset.csrf || "";

  function duration(seconds) {
    seconds = Math.floor(Math.abs(seconds));
    var d = Math.floor(seconds / 86400), h = Math.floor((seconds % 86400) / 3600);
    var m = Math.floor((seconds % 3600) / 60), s = seconds % 60;
    if (d) return d + "天" + h + "小时";
    if (h) return h + "小时" + m + "分";
    if (m) return m + "分" + s + "秒";
    return s + "秒";
  }

  // Wait times and SLA countdowns tick without a reload.
  function tick() {
    var now = Date.now() / 1000;
    document.querySelectorAll("[data-since]").forEach(function (el) {
      var since = parseFloat(el.dataset.since);
      if (since > 0) el.textContent = duration(now - since);
    });
    document.querySelectorAll("[data-deadline]").forEach(function (el) {
      var left = parseFloat(el.dataset.deadline) - now;
      el.textContent = (left < 0 ? "超时 " : "剩余 ") + duration(left);
      el.classList.toggle("overdue", left < 0);
      var row = el.closest("tr");
      if (row) row.classList.toggle("overdue", left < 0);
    });
  }
  setInterval(tick, 1000);

  function showFlash(kind, text) {
    var area = document.getElementById("flash");
    if (!area) return;
    var p = document.createElement("p");
    p.className = "flash flash-" + kind;
    p.textContent = text;
    area.replaceChildren(p);
  }

  // Replace the children of each element with the same id from a server-rendered fragment.
  function swapFrom(html, ids) {
    var doc = new DOMParser().parseFromString(html, "text/html");
    ids.forEach(function (id) {
      var fresh = doc.getElementById(id), live = document.getElementById(id);
      if (!fresh || !live) return;
      live.replaceWith(document.importNode(fresh, true));
    });
  }

  var pending = {};
  var liveEntries = [];  // the open conversation's entries that came over the live stream (newest 200)
  function refresh(container, ids) {
    if (!container || pending[container.id]) return;
    pending[container.id] = true;
    setTimeout(function () {  // several events in a burst cost one request
      fetch(container.dataset.src, {headers: {"X-Requested-With": "fetch"}, credentials: "same-origin"})
        .then(function (r) {
          if (r.status === 401) { location.href = "/console/login"; return null; }
          return r.ok ? r.text() : null;
        })
        .then(function (html) {
          pending[container.id] = false;
          if (html === null) return;
          if (ids) { swapFrom(html, ids); } else {
            var doc = new DOMParser().parseFromString(html, "text/html");
            container.replaceChildren.apply(container, Array.from(doc.body.childNodes).map(function (n) {
              return document.importNode(n, true);
            }));
          }
          // A snapshot taken just before a live entry arrived must not wipe it: put back what came live.
          liveEntries.forEach(appendEntry);
          afterSwap();
          tick();
        })
        .catch(function () { pending[container.id] = false; });
    }, 250);
  }

  // ---------------------------------------------------------------- conversation page
  var transcriptBox = function () { return document.getElementById("transcript"); };
  function scrollDown() { var t = transcriptBox(); if (t) t.scrollTop = t.scrollHeight; }

  function appendEntry(e) {
    var list = transcriptBox();
    if (!list) return;
    var key = e.at + "|" + e.author;
    var exists = Array.prototype.some.call(list.children, function (li) { return li.dataset.key === key; });
    if (exists) return;
    var empty = list.querySelector(".entry.empty");
    if (empty) empty.remove();
    var li = document.createElement("li");
    li.className = "entry entry-" + String(e.author).replace(/[^a-z]/g, "");
    li.dataset.key = key;
    var meta = document.createElement("div");
    meta.className = "meta";
    var who = document.createElement("span");
    who.className = "who";
    who.textContent = e.author_label;
    var time = document.createElement("time");
    time.textContent = e.time;
    meta.append(who, " ", time);
    var text = document.createElement("div");
    text.className = "text";
    text.textContent = e.text;
    li.append(meta, text);
    if (e.buttons && e.buttons.length) {
      var bs = document.createElement("div");
      bs.className = "buttons";
      e.buttons.forEach(function (b) {
        var chip = document.createElement("span");
        chip.className = "chip static";
        chip.textContent = b;
        bs.append(chip);
      });
      li.append(bs);
    }
    list.append(li);
    scrollDown();
  }

  function syncReplyForm() {
    var form = document.getElementById("reply-form"), head = document.getElementById("conv-head");
    if (!form || !head) return;
    var mine = head.dataset.state === "human" && head.dataset.operator === form.dataset.owner;
    form.classList.toggle("disabled", !mine);
    form.querySelectorAll("textarea, button").forEach(function (el) { el.disabled = !mine; });
  }

  function afterSwap() { syncReplyForm(); scrollDown(); bindConfirm(); }

  function bindConfirm() {
    document.querySelectorAll("form[data-confirm]").forEach(function (f) {
      if (f.dataset.bound) return;
      f.dataset.bound = "1";
      f.addEventListener("submit", function (ev) { if (!confirm(f.dataset.confirm)) ev.preventDefault(); });
    });
  }

  function bindReply() {
    var form = document.getElementById("reply-form");
    if (!form) return;
    var area = document.getElementById("reply-text"), status = document.getElementById("reply-status");
    form.querySelectorAll("[data-canned-text]").forEach(function (b) {
      b.addEventListener("click", function (ev) {  // with JS a canned reply is a draft to edit, not a send
        ev.preventDefault();
        area.value = b.dataset.cannedText;
        area.focus();
      });
    });
    area.addEventListener("keydown", function (ev) {
      if (ev.key === "Enter" && (ev.ctrlKey || ev.metaKey)) { ev.preventDefault(); form.requestSubmit(); }
    });
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var text = area.value.trim();
      if (!text) { status.textContent = "回复内容不能为空。"; return; }
      var data = new FormData();
      data.append("csrf", csrf);
      data.append("text", text);
      var send = document.getElementById("reply-send");
      send.disabled = true;
      status.textContent = "发送中…";
      fetch(form.action, {method: "POST", body: data, credentials: "same-origin",
                          headers: {"X-Requested-With": "fetch", "X-CSRF-Token": csrf}})
        .then(function (r) { return r.json().catch(function () { return {ok: false, message: "发送失败（" + r.status + "）"}; }); })
        .then(function (res) {
          status.textContent = res.message || "";
          if (res.ok) { area.value = ""; refresh(document.getElementById("conv-live"), ["conv-head", "transcript"]); }
          else showFlash("error", res.message || "发送失败");
        })
        .catch(function () { status.textContent = "网络错误，回复未发送，请重试。"; })
        .finally(function () { syncReplyForm(); });
    });
  }

  // ---------------------------------------------------------------- live events
  function live() {
    var mode = body.dataset.live;
    if (!mode || !window.EventSource) return;
    var conv = body.dataset.conversation;
    var url = "/console/events" + (conv ? "?conversation=" + encodeURIComponent(conv) : "");
    var source = new EventSource(url);
    var queue = document.getElementById("queue"), convLive = document.getElementById("conv-live");
    var opened = false;
    source.addEventListener("open", function () {
      // anything missed while (re)connecting is fetched once; duplicates are skipped by key
      if (opened || conv) {
        if (queue) refresh(queue);
        if (convLive) refresh(convLive, ["conv-head", "transcript"]);
      }
      opened = true;
    });
    source.addEventListener("queue", function (ev) {
      var data = {};
      try { data = JSON.parse(ev.data); } catch (e) { data = {}; }
      if (data.type === "assigned" && data.operator && data.operator === body.dataset.user) {
        showFlash("ok", "有一个会话分配给了您，已放入“我的会话”，请尽快回复。");
      }
      if (queue) refresh(queue);
      if (mode === "supervisor") refreshSupervisor();
    });
    source.addEventListener("message", function (ev) {
      var entry = JSON.parse(ev.data);
      liveEntries.push(entry);
      if (liveEntries.length > 200) liveEntries.shift();
      appendEntry(entry);
    });
    source.addEventListener("state", function () {
      if (convLive) refresh(convLive, ["conv-head"]);
    });
    source.addEventListener("logout", function () { location.href = "/console/login"; });
  }

  var supervisorTimer = null;
  function refreshSupervisor() {  // the dashboard is cheap to re-render; at most every 5 s
    if (supervisorTimer) return;
    supervisorTimer = setTimeout(function () { location.reload(); }, 5000);
  }

  document.addEventListener("DOMContentLoaded", function () {
    bindReply();
    bindConfirm();
    syncReplyForm();
    scrollDown();
    tick();
    live();
  });
})();
