// The staff pages' shared helpers — the 街道中心 console (/console/…) and the grid worker's phone pages (/m/…)
// load this one file: the session (who, CSRF token), JSON calls to the API, labels, formatting, the phone's
// position. Exposed as window.geoConsole and, for the phone pages, window.geoField (the same object).
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
    if (who) {
      who.textContent = me.authenticated ? me.name : "未登录";
      who.classList.toggle("known", Boolean(me.authenticated));
    }
    const field = document.getElementById("logout-csrf");
    if (field && state.csrf) field.value = state.csrf;
    return me;
  }

  // Calls the API; resolves to {ok, status, body}. A refusal's body is the API's {code, message, detail}.
  // `body` may be a FormData (a photo upload): the browser sets its multipart type.
  async function api(method, path, body) {
    const headers = { Accept: "application/json" };
    if (method !== "GET" && state.csrf) headers["X-CSRF-Token"] = state.csrf;
    const init = { method: method, credentials: "same-origin", headers: headers };
    if (body instanceof FormData) {
      init.body = body;
    } else if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
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

  // Times in the subdistrict's zone (Asia/Shanghai), whatever the browser's own zone is: `time` with the
  // year (the console), `shortTime` without it (the phone pages).
  const zoned = new Intl.DateTimeFormat("zh-CN", {
    timeZone: "Asia/Shanghai", year: "numeric", month: "2-digit", day: "2-digit",
    hour: "2-digit", minute: "2-digit", hourCycle: "h23",
  });

  function parts(iso) {
    const out = {};
    for (const p of zoned.formatToParts(new Date(iso))) out[p.type] = p.value;
    return out;
  }

  function time(iso) {
    if (!iso) return "—";
    const p = parts(iso);
    return p.year + "-" + p.month + "-" + p.day + " " + p.hour + ":" + p.minute;
  }

  function shortTime(iso) {
    if (!iso) return "—";
    const p = parts(iso);
    return p.month + "-" + p.day + " " + p.hour + ":" + p.minute;
  }

  function minutes(m) {
    if (m === null || m === undefined) return "—";
    const late = m < 0;
    let v = Math.abs(Math.round(m));
    const text = v >= 60 ? Math.floor(v / 60) + "小时" + (v % 60) + "分" : v + "分";
    return late ? "超期" + text : "剩" + text;
  }

  function distance(m) {
    if (m === null || m === undefined) return "";
    return m >= 1000 ? (m / 1000).toFixed(1) + " 公里" : Math.round(m) + " 米";
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

  // The phone's position (WGS84), or null (refused, unavailable, or not within `ms`).
  function position(ms) {
    return new Promise((resolve) => {
      if (!navigator.geolocation) { resolve(null); return; }
      const timer = setTimeout(() => resolve(null), ms);
      navigator.geolocation.getCurrentPosition(
        (p) => { clearTimeout(timer); resolve({ lon: p.coords.longitude, lat: p.coords.latitude }); },
        () => { clearTimeout(timer); resolve(null); },
        { enableHighAccuracy: true, timeout: ms, maximumAge: 60000 }
      );
    });
  }

  const shared = {
    state, session, api, label, time, shortTime, minutes, distance, el, alertBox, redirectToLogin, position, labels,
  };
  window.geoConsole = shared;
  window.geoField = shared;
})();
