// 受理台: the work queue. New reports first (status reported), then by the stage light (red, yellow, green),
// tabs by status with counts, filters by category, channel and community; new reports arrive by
// server-sent events (GET /console/events) and reload the queue with a visible alert.
"use strict";
(function () {
  const C = window.geoConsole;
  const OPEN = ["reported", "accepted", "registered", "dispatched", "in_progress", "feedback", "verified", "parked"];
  const STAGED = ["accepted", "registered", "dispatched", "in_progress", "feedback", "verified"];
  const UNLIT = ["parked", "closed", "rejected", "duplicate"];
  const TABS = [["open", "待办", OPEN]].concat(
    ["reported", "accepted", "registered", "dispatched", "in_progress", "feedback", "verified", "parked",
      "closed", "rejected", "duplicate"].map((s) => [s, C.label("status", s), [s]])
  );
  const PAGE = 100;
  const ui = { tab: "open", loading: 0, fresh: new Set(), communities: {} };
  window.geoConsoleQueue = ui;

  function filters() {
    const p = new URLSearchParams();
    const cat = document.getElementById("f-category").value;
    const ch = document.getElementById("f-channel").value;
    const com = document.getElementById("f-community").value;
    if (cat) p.append("category", cat);
    if (ch) p.append("channel", ch);
    if (com) p.append("grid", com);
    return p;
  }

  function query(statuses, extra) {
    const p = filters();
    for (const s of statuses) p.append("status", s);
    for (const [k, v] of Object.entries(extra || {})) p.append(k, v);
    return "/reports?" + p.toString();
  }

  async function get(path) {
    const r = await C.api("GET", path);
    if (r.status === 401) C.redirectToLogin();
    if (!r.ok) throw new Error((r.body && r.body.message) || "HTTP " + r.status);
    return r.body;
  }

  async function counts() {
    const nav = document.getElementById("tabs");
    const results = await Promise.all(TABS.map(([, , st]) => get(query(st, { limit: 1 }))));
    nav.replaceChildren();
    TABS.forEach(([key, name], i) => {
      const a = C.el("button", { type: "button", class: "tab" + (key === ui.tab ? " active" : ""), "data-tab": key });
      a.append(name + " ", C.el("span", { class: "count", text: String(results[i].total) }));
      a.addEventListener("click", () => { ui.tab = key; refresh(); });
      nav.append(a);
    });
  }

  // The groups, in the queue's order: new reports, red, yellow, green, then any without a light.
  function groups(statuses) {
    const out = [];
    const fresh = statuses.filter((s) => s === "reported");
    const staged = statuses.filter((s) => STAGED.includes(s));
    const unlit = statuses.filter((s) => UNLIT.includes(s));
    if (fresh.length) out.push(["新上报", fresh, {}]);
    for (const light of ["red", "yellow", "green"]) {
      if (staged.length) out.push([C.label("light", light), staged, { light: light }]);
    }
    if (staged.length) out.push(["其他", staged, {}]);
    if (unlit.length) out.push([unlit.map((s) => C.label("status", s)).join("、"), unlit, {}]);
    return out;
  }

  function row(r) {
    const tr = C.el("tr", { "data-id": String(r.id), class: "light-" + (r.light || "none") + (ui.fresh.has(r.id) ? " fresh" : "") });
    const link = C.el("a", { href: "/console/reports/" + r.id, text: "#" + r.id });
    const community = ui.communities[r.community_code] || r.community_code;
    const place = [community, r.micro_code].filter(Boolean).join(" / ") || (r.outside ? "网格外" : "—");
    tr.append(
      C.el("td", {}, [link]),
      C.el("td", {}, [C.el("span", { class: "light " + (r.light || "none"), title: C.label("light", r.light), text: C.label("light", r.light) })]),
      C.el("td", { text: r.status_label }),
      C.el("td", { text: r.stage_label ? r.stage_label + " " + C.minutes(r.stage_remaining_minutes) : "—" }),
      C.el("td", { text: r.category_label }),
      C.el("td", { text: r.channel_label }),
      C.el("td", { text: place }),
      C.el("td", { text: C.time(r.created_at) }),
      C.el("td", { class: "desc", text: r.description.slice(0, 60) })
    );
    return tr;
  }

  async function list() {
    const statuses = TABS.find(([k]) => k === ui.tab)[2];
    const gs = groups(statuses);
    const pages = await Promise.all(gs.map(([, st, extra]) => get(query(st, Object.assign({ limit: PAGE }, extra)))));
    const body = document.querySelector("#queue tbody");
    const seen = new Set();
    const rows = [];
    let shown = 0;
    const parts = [];
    gs.forEach(([name], i) => {
      const page = pages[i];
      const items = page.items.filter((r) => !seen.has(r.id));
      if (!items.length) return;
      if (name !== "其他") parts.push(name + " " + page.total);
      rows.push(C.el("tr", { class: "group" }, [C.el("td", { colspan: "9", text: name + "（" + page.total + "）" })]));
      for (const r of items) { seen.add(r.id); rows.push(row(r)); shown += 1; }
    });
    body.replaceChildren(...rows);
    if (!shown) body.append(C.el("tr", {}, [C.el("td", { colspan: "9", class: "muted", text: "没有符合条件的上报" })]));
    document.getElementById("summary").textContent = "显示 " + shown + " 条" + (parts.length ? "（" + parts.join("，") + "）" : "");
  }

  async function refresh() {
    ui.loading += 1;
    try {
      await Promise.all([counts(), list()]);
    } catch (e) {
      C.alertBox("读取上报失败：" + e.message, "error");
    } finally {
      ui.loading -= 1;
      ui.loaded = (ui.loaded || 0) + 1;
    }
  }

  async function options() {
    const cats = await get("/categories");
    const items = Array.isArray(cats) ? cats : cats.items || cats.categories || [];
    const sel = document.getElementById("f-category");
    for (const c of items) sel.append(C.el("option", { value: c.code, text: c.name || c.code }));
    const ch = document.getElementById("f-channel");
    for (const [code, name] of Object.entries(C.labels.channel || {})) ch.append(C.el("option", { value: code, text: name }));
    const com = await get("/communities");
    const sc = document.getElementById("f-community");
    for (const f of com.features || []) {
      const p = f.properties || {};
      sc.append(C.el("option", { value: p.code, text: p.name || p.code }));
      ui.communities[p.code] = p.name || p.code;
    }
  }

  function listen() {
    const live = document.getElementById("live");
    const source = new EventSource("/console/events");
    source.addEventListener("open", () => { live.className = "live on"; live.textContent = "● 实时"; });
    source.addEventListener("error", () => { live.className = "live off"; live.textContent = "● 重连中"; });
    source.addEventListener("report", (e) => {
      const ids = JSON.parse(e.data).ids || [];
      ids.forEach((id) => ui.fresh.add(id));
      C.alertBox("新上报 " + ids.length + " 件：" + ids.map((id) => "#" + id).join("、"), "new");
      refresh();
    });
    ui.source = source;
  }

  async function start() {
    const me = await C.session();
    if (!me.authenticated) { C.redirectToLogin(); return; }
    try {
      await options();
    } catch (e) {
      C.alertBox("读取筛选项失败：" + e.message, "error");
    }
    for (const id of ["f-category", "f-channel", "f-community"]) document.getElementById(id).addEventListener("change", refresh);
    await refresh();
    listen();
    ui.ready = true;
  }

  start();
})();
