// The console's shared helpers: the session (who, CSRF token), JSON calls to the API, labels, formatting.
"use strict";
(function () {
  const labels = JSON.parse(document.body.dataset.labels || "{}");
  const state = { csrf: null, session: null };

  async function session() {
    const r = await fetch("/session", { credentials: "same-origin", headers: { Accept: "application/json" } });
    const me = await r.json();
    state.session = me;
    state.csrf = me.csrf_token || null;
    const who = document.getElementById("who");
    if (who) who.textContent = me.authenticated ? "当前用户：" + me.name : "未登录";
    const field = document.getElementById("logout-csrf");
    if (field && state.csrf) field.value = state.csrf;
    return me;
  }

  // Calls the API; resolves to {ok, status, body}. A refusal's body is the API's {code, message, detail}.
  async function api(method, path, body) {
    const headers = { Accept: "application/json" };
    if (method !== "GET") {
      headers["Content-Type"] = "application/json";
      if (state.csrf) headers["X-CSRF-Token"] = state.csrf;
    }
    const init = { method: method, credentials: "same-origin", headers: headers };
    if (body !== undefined) init.body = JSON.stringify(body);
    let r;
    try {
      r = await fetch(path, init);
    } catch (e) {
      return { ok: false, status: 0, body: { code: "network", message: "无法连接服务器：" + e } };
    }
    let data = null;
    try {
      data = await r.json();
    } catch (e) {
      data = { code: "bad_response", message: "服务器返回了无法识别的内容（HTTP " + r.status + "）" };
    }
    return { ok: r.ok, status: r.status, body: data };
  }

  function label(kind, code) {
    if (code === null || code === undefined || code === "") return "—";
    const table = labels[kind] || {};
    return table[code] || code;
  }

  // Times in the subdistrict's zone (Asia/Shanghai), whatever the browser's own zone is.
  const zoned = new Intl.DateTimeFormat("zh-CN", {
    timeZone: "Asia/Shanghai", year: "numeric", month: "2-digit", day: "2-digit",
    hour: "2-digit", minute: "2-digit", hourCycle: "h23",
  });

  function time(iso) {
    if (!iso) return "—";
    const parts = {};
    for (const p of zoned.formatToParts(new Date(iso))) parts[p.type] = p.value;
    return parts.year + "-" + parts.month + "-" + parts.day + " " + parts.hour + ":" + parts.minute;
  }

  function minutes(m) {
    if (m === null || m === undefined) return "—";
    const late = m < 0;
    let v = Math.abs(Math.round(m));
    const text = v >= 60 ? Math.floor(v / 60) + "小时" + (v % 60) + "分" : v + "分";
    return late ? "超期" + text : "剩" + text;
  }

  function el(tag, attrs, children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "text") node.textContent = v;
      else if (k === "class") node.className = v;
      else node.setAttribute(k, v);
    }
    for (const c of children || []) node.append(c);
    return node;
  }

  function alertBox(text, kind) {
    const box = document.getElementById("alert");
    if (!box) return;
    box.textContent = text;
    box.className = "alert " + (kind || "info");
    box.hidden = false;
  }

  function redirectToLogin() {
    window.location.href = "/login?next=" + encodeURIComponent(window.location.pathname);
  }

  window.geoConsole = { state, session, api, label, time, minutes, el, alertBox, redirectToLogin, labels };
})();
