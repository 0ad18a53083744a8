// GET /m/tasks/{id}: one task — description, facts, a small map, photos, history — and the worker's actions:
// 到场 (POST /reports/{id}/arrival), a note, an after-photo (POST /reports/{id}/photos), 办结反馈.
"use strict";
(function () {
  const F = window.geoField;
  const id = Number(document.body.dataset.reportId);
  const ui = { task: null, busy: false, map: null, layers: null, renders: 0, photos: 0 };
  window.geoFieldTask = ui;
  const KINDS = { arrival: "到场", field_note: "备注", reported: "上报", redispatch: "重新派遣", move: "位置更正",
    duplicate_suggested: "疑似重复", duplicate_dismissed: "排除重复", rework: "返工", returned: "退回", urge: "催办", supervision: "督办" };

  function note() { return document.getElementById("a-note").value.trim() || null; }

  function message(text, kind) {
    const box = document.getElementById("action-message");
    box.textContent = text;
    box.className = "action-message " + kind;
    box.hidden = false;
  }

  function refusal(r) {
    const b = r.body || {};
    let text = "操作未完成：" + (b.message || "HTTP " + r.status);
    const allowed = (b.detail || {}).allowed;
    if (Array.isArray(allowed) && allowed.length) text += "（当前允许：" + allowed.map((s) => F.label("status", s)).join("、") + "）";
    return text;
  }

  async function act(button, done, call) {
    if (ui.busy) return;
    ui.busy = true;
    button.disabled = true;
    const r = await call();
    ui.busy = false;
    button.disabled = false;
    if (r.status === 401) { F.redirectToLogin(); return; }
    if (!r.ok) { ui.lastRefusal = r.body; message(refusal(r), "error"); await load(); return; }
    message(done, "ok");
    document.getElementById("a-note").value = "";
    if (r.body && r.body.history) render(r.body); else await load();
  }

  function facts(t) {
    const rows = [
      ["编号", "#" + t.id],
      ["地址", t.address_text || "—"],
      ["网格", [t.tertiary_code, t.micro_code].filter(Boolean).join(" / ") || "—"],
      ["上报人", t.reporter_contact || "—"],
      ["上报时间", F.shortTime(t.created_at)],
      ["当前阶段", t.stage_label ? t.stage_label + "（期限 " + F.shortTime(t.stage_due_at) + "）" : "—"],
      ["办结期限", F.shortTime(t.due_at) + (t.overdue ? "（已超期）" : "")],
      ["到场", t.arrived_at ? F.shortTime(t.arrived_at) : "未到场"],
    ];
    const dl = document.getElementById("facts");
    dl.replaceChildren();
    for (const [k, v] of rows) dl.append(F.el("dt", { text: k }), F.el("dd", { text: v }));
  }

  function history(list) {
    const ol = document.getElementById("history");
    ol.replaceChildren();
    for (const e of list || []) {
      const what = e.to_status
        ? (e.from_status ? F.label("status", e.from_status) + " → " : "") + F.label("status", e.to_status)
        : KINDS[e.kind] || e.kind;
      const li = F.el("li", { "data-kind": e.kind }, [
        F.el("time", { text: F.shortTime(e.at) }), " ", F.el("strong", { text: what }), " ",
        F.el("span", { class: "muted", text: e.actor }),
      ]);
      if (e.note) li.append(F.el("div", { class: "note", text: e.note }));
      ol.append(li);
    }
  }

  function buttons(t) {
    const allowed = t.allowed_actions || [];
    document.getElementById("arrive").disabled = !allowed.includes("arrival");
    document.getElementById("save-note").disabled = !allowed.includes("note");
    document.getElementById("photo").disabled = !allowed.includes("photo");
    document.getElementById("feedback").disabled = !allowed.includes("feedback");
  }

  function map(t) {
    if (!window.L || t.lon === null || t.lon === undefined) return;
    if (!ui.map) {
      ui.map = L.map("map", { attributionControl: false, zoomControl: true }).setView([t.lat, t.lon], 17);
      ui.layers = L.layerGroup().addTo(ui.map);
      const code = t.micro_code || t.tertiary_code;
      if (code) {
        F.api("GET", "/grids/" + code).then((g) => {
          if (g.ok && g.body && g.body.geometry) {
            L.geoJSON(g.body, { style: { color: "#1f6feb", weight: 2, fillOpacity: 0.08 } }).addTo(ui.layers);
          }
          ui.mapReady = true;
        });
      } else {
        ui.mapReady = true;
      }
    }
    if (!ui.marker) {
      ui.marker = L.circleMarker([t.lat, t.lon], { radius: 8, color: "#b42318", fillColor: "#f04438", fillOpacity: 0.9 }).addTo(ui.map);
    }
  }

  async function photos() {
    const r = await F.api("GET", "/reports/" + id + "/photos");
    const list = r.ok && Array.isArray(r.body) ? r.body : [];
    const box = document.getElementById("photos");
    box.replaceChildren(...list.map((p) => F.el("a", { href: p.url, target: "_blank" }, [F.el("img", { src: p.thumb_url, alt: "照片 " + p.id })])));
    ui.photos = list.length;
  }

  function render(t) {
    ui.task = t;
    document.getElementById("title").textContent = t.category_label;
    const badges = document.getElementById("badges");
    badges.replaceChildren(F.el("span", { class: "badge status", id: "status", "data-status": t.status, text: t.status_label }));
    if (t.light) badges.append(" ", F.el("span", { class: "light " + t.light, text: F.label("light", t.light) }));
    if (t.overdue) badges.append(" ", F.el("span", { class: "badge late", text: "超期" }));
    if (t.arrived_at) badges.append(" ", F.el("span", { class: "badge arrived", text: "已到场 " + F.shortTime(t.arrived_at) }));
    document.getElementById("description").textContent = t.description;
    facts(t);
    history(t.history);
    buttons(t);
    map(t);
    ui.renders += 1;
  }

  async function load() {
    const r = await F.api("GET", "/m/tasks/" + id + "/detail");
    if (r.status === 401) { F.redirectToLogin(); return; }
    if (!r.ok) { F.alertBox("读取任务失败：" + ((r.body && r.body.message) || r.status), "error"); ui.failed = true; return; }
    render(r.body);
  }

  function wire() {
    const arrive = document.getElementById("arrive");
    arrive.addEventListener("click", () => act(arrive, "已登记到场", async () => {
      const here = await F.position(3000);
      const body = { note: note() };
      if (here) { body.lon = here.lon; body.lat = here.lat; }
      return F.api("POST", "/reports/" + id + "/arrival", body);
    }));
    const save = document.getElementById("save-note");
    save.addEventListener("click", () => {
      if (!note()) { message("请先填写备注", "error"); return; }
      act(save, "备注已保存", () => F.api("POST", "/m/tasks/" + id + "/notes", { note: note() }));
    });
    const feedback = document.getElementById("feedback");
    feedback.addEventListener("click", () => act(feedback, "已办结反馈，等待街道中心核查", () =>
      F.api("POST", "/m/tasks/" + id + "/feedback", { note: note() })));
    const input = document.getElementById("photo");
    input.addEventListener("change", async () => {
      const file = input.files && input.files[0];
      if (!file) return;
      const form = new FormData();
      form.append("file", file);
      input.disabled = true;
      const r = await F.api("POST", "/reports/" + id + "/photos", form);
      input.disabled = false;
      input.value = "";
      if (!r.ok) { ui.lastRefusal = r.body; message(refusal(r), "error"); return; }
      message("照片已上传", "ok");
      await photos();
    });
  }

  async function start() {
    const me = await F.session();
    if (!me.authenticated) { F.redirectToLogin(); return; }
    wire();
    await load();
    await photos();
    ui.ready = true;
  }

  start();
})();
