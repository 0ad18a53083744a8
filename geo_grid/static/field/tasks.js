// GET /m: the worker's open tasks, nearest first when the phone gives its position, else newest first; then
// 我的上报 (GET /m/reports), the reports the worker filed from the phone (上报 at /m/report).
"use strict";
(function () {
  const F = window.geoField;
  const ui = { ready: false, order: null, total: null };
  window.geoFieldTasks = ui;

  function item(t) {
    const line1 = F.el("div", { class: "line1" }, [
      F.el("span", { class: "cat", text: t.category_label }),
      F.el("span", { class: "badge status", text: t.status_label }),
    ]);
    if (t.light) line1.append(F.el("span", { class: "light " + t.light, text: F.label("light", t.light) }));
    if (t.overdue) line1.append(F.el("span", { class: "badge late", text: "超期" }));
    if (t.arrived_at) line1.append(F.el("span", { class: "badge arrived", text: "已到场" }));
    const meta = ["#" + t.id, t.address_text || "", F.distance(t.distance_m), "上报 " + F.shortTime(t.created_at)]
      .filter(Boolean).join(" · ");
    const a = F.el("a", { href: "/m/tasks/" + t.id }, [
      line1, F.el("div", { class: "desc", text: t.description }), F.el("div", { class: "meta", text: meta }),
    ]);
    return F.el("li", { "data-id": String(t.id) }, [a]);
  }

  function filedItem(r) {
    const line1 = F.el("div", { class: "line1" }, [
      F.el("span", { class: "cat", text: r.category_label }),
      F.el("span", { class: "badge status", "data-status": r.status, text: r.status_label }),
    ]);
    const where = r.micro_code || (r.outside ? "网格外" : "");
    const meta = ["#" + r.id, where, "上报 " + F.shortTime(r.created_at)].filter(Boolean).join(" · ");
    return F.el("li", { "data-id": String(r.id) }, [F.el("div", { class: "card" }, [
      line1, F.el("div", { class: "desc", text: r.description }), F.el("div", { class: "meta", text: meta }),
    ])]);
  }

  async function filed() {
    const r = await F.api("GET", "/m/reports");
    const summary = document.getElementById("filed-summary");
    if (!r.ok) { summary.textContent = "读取失败：" + ((r.body && r.body.message) || r.status); return; }
    document.getElementById("filed").replaceChildren(...r.body.items.map(filedItem));
    summary.textContent = r.body.total ? "最近上报 " + r.body.total + " 件" : "暂无上报";
    ui.filed = r.body.total;
  }

  async function start() {
    const me = await F.session();
    if (!me.authenticated) { F.redirectToLogin(); return; }
    const here = await F.position(3000);
    const q = here ? "?lon=" + here.lon.toFixed(6) + "&lat=" + here.lat.toFixed(6) : "";
    const r = await F.api("GET", "/m/tasks" + q);
    if (r.status === 401) { F.redirectToLogin(); return; }
    const summary = document.getElementById("summary");
    await filed();  // also for a worker not yet linked to a roster person (no tasks, but their reports)
    if (!r.ok) {
      summary.textContent = "";
      F.alertBox("读取任务失败：" + ((r.body && r.body.message) || r.status), "error");
      ui.ready = true;
      return;
    }
    const list = document.getElementById("tasks");
    list.replaceChildren(...r.body.items.map(item));
    ui.order = r.body.order;
    ui.total = r.body.total;
    summary.textContent = r.body.total
      ? "共 " + r.body.total + " 项待办，" + (r.body.order === "nearest" ? "由近及远" : "最新在前")
      : "暂无待办任务";
    ui.ready = true;
  }

  start();
})();
