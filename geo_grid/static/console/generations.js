// The planner's boundary generations: list them, open a draft, read its validation report and its
// changes against the active boundaries, and activate it only after a confirmation that says what will be
// reassigned (reports, facilities, addresses). Everything through the /generations API and the session.
"use strict";
(function () {
  const C = window.geoConsole;
  const STATUS = { draft: "草稿", active: "现行", retired: "历史" };
  const MOVES = { reports: "未办结上报", facilities: "点状设施", addresses: "地址" };
  const ui = { draft: null, active: null, diff: null };
  window.geoConsoleGenerations = ui;

  function message(text, kind) {
    const box = document.getElementById("action-message");
    box.textContent = text;
    box.className = "action-message " + kind;
    box.hidden = false;
  }

  function refused(r) {
    message("操作被拒绝：" + ((r.body && r.body.message) || "HTTP " + r.status), "error");
  }

  function counts(c) {
    return Object.entries(c || {}).map(([k, v]) => ({ tertiary: "三级网格", micro: "微网格" }[k] || k) + " " + v).join("，");
  }

  async function load() {
    const r = await C.api("GET", "/generations");
    if (!r.ok) { refused(r); return; }
    const body = document.querySelector("#generations tbody");
    body.replaceChildren();
    ui.draft = r.body.find((g) => g.status === "draft") || null;
    ui.active = r.body.find((g) => g.status === "active") || null;
    for (const g of r.body.slice().reverse()) {
      const actions = g.status === "draft" ? C.el("a", { href: "#draft", text: "查看草稿" }) : "";
      body.append(C.el("tr", { class: "gen-" + g.status }, [
        C.el("td", { text: String(g.id) }),
        C.el("td", { text: STATUS[g.status] || g.status }),
        C.el("td", { text: g.note || "" }),
        C.el("td", { text: g.created_by + " " + C.time(g.created_at) }),
        C.el("td", { text: g.activated_at ? g.activated_by + " " + C.time(g.activated_at) : "—" }),
        C.el("td", { text: counts(g.counts) }),
        C.el("td", {}, [actions]),
      ]));
    }
    document.getElementById("open-draft").disabled = ui.draft !== null;
    await showDraft();
  }

  async function showDraft() {
    const section = document.getElementById("draft");
    document.getElementById("confirm").hidden = true;
    if (!ui.draft) { section.hidden = true; return; }
    section.hidden = false;
    const id = ui.draft.id;
    document.getElementById("draft-title").textContent = "草稿 " + id + (ui.draft.note ? "：" + ui.draft.note : "");
    document.getElementById("draft-editor").href = "/maps/editor?generation=" + id;
    document.getElementById("draft-coverage").href = "/maps/coverage?generation=" + id;
    const v = await C.api("GET", "/generations/" + id + "/validation");
    const problems = document.getElementById("problems");
    problems.replaceChildren();
    if (v.ok) {
      const c = v.body.counts || {};
      document.getElementById("validation").textContent = (v.body.valid ? "可以启用" : "有错误，不能启用") +
        "：错误 " + (c.error || 0) + "，警告 " + (c.warning || 0);
      for (const p of (v.body.problems || []).slice(0, 20)) {
        problems.append(C.el("li", { class: p.severity, text: (p.severity === "error" ? "错误" : "警告") + "：" + p.message }));
      }
      document.getElementById("activate").disabled = !v.body.valid;
    }
    ui.diff = null;
    if (ui.active) {
      const d = await C.api("GET", "/generations/" + ui.active.id + "/diff/" + id);
      if (d.ok) {
        ui.diff = d.body;
        const n = d.body.counts || {};
        document.getElementById("diff").textContent = "新增 " + (n.added || 0) + " 个网格，撤销 " + (n.retired || 0) +
          " 个，形状改变 " + (n.reshaped || 0) + " 个；" + moved(n);
      }
    }
  }

  function moved(n) {
    return "将改属：" + Object.keys(MOVES).map((k) => MOVES[k] + " " + (n[k] || 0)).join("，");
  }

  document.getElementById("open-draft").addEventListener("click", async () => {
    const note = document.getElementById("draft-note").value.trim();
    const r = await C.api("POST", "/generations", note ? { note: note } : {});
    if (!r.ok) { refused(r); return; }
    message("已新建草稿 " + r.body.id, "ok");
    await load();
  });

  document.getElementById("activate").addEventListener("click", () => {
    const n = (ui.diff && ui.diff.counts) || {};
    document.getElementById("confirm-text").textContent = "启用草稿 " + ui.draft.id + " 后，现行代次 " +
      (ui.active ? ui.active.id : "—") + " 同时停用；" + moved(n) + "。确认启用？";
    document.getElementById("confirm").hidden = false;
  });
  document.getElementById("confirm-no").addEventListener("click", () => {
    document.getElementById("confirm").hidden = true;
  });
  document.getElementById("confirm-yes").addEventListener("click", async () => {
    const r = await C.api("POST", "/generations/" + ui.draft.id + "/activate");
    if (!r.ok) { refused(r); return; }
    const m = r.body.moved || {};
    ui.activated = r.body;
    message("已启用代次 " + r.body.generation + "；改属：未办结上报 " + (m.reports || 0) + "，点状设施 " +
      (m.facilities || 0) + "，地址 " + (m.addresses || 0), "ok");
    await load();
  });
  document.getElementById("discard").addEventListener("click", async () => {
    const r = await C.api("DELETE", "/generations/" + ui.draft.id);
    if (!r.ok) { refused(r); return; }
    message("已放弃草稿", "ok");
    await load();
  });

  C.session().then((me) => {
    if (!me.authenticated) { C.redirectToLogin(); return; }
    return load();
  }).then(() => { ui.ready = true; });
})();
