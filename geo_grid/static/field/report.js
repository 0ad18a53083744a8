// GET /m/report: 上报 of a new problem by a grid worker — category, description, the phone's position
// (navigator.geolocation, WGS84) or a tap on the map, the grid it falls in (GET /lookup), an optional photo.
// Filed through POST /reports (channel grid_phone), the photo through POST /reports/{id}/photos.
"use strict";
(function () {
  const F = window.geoField;
  const ui = { ready: false, place: null, lookup: null, seq: 0, created: null, photo: null, map: null };
  window.geoFieldReport = ui;
  const CENTER = [34.764, 113.698];  // 未来路街道, until the phone's position or the outlines are known
  let marker = null;

  function message(text, kind) {
    const box = document.getElementById("form-message");
    box.textContent = text;
    box.className = "action-message " + kind;
    box.hidden = false;
  }

  function facts(dl, rows) {
    dl.replaceChildren();
    for (const [k, v] of rows) dl.append(F.el("dt", { text: k }), F.el("dd", { text: v }));
    dl.hidden = false;
  }

  function gridName(g) { return g ? g.name || g.code : "—"; }

  // The chosen place and the grid it falls in (the one lookup rule), shown before sending.
  async function setPlace(lon, lat, how, zoom) {
    const seq = ++ui.seq;
    ui.place = { lon: lon, lat: lat, how: how };
    ui.lookup = null;
    const latlng = [lat, lon];
    if (marker === null) {
      marker = L.circleMarker(latlng, { radius: 9, color: "#b42318", weight: 3, fillColor: "#f04438", fillOpacity: 0.6 }).addTo(ui.map);
    } else {
      marker.setLatLng(latlng);
    }
    if (zoom) ui.map.setView(latlng, Math.max(zoom, ui.map.getZoom()), { animate: false });
    document.getElementById("location-status").textContent = how + "（" + lat.toFixed(5) + ", " + lon.toFixed(5) + "）";
    const place = document.getElementById("place");
    facts(place, [["所在网格", "正在查询…"]]);
    const r = await F.api("GET", "/lookup?lon=" + lon.toFixed(7) + "&lat=" + lat.toFixed(7) + "&crs=wgs84");
    if (seq !== ui.seq) return;  // another place was chosen meanwhile
    if (!r.ok) { facts(place, [["所在网格", "查询失败：" + ((r.body && r.body.message) || r.status)]]); return; }
    ui.lookup = r.body;
    place.dataset.micro = r.body.micro ? r.body.micro.code : "";
    if (r.body.outside || !r.body.micro) {
      facts(place, [["所在网格", "不在任何网格内，将由街道中心处理"]]);
    } else {
      facts(place, [["社区", gridName(r.body.community)], ["网格", gridName(r.body.tertiary)], ["微网格", gridName(r.body.micro)]]);
    }
  }

  async function locate(automatic) {
    const status = document.getElementById("location-status");
    status.textContent = "正在获取当前位置…";
    const here = await F.position(automatic ? 5000 : 10000);
    if (here) { await setPlace(here.lon, here.lat, "当前位置", 17); return; }
    if (!ui.place) status.textContent = "无法获取当前位置（未授权或信号不好），请在地图上点选问题位置";
  }

  function outlines() {
    // The communities (public outlines) on the plain background, to find one's way when tapping.
    return F.api("GET", "/communities").then((r) => {
      if (!r.ok || !r.body) return;
      const layer = L.geoJSON(r.body, { interactive: false, style: { color: "#1f6feb", weight: 1.5, fillOpacity: 0.04 } }).addTo(ui.map);
      if (!ui.place && layer.getBounds().isValid()) ui.map.fitBounds(layer.getBounds());
    });
  }

  async function send(e) {
    e.preventDefault();
    if (ui.busy) return;
    const category = document.getElementById("category").value;
    const description = document.getElementById("description").value.trim();
    if (!category) { message("请选择问题类别", "error"); return; }
    if (!description) { message("请填写问题描述", "error"); return; }
    if (!ui.place) { message("请选择问题位置：使用当前位置，或在地图上点选", "error"); return; }
    const input = document.getElementById("photo");
    const file = input.files && input.files[0];
    const button = document.getElementById("submit");
    ui.busy = true;
    button.disabled = true;
    message("正在提交…", "ok");
    const r = await F.api("POST", "/reports", {
      category: category, channel: "grid_phone", description: description,
      lon: ui.place.lon, lat: ui.place.lat, crs: "wgs84",
    });
    if (r.status === 401) { F.redirectToLogin(); return; }
    if (!r.ok) {
      ui.busy = false;
      button.disabled = false;
      ui.lastRefusal = r.body;
      message("上报未成功：" + ((r.body && r.body.message) || "HTTP " + r.status), "error");
      return;
    }
    const rep = r.body;
    ui.created = rep;
    let photo = "未附照片";
    if (file) {
      const form = new FormData();
      form.append("file", file);
      const p = await F.api("POST", "/reports/" + rep.id + "/photos", form);
      ui.photo = p.body;
      photo = p.ok ? "照片已上传" : "照片未上传：" + ((p.body && p.body.message) || "HTTP " + p.status) + "（上报已提交）";
      if (!p.ok) ui.lastRefusal = p.body;
    }
    document.getElementById("report-form").hidden = true;
    facts(document.getElementById("done-facts"), [
      ["编号", "#" + rep.id],
      ["类别", rep.category_label || category],
      ["状态", F.label("status", rep.status)],
      ["网格", rep.micro_code || (rep.outside ? "网格外（街道中心处理）" : "—")],
      ["上报时间", F.shortTime(rep.created_at)],
    ]);
    const done = document.getElementById("done-photo");
    done.textContent = photo;
    done.className = "summary " + (file && !(ui.photo && ui.photo.id) ? "error" : "");
    document.getElementById("done").hidden = false;
    ui.busy = false;
    ui.sent = true;
  }

  async function start() {
    const me = await F.session();
    if (!me.authenticated) { F.redirectToLogin(); return; }
    ui.map = L.map("map", { attributionControl: false, zoomControl: true }).setView(CENTER, 14);
    ui.map.on("click", (e) => setPlace(e.latlng.lng, e.latlng.lat, "地图点选", 0));
    document.getElementById("locate").addEventListener("click", () => locate(false));
    document.getElementById("report-form").addEventListener("submit", send);
    const drawn = outlines();
    await locate(true);
    await drawn;
    ui.ready = true;
  }

  start();
})();
