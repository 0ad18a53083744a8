// One report's page: details, photos, a small map with the grid outline, duplicate suggestion, the
// responsible people (phones as the API shows them to this user), the history, and the actions allowed
// from the current state as buttons calling the API with the session's CSRF token.
"use strict";
(function () {
  const C = window.geoConsole;
  const id = Number(document.body.dataset.reportId);
  const ui = { report: null, busy: false, map: null, layers: null, renders: 0 };
  window.geoConsoleReport = ui;

  function val(elId) { return document.getElementById(elId).value.trim(); }
  function note() { return val("a-note") || null; }

  function needReason() {
    const r = val("a-note");
    if (!r) throw new Error("请先在“备注 / 理由”中填写理由");
    return r;
  }

  // Every action: [key, button text, shown when (report) -> bool, request builder () -> [method, path, body]]
  const ACTIONS = [
    ["accept", "受理", (r) => r.allowed_next.includes("accepted"), () => ["POST", "transitions", { to: "accepted", note: note() }]],
    ["reject", "不予受理", (r) => r.allowed_next.includes("rejected"), () => ["POST", "transitions", { to: "rejected", note: note() }]],
    ["mark-duplicate", "标记重复", (r) => r.allowed_next.includes("duplicate"), () => {
      const of = Number(val("a-duplicate-of")) || ui.report.possible_duplicate_of;
      if (!of) throw new Error("请先填写重复的原上报编号");
      return ["POST", "transitions", { to: "duplicate", duplicate_of: of, note: note() }];
    }],
    ["register", "立案", (r) => r.allowed_next.includes("registered"), () => ["POST", "transitions", { to: "registered", note: note() }]],
    ["dispatch-grid", "派遣网格队伍", (r) => r.allowed_next.includes("dispatched"), () => ["POST", "dispatch", { kind: "grid_team", note: note() }]],
    ["dispatch-department", "派遣部门", (r) => r.allowed_next.includes("dispatched"), () => ["POST", "dispatch", { kind: "department", target: val("a-target") || null, note: note() }]],
    ["dispatch-volunteer", "派发志愿者认领", (r) => r.allowed_next.includes("dispatched"), () => ["POST", "dispatch", { kind: "volunteer", note: note() }]],
    ["start", "开始处置", (r) => r.status === "dispatched" && r.allowed_next.includes("in_progress"), () => ["POST", "transitions", { to: "in_progress", note: note() }]],
    ["rework", "返工", (r) => r.status === "feedback" && r.allowed_next.includes("in_progress"), () => ["POST", "transitions", { to: "in_progress", note: note() }]],
    ["feedback", "办结反馈", (r) => r.allowed_next.includes("feedback"), () => ["POST", "transitions", { to: "feedback", note: note() }]],
    ["verify", "核查通过", (r) => r.allowed_next.includes("verified"), () => ["POST", "transitions", { to: "verified", note: note() }]],
    ["close", "结案（已解决）", (r) => r.allowed_next.includes("closed"), () => ["POST", "transitions", { to: "closed", solved: true, note: note() }]],
    ["close-unsolved", "结案（未解决）", (r) => r.allowed_next.includes("closed"), () => ["POST", "transitions", { to: "closed", solved: false, note: note() }]],
    ["return", "退回（部门）", (r) => r.status === "dispatched" && r.dispatch_kind === "department", () => ["POST", "return", { reason: needReason() }]],
    ["park", "挂账", (r) => ["registered", "dispatched", "in_progress"].includes(r.status), () => {
      const review = val("a-review");
      if (!review) throw new Error("请先填写挂账复核日期");
      return ["POST", "park", { reason: needReason(), review_on: review }];
    }],
    ["unpark", "解除挂账", (r) => r.status === "parked", () => ["POST", "unpark", { note: note() }]],
    ["extend", "申请延期", (r) => Boolean(r.stage), () => ["POST", "extensions", { hours: Number(val("a-hours")) || 4, reason: needReason() }]],
    ["supervise", "督办", (r) => !["closed", "rejected", "duplicate"].includes(r.status), () => {
      const hours = Number(val("a-hours"));
      return ["POST", "supervision", { kind: "supervise", reason: needReason(), hours: hours > 0 ? hours : null }];
    }],
    ["urge", "催办", (r) => !["closed", "rejected", "duplicate"].includes(r.status), () => ["POST", "supervision", { kind: "urge", reason: needReason() }]],
  ];

  function message(text, kind) {
    const box = document.getElementById("action-message");
    box.textContent = text;
    box.className = "action-message " + kind;
    box.hidden = false;
  }

  function refusal(body, status) {
    const b = body || {};
    let text = "操作被拒绝：" + (b.message || "HTTP " + status);
    const d = b.detail || {};
    if (Array.isArray(d.allowed) && d.allowed.length) {
      text += "（当前允许：" + d.allowed.map((s) => C.label("status", s)).join("、") + "）";
    }
    return text;
  }

  async function act(key, build, button) {
    if (ui.busy) return;
    let req;
    try {
      req = build();
    } catch (e) {
      message(e.message, "error");
      return;
    }
    const [method, tail, body] = req;
    ui.busy = true;
    button.disabled = true;
    const r = await C.api(method, "/reports/" + id + "/" + tail, body);
    ui.busy = false;
    button.disabled = false;
    if (r.status === 401) { C.redirectToLogin(); return; }
    if (!r.ok) {
      message(refusal(r.body, r.status), "error");
      ui.lastRefusal = r.body;
      await load();  // the case may have moved meanwhile: show where it is now, and its actions
      return;
    }
    message("已完成：" + button.textContent, "ok");
    document.getElementById("a-note").value = "";
    await load();
  }

  function actions(r) {
    const box = document.getElementById("actions");
    box.replaceChildren();
    for (const [key, text, shown, build] of ACTIONS) {
      if (!shown(r)) continue;
      const b = C.el("button", { type: "button", class: "action", "data-action": key, text: text });
      b.addEventListener("click", () => act(key, build, b));
      box.append(b);
    }
    if (!box.children.length) box.append(C.el("span", { class: "muted", text: "当前状态没有可执行的操作" }));
  }

  function facts(r) {
    const rows = [
      ["状态", r.status_label],
      ["阶段", r.stage_label ? r.stage_label + "（" + C.label("light", r.light) + "，" + C.minutes(r.stage_remaining_minutes) + "，期限 " + C.time(r.stage_due_at) + "）" : "—"],
      ["类别", r.category_label],
      ["渠道", r.channel_label],
      ["地址", r.address_text || "—"],
      ["位置", r.lon !== null && r.lon !== undefined ? r.lon.toFixed(6) + ", " + r.lat.toFixed(6) : "—"],
      ["社区 / 网格", [r.community_code, r.tertiary_code, r.micro_code].filter(Boolean).join(" / ") || (r.outside ? "网格外（街道中心处理）" : "—")],
      ["派遣", r.dispatch_kind ? C.label("dispatch_kind", r.dispatch_kind) + (r.dispatch_target ? "：" + r.dispatch_target : "") : "—"],
      ["上报人联系方式", r.reporter_contact || "—"],
      ["上报时间", C.time(r.created_at)],
      ["办结期限", C.time(r.due_at) + (r.overdue ? "（已超期）" : "")],
    ];
    const dl = document.getElementById("facts");
    dl.replaceChildren();
    for (const [k, v] of rows) dl.append(C.el("dt", { text: k }), C.el("dd", { text: v }));
  }

  function people(list) {
    const body = document.querySelector("#people tbody");
    body.replaceChildren();
    for (const p of list || []) {
      const phone = p.phone ? C.el("a", { href: "tel:" + p.phone, class: "phone", text: p.phone }) : C.el("span", { class: "muted", text: "—" });
      body.append(C.el("tr", {}, [C.el("td", { text: p.role_label || p.role }), C.el("td", { text: p.name }), C.el("td", {}, [phone])]));
    }
    if (!body.children.length) body.append(C.el("tr", {}, [C.el("td", { class: "muted", text: "无负责人信息" })]));
  }

  function history(list) {
    const ol = document.getElementById("history");
    ol.replaceChildren();
    for (const e of list || []) {
      const what = e.to_status ? (e.from_status ? C.label("status", e.from_status) + " → " : "") + C.label("status", e.to_status) : C.label("event", e.kind);
      const li = C.el("li", {}, [
        C.el("time", { text: C.time(e.at) }), " ",
        C.el("strong", { text: what }), " ",
        C.el("span", { class: "muted", text: e.actor }),
      ]);
      if (e.note) li.append(C.el("div", { class: "note", text: e.note }));
      ol.append(li);
    }
  }

  function duplicate(r) {
    const box = document.getElementById("duplicate");
    box.replaceChildren();
    if (r.duplicate_of) {
      box.append("已确认与 ", C.el("a", { href: "/console/reports/" + r.duplicate_of, text: "#" + r.duplicate_of }), " 重复");
      return;
    }
    if (!r.possible_duplicate_of) { box.append(C.el("span", { class: "muted", text: "无" })); return; }
    box.append("可能与 ", C.el("a", { href: "/console/reports/" + r.possible_duplicate_of, text: "#" + r.possible_duplicate_of }), " 重复 ");
    for (const [action, text] of [["confirm", "确认重复"], ["dismiss", "不是重复"]]) {
      const b = C.el("button", { type: "button", class: "action", "data-action": "duplicate-" + action, text: text });
      b.addEventListener("click", () => act("duplicate-" + action, () => ["POST", "duplicate", { action: action, note: note() }], b));
      box.append(b);
    }
  }

  async function photos() {
    const box = document.getElementById("photos");
    const r = await C.api("GET", "/reports/" + id + "/photos");
    const list = r.ok && Array.isArray(r.body) ? r.body : [];
    const links = (ui.report.photo_urls || []).map((u) => C.el("a", { href: u, rel: "noopener", text: "外部照片链接" }));
    if (!list.length && !links.length) return;
    box.replaceChildren();
    for (const p of list) box.append(C.el("a", { href: p.url, target: "_blank" }, [C.el("img", { src: p.thumb_url, alt: "照片 " + p.id })]));
    for (const a of links) box.append(a);
  }

  async function map(r) {
    if (!window.L) return;
    if (!ui.map) {
      ui.map = L.map("map", { attributionControl: false, zoomControl: true }).setView([34.755, 113.705], 15);
      ui.layers = L.layerGroup().addTo(ui.map);
    }
    ui.layers.clearLayers();
    let bounds = null;
    const code = r.micro_code || r.tertiary_code;
    if (code) {
      const g = await C.api("GET", "/grids/" + code);
      if (g.ok && g.body && g.body.geometry) {
        const outline = L.geoJSON(g.body, { style: { color: "#1f6feb", weight: 2, fillOpacity: 0.08 } }).addTo(ui.layers);
        bounds = outline.getBounds();
      }
    }
    if (r.lon !== null && r.lon !== undefined) {
      L.circleMarker([r.lat, r.lon], { radius: 7, color: "#b42318", fillColor: "#f04438", fillOpacity: 0.9 }).addTo(ui.layers);
      if (!bounds) ui.map.setView([r.lat, r.lon], 17);
    }
    if (bounds && bounds.isValid()) ui.map.fitBounds(bounds, { padding: [10, 10] });
    ui.mapReady = true;
  }

  // 移动定位: drag the pin or tap the map; the new point's micro-grid (GET /lookup) is shown before the
  // dispatcher confirms; then POST /reports/{id}/move re-places the case (grid, people, history).
  const FINISHED = ["closed", "rejected", "duplicate"];
  const move = { on: false, point: null, layer: null, marker: null, outline: null, seq: 0, lookup: null };
  ui.move = move;

  function movePanel() {
    if (document.getElementById("move-panel")) return;
    const panel = C.el("div", { id: "move-panel", class: "move-panel" }, [
      C.el("button", { type: "button", id: "move-start", class: "action", "data-action": "move", text: "移动定位" }),
      C.el("span", { id: "move-hint", class: "muted", text: "" }),
      C.el("div", { id: "move-preview", class: "move-preview", hidden: "" }),
      C.el("div", { id: "move-buttons", class: "actions", hidden: "" }, [
        C.el("button", { type: "button", id: "move-confirm", class: "action", "data-action": "move-confirm", text: "确认移动", disabled: "" }),
        C.el("button", { type: "button", id: "move-cancel", class: "action secondary", "data-action": "move-cancel", text: "取消" }),
      ]),
    ]);
    document.getElementById("map").after(panel);
    document.getElementById("move-start").addEventListener("click", startMove);
    document.getElementById("move-cancel").addEventListener("click", stopMove);
    document.getElementById("move-confirm").addEventListener("click", confirmMove);
  }

  function showMoveStart(r) {
    movePanel();
    const start = document.getElementById("move-start");
    start.hidden = move.on || FINISHED.includes(r.status) || !window.L;
  }

  function pinIcon() {
    return L.divIcon({ className: "move-pin", iconSize: [22, 22], iconAnchor: [11, 11] });
  }

  function startMove() {
    const r = ui.report;
    if (!ui.map || !r) return;
    move.on = true;
    move.point = null;
    document.getElementById("move-start").hidden = true;
    document.getElementById("move-buttons").hidden = false;
    document.getElementById("move-confirm").disabled = true;
    document.getElementById("move-hint").textContent = "拖动标记或点击地图，选择新位置";
    document.getElementById("map").classList.add("moving");
    move.layer = L.layerGroup().addTo(ui.map);
    const start = r.lon !== null && r.lon !== undefined ? [r.lat, r.lon] : ui.map.getCenter();
    move.marker = L.marker(start, { draggable: true, icon: pinIcon(), keyboard: false, title: "拖动到新位置" }).addTo(move.layer);
    move.marker.on("dragend", () => { const p = move.marker.getLatLng(); choose(p.lng, p.lat); });
    ui.map.on("click", onMapClick);
  }

  function onMapClick(e) {
    if (!move.on) return;
    move.marker.setLatLng(e.latlng);
    choose(e.latlng.lng, e.latlng.lat);
  }

  function stopMove() {
    move.on = false;
    move.point = null;
    move.lookup = null;
    if (ui.map) ui.map.off("click", onMapClick);
    if (move.layer) { move.layer.remove(); move.layer = null; move.marker = null; move.outline = null; }
    document.getElementById("map").classList.remove("moving");
    document.getElementById("move-hint").textContent = "";
    document.getElementById("move-buttons").hidden = true;
    const preview = document.getElementById("move-preview");
    preview.hidden = true;
    preview.replaceChildren();
    if (ui.report) showMoveStart(ui.report);
  }

  function gridText(g) {
    return g ? (g.name ? g.name + "（" + g.code + "）" : g.code) : "—";
  }

  // The new point's place by the one lookup rule (GET /lookup, WGS84): shown before confirming.
  async function choose(lon, lat) {
    const seq = ++move.seq;
    move.point = { lon: lon, lat: lat };
    move.lookup = null;
    const confirm = document.getElementById("move-confirm");
    confirm.disabled = true;
    const preview = document.getElementById("move-preview");
    preview.hidden = false;
    preview.replaceChildren(C.el("span", { class: "muted", text: "正在查询新位置所属网格…" }));
    const q = "/lookup?lon=" + lon.toFixed(7) + "&lat=" + lat.toFixed(7) + "&crs=wgs84";
    const r = await C.api("GET", q);
    if (seq !== move.seq || !move.on) return;  // a newer point was chosen meanwhile
    const rows = [["新位置", lon.toFixed(6) + ", " + lat.toFixed(6)]];
    if (!r.ok) {
      preview.replaceChildren(C.el("span", { class: "error", text: "查询网格失败：" + ((r.body && r.body.message) || r.status) }));
      return;
    }
    const p = r.body;
    move.lookup = p;
    if (p.outside || !p.micro) {
      const near = p.nearest ? "最近的微网格：" + p.nearest.name + "（约 " + Math.round(p.nearest.distance_m) + " 米）" : "";
      rows.push(["微网格", "不在任何网格内，移动后转街道中心处理" + (near ? "；" + near : "")]);
    } else {
      rows.push(["微网格", gridText(p.micro)], ["网格", gridText(p.tertiary)], ["社区", gridText(p.community)]);
      const leader = (p.people || []).find((x) => x.role === "micro_grid_leader");
      if (leader) rows.push(["微网格长", leader.name]);
      if (ui.report && p.micro.code === ui.report.micro_code) rows.push(["", "仍在原微网格内"]);
    }
    const dl = C.el("dl", { class: "facts", id: "move-facts" });
    for (const [k, v] of rows) dl.append(C.el("dt", { text: k }), C.el("dd", { text: v }));
    preview.replaceChildren(dl);
    preview.dataset.micro = p.micro ? p.micro.code : "";
    confirm.disabled = false;
    if (move.outline) { move.outline.remove(); move.outline = null; }
    if (p.micro && move.layer) {  // the new micro-grid's outline, dashed, next to the current one
      const g = await C.api("GET", "/grids/" + p.micro.code);
      if (seq === move.seq && move.layer && g.ok && g.body && g.body.geometry) {
        move.outline = L.geoJSON(g.body, { interactive: false, style: { color: "#f79009", weight: 2, dashArray: "6 4", fillOpacity: 0.06 } }).addTo(move.layer);
      }
    }
  }

  async function confirmMove() {
    if (ui.busy || !move.point) return;
    const button = document.getElementById("move-confirm");
    const body = { lon: move.point.lon, lat: move.point.lat, crs: "wgs84", note: note() };
    ui.busy = true;
    button.disabled = true;
    const r = await C.api("POST", "/reports/" + id + "/move", body);
    ui.busy = false;
    if (r.status === 401) { C.redirectToLogin(); return; }
    stopMove();
    if (!r.ok) {
      message(refusal(r.body, r.status), "error");
      ui.lastRefusal = r.body;
      await load();
      return;
    }
    message("已完成：移动定位", "ok");
    document.getElementById("a-note").value = "";
    await load();
  }

  async function load() {
    const r = await C.api("GET", "/reports/" + id);
    if (r.status === 401) { C.redirectToLogin(); return; }
    if (!r.ok) { C.alertBox("读取上报失败：" + ((r.body && r.body.message) || r.status), "error"); ui.failed = true; return; }
    const rep = r.body;
    ui.report = rep;
    document.getElementById("title").textContent = "上报 #" + rep.id + " · " + rep.category_label;
    const badges = document.getElementById("badges");
    badges.replaceChildren(
      C.el("span", { class: "badge status", id: "status", "data-status": rep.status, text: rep.status_label }),
      C.el("span", { class: "light " + (rep.light || "none"), text: C.label("light", rep.light) })
    );
    if (rep.near_boundary) badges.append(C.el("span", { class: "badge", text: "靠近网格边界" }));
    if (rep.overdue) badges.append(C.el("span", { class: "badge late", text: "超期" }));
    document.getElementById("description").textContent = rep.description;
    facts(rep);
    people(rep.people);
    history(rep.history);
    duplicate(rep);
    actions(rep);
    showMoveStart(rep);
    ui.renders += 1;
    await Promise.all([photos(), map(rep)]);
  }

  async function start() {
    const me = await C.session();
    if (!me.authenticated) { C.redirectToLogin(); return; }
    await load();
    ui.ready = true;
  }

  start();
})();
