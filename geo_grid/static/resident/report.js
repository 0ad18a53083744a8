/* GET /report: category, description, a place (geolocation, a tap on the map, or an address looked up with
   GET /lookup/address), optional contact → POST /reports → the tracking code and the tracking link. */
(function () {
  "use strict";
  var R = window.resident;
  var main = document.getElementById("report-page");
  var crs = main.dataset.crs || "wgs84";
  var layers = JSON.parse(main.dataset.layers || "[]");
  var center = JSON.parse(main.dataset.center || "[34.764, 113.698]");
  var statusEl = document.getElementById("location-status");
  var choices = document.getElementById("address-choices");
  var formError = document.getElementById("form-error");
  var place = null; // {lon, lat, crs, address?, text}

  var map = L.map("map", { attributionControl: layers.length > 0 }).setView(center, 15);
  layers.forEach(function (t) {
    var options = { maxZoom: 18, attribution: t.attribution || "" };
    if (t.subdomains) {
      options.subdomains = t.subdomains;
    }
    L.tileLayer(t.url, options).addTo(map);
  });
  if (layers.length === 0 && crs === "wgs84") {
    // The plain background: the community outlines (public GeoJSON) to find one's way.
    R.api("GET", "/communities").then(function (r) {
      if (r.ok && r.data) {
        L.geoJSON(r.data, {
          style: { color: "#1f6feb", weight: 1.5, fillOpacity: 0.04 },
          onEachFeature: function (f, layer) {
            if (f.properties && f.properties.name) {
              layer.bindTooltip(f.properties.name, { sticky: true });
            }
          },
          interactive: false,
        }).addTo(map);
      }
    });
  }
  var marker = null;

  function setPlace(p, zoom) {
    place = p;
    var latlng = [p.lat, p.lon];
    if (marker === null) {
      marker = L.circleMarker(latlng, { radius: 9, color: "#b42318", weight: 3, fillOpacity: 0.5 }).addTo(map);
    } else {
      marker.setLatLng(latlng);
    }
    if (zoom) { // a place found (geolocation, address): show it; a tap stays where the user looks
      map.setView(latlng, Math.max(zoom, map.getZoom()), { animate: false });
    }
    statusEl.textContent = "已选位置：" + p.text;
    formError.hidden = true;
    main.dataset.placed = "1";
  }

  map.on("click", function (e) {
    choices.textContent = "";
    setPlace({ lon: e.latlng.lng, lat: e.latlng.lat, crs: crs,
      text: "地图点选（" + e.latlng.lat.toFixed(5) + ", " + e.latlng.lng.toFixed(5) + "）" });
  });

  document.getElementById("locate").addEventListener("click", function () {
    if (!navigator.geolocation) {
      statusEl.textContent = "此浏览器不支持定位，请在地图上点选或输入地址";
      return;
    }
    statusEl.textContent = "正在定位…";
    navigator.geolocation.getCurrentPosition(
      function (pos) {
        choices.textContent = "";
        // Browser geolocation is WGS84, whatever the basemap.
        setPlace({ lon: pos.coords.longitude, lat: pos.coords.latitude, crs: "wgs84",
          text: "当前位置（精度约 " + Math.round(pos.coords.accuracy) + " 米）" }, 17);
      },
      function () {
        statusEl.textContent = "无法获取位置（未授权或信号不好），请在地图上点选或输入地址";
      },
      { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 }
    );
  });

  function chooseCandidate(c) {
    choices.textContent = "";
    setPlace({ lon: c.point.lon, lat: c.point.lat, crs: "wgs84", address: c.address, text: c.address }, 17);
  }

  function listChoices(title, candidates) {
    choices.textContent = "";
    var p = document.createElement("p");
    p.className = "hint";
    p.textContent = title;
    choices.appendChild(p);
    candidates.slice(0, 6).forEach(function (c) {
      var b = document.createElement("button");
      b.type = "button";
      b.className = "choice";
      b.textContent = c.address;
      b.addEventListener("click", function () { chooseCandidate(c); });
      choices.appendChild(b);
    });
  }

  document.getElementById("find-address").addEventListener("click", async function () {
    var q = document.getElementById("address").value.trim();
    if (!q) {
      statusEl.textContent = "请先输入地址";
      return;
    }
    statusEl.textContent = "正在查找地址…";
    var r = await R.api("GET", "/lookup/address?q=" + encodeURIComponent(q));
    if (r.ok && r.data.status === "matched" && r.data.address) {
      chooseCandidate(r.data.address);
    } else if (r.ok && r.data.status === "ambiguous") {
      statusEl.textContent = "地址有多个可能，请选择：";
      listChoices("请选择您所指的地址：", r.data.candidates || []);
    } else {
      statusEl.textContent = R.message(r);
      var suggestions = r.data && r.data.detail && r.data.detail.suggestions;
      if (suggestions && suggestions.length) {
        listChoices("您要找的是不是：", suggestions);
      }
    }
  });

  document.getElementById("report-form").addEventListener("submit", async function (e) {
    e.preventDefault();
    formError.hidden = true;
    var category = document.getElementById("category").value;
    var description = document.getElementById("description").value.trim();
    var contact = document.getElementById("contact").value.trim();
    if (!category) {
      return R.show(formError, "请选择问题类别");
    }
    if (!description) {
      return R.show(formError, "请填写问题描述");
    }
    if (place === null) {
      return R.show(formError, "请选择问题位置：定位、在地图上点选或输入地址");
    }
    var body = { category: category, channel: "public_account", description: description,
      lon: place.lon, lat: place.lat, crs: place.crs };
    if (place.address) {
      body.address = place.address;
    }
    if (contact) {
      body.reporter_contact = contact;
    }
    var button = document.getElementById("submit");
    button.disabled = true;
    var r = await R.api("POST", "/reports", body);
    button.disabled = false;
    if (!r.ok || !r.data || !r.data.tracking_code) {
      return R.show(formError, R.message(r));
    }
    var id = String(r.data.id);
    var code = r.data.tracking_code;
    document.getElementById("report-form").hidden = true;
    document.getElementById("done-id").textContent = id;
    document.getElementById("done-code").textContent = code;
    // The code travels in the fragment: it never reaches a server log.
    document.getElementById("done-link").href =
      "/track#id=" + encodeURIComponent(id) + "&code=" + encodeURIComponent(code);
    document.getElementById("done").hidden = false;
    window.scrollTo(0, 0);
    var file = document.getElementById("photo").files[0];
    if (file) {
      await uploadPhoto(id, code, file);
    }
  });

  /* The optional photo: sent after the report exists, with its tracking code (the reporter may add photos
     until the centre accepts the report). The report stands whatever happens to the photo. */
  async function uploadPhoto(id, code, file) {
    var note = document.getElementById("done-photo");
    note.className = "hint";
    R.show(note, "正在上传照片…");
    var form = new FormData();
    form.append("file", file, file.name || "photo.jpg");
    var result;
    try {
      var response = await fetch("/reports/" + encodeURIComponent(id) + "/photos", {
        method: "POST", body: form, credentials: "omit",
        headers: { Accept: "application/json", "X-Tracking-Code": code },
      });
      var data = null;
      try {
        data = await response.json();
      } catch (e) {
        data = null;
      }
      result = { ok: response.ok, status: response.status, data: data };
    } catch (e) {
      result = { ok: false, status: 0, data: { message: "网络连接失败，请稍后重试" } };
    }
    if (result.ok) {
      note.textContent = "照片已上传";
      main.dataset.photo = "uploaded";
    } else {
      note.className = "error";
      note.textContent = "照片未能上传：" + R.message(result) + "（上报已成功，可凭追踪码查询进度）";
      main.dataset.photo = "failed";
    }
  }

  R.map = map; // for the browser tests (and for debugging in the console)
  main.dataset.ready = "1";
})();
