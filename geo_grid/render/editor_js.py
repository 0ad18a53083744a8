"""The editor page's browser code: edit a draft grid, submit it through the boundary API, GeoJSON in/out."""

from __future__ import annotations

# WGS84 <-> GCJ-02 in the browser, only needed on a GCJ-02 basemap: what the planner draws there is in
# GCJ-02 and must go back to WGS84 before it is submitted or downloaded (same formulas as geo_grid.crs).
GCJ_JS = """
var GG_A = 6378245.0, GG_EE = 0.00669342162296594323;
function ggDelta(lon, lat) {
  var x = lon - 105.0, y = lat - 35.0, PI = Math.PI;
  var s = Math.sqrt(Math.abs(x)), c = (20 * Math.sin(6 * x * PI) + 20 * Math.sin(2 * x * PI)) * 2 / 3;
  var dlat = -100 + 2 * x + 3 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * s + c
    + (20 * Math.sin(y * PI) + 40 * Math.sin(y / 3 * PI)) * 2 / 3 + (160 * Math.sin(y / 12 * PI) + 320 * Math.sin(y * PI / 30)) * 2 / 3;
  var dlon = 300 + x + 2 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * s + c
    + (20 * Math.sin(x * PI) + 40 * Math.sin(x / 3 * PI)) * 2 / 3 + (150 * Math.sin(x / 12 * PI) + 300 * Math.sin(x / 30 * PI)) * 2 / 3;
  var rad = lat / 180 * PI, m = 1 - GG_EE * Math.sin(rad) * Math.sin(rad), sm = Math.sqrt(m);
  return [dlon * 180 / (GG_A / sm * Math.cos(rad) * PI), dlat * 180 / ((GG_A * (1 - GG_EE)) / (m * sm) * PI)];
}
function ggToDisplay(c) { var d = ggDelta(c[0], c[1]); return [c[0] + d[0], c[1] + d[1]]; }
function ggFromDisplay(c) {
  var w = [c[0], c[1]];
  for (var i = 0; i < 30; i++) { var f = ggToDisplay(w), ex = f[0] - c[0], ey = f[1] - c[1]; w = [w[0] - ex, w[1] - ey];
    if (Math.abs(ex) < 1e-9 && Math.abs(ey) < 1e-9) break; }
  return w;
}
"""
IDENTITY_JS = "function ggToDisplay(c) { return c; } function ggFromDisplay(c) { return c; }"

PANEL_HTML = """
<div id="gg-editor" style="position:absolute;top:60px;right:10px;z-index:1000;background:#fff;padding:8px 10px;width:250px;
     border-radius:4px;box-shadow:0 1px 4px rgba(0,0,0,.3);font-size:13px;line-height:1.7;">
  <b>边界编辑（代次 <span id="gg-gen"></span>）</b>
  <div>网格编码 <input id="gg-code" list="gg-codes" style="width:160px" placeholder="点击网格或输入编码"></div>
  <datalist id="gg-codes"></datalist>
  <div>规划员令牌 <input id="gg-token" type="password" style="width:140px" autocomplete="off" placeholder="已登录可不填"></div>
  <div>
    <button id="gg-submit" type="button">提交到草稿</button>
    <button id="gg-download" type="button">下载GeoJSON</button>
  </div>
  <div><label for="gg-upload" style="border:1px solid #888;border-radius:3px;padding:1px 6px;cursor:pointer;background:#f4f4f4">上传GeoJSON…</label>
    <input id="gg-upload" type="file" accept=".geojson,.json,application/geo+json" style="display:none"></div>
  <div id="gg-status" style="color:#333;white-space:pre-wrap;"></div>
  <div style="color:#666;font-size:12px;">用左侧工具绘制或编辑多边形；点击网格可将其边界载入编辑。</div>
</div>
"""

# Placeholders: __MAP__, __DRAWN__, __GRIDS__ (micro GeoJSON layer), __CONFIG__ (JSON).
EDITOR_JS = """
(function() {
  var map = __MAP__, drawn = __DRAWN__, grids = __GRIDS__, cfg = __CONFIG__;
  var status = document.getElementById('gg-status');
  document.getElementById('gg-gen').textContent = cfg.generation;
  L.DomEvent.disableClickPropagation(document.getElementById('gg-editor'));
  L.DomEvent.disableScrollPropagation(document.getElementById('gg-editor'));
  var list = document.getElementById('gg-codes');
  cfg.codes.forEach(function(c) { var o = document.createElement('option'); o.value = c; list.appendChild(o); });
  function say(text, ok) { status.textContent = text; status.style.color = ok ? '#1a7f37' : '#b00020'; }
  function mapCoords(geom, fn) {
    function ring(r) { return r.map(fn); }
    if (geom.type === 'Polygon') return {type: 'Polygon', coordinates: geom.coordinates.map(ring)};
    if (geom.type === 'MultiPolygon') return {type: 'MultiPolygon', coordinates: geom.coordinates.map(function(p) { return p.map(ring); })};
    return geom;
  }
  function drawnGeometry() {
    var polys = [];
    drawn.eachLayer(function(l) {
      var g = l.toGeoJSON().geometry;
      if (g.type === 'Polygon') polys.push(g.coordinates);
      if (g.type === 'MultiPolygon') g.coordinates.forEach(function(p) { polys.push(p); });
    });
    if (!polys.length) return null;
    var geom = polys.length === 1 ? {type: 'Polygon', coordinates: polys[0]} : {type: 'MultiPolygon', coordinates: polys};
    return mapCoords(geom, ggFromDisplay);  // back to WGS84 (identity unless the basemap is GCJ-02)
  }
  function load(geomWgs84, code) {
    drawn.clearLayers();
    // Leaflet.draw edits simple polygons: a multipolygon is loaded as one polygon per part.
    var shown = mapCoords(geomWgs84, ggToDisplay);
    var parts = shown.type === 'MultiPolygon' ? shown.coordinates : [shown.coordinates];
    L.geoJSON({type: 'FeatureCollection', features: parts.map(function(p) {
      return {type: 'Feature', properties: {code: code}, geometry: {type: 'Polygon', coordinates: p}}; })}, {
      style: {color: '#d7191c', weight: 3, fillOpacity: 0.15}
    }).eachLayer(function(l) { drawn.addLayer(l); });
    if (code) document.getElementById('gg-code').value = code;
  }
  window.geoGrid = window.geoGrid || {layers: {}, data: {}};
  window.geoGrid.editGrid = function(code) {
    var found = null;
    grids.eachLayer(function(l) { if (l.feature.properties.code === code) found = l; });
    if (!found) { say('未找到网格 ' + code, false); return false; }
    load(mapCoords(found.feature.geometry, ggFromDisplay), code);
    map.closePopup();
    map.fitBounds(found.getBounds(), {maxZoom: 19});
    say('已载入 ' + code + '，可用编辑工具修改后提交', true);
    return true;
  };
  window.geoGrid.drawnGeometry = drawnGeometry;
  document.getElementById('gg-download').addEventListener('click', function() {
    var geom = drawnGeometry();
    if (!geom) { say('没有可下载的多边形', false); return; }
    var fc = {type: 'FeatureCollection', features: [{type: 'Feature', properties: {code: document.getElementById('gg-code').value}, geometry: geom}]};
    var a = document.createElement('a');
    a.href = URL.createObjectURL(new Blob([JSON.stringify(fc)], {type: 'application/geo+json'}));
    a.download = (document.getElementById('gg-code').value || 'draft') + '.geojson';
    document.body.appendChild(a); a.click(); a.remove();
    say('已下载', true);
  });
  document.getElementById('gg-upload').addEventListener('change', function(ev) {
    var file = ev.target.files[0]; if (!file) return;
    file.text().then(function(text) {
      var data = JSON.parse(text);
      var feat = data.type === 'FeatureCollection' ? data.features[0] : (data.type === 'Feature' ? data : {type: 'Feature', properties: {}, geometry: data});
      load(feat.geometry, (feat.properties || {}).code || '');
      map.fitBounds(drawn.getBounds(), {maxZoom: 19});
      say('已载入上传的GeoJSON', true);
    }).catch(function(err) { say('无法读取GeoJSON：' + err, false); });
  });
  document.getElementById('gg-submit').addEventListener('click', function() {
    var code = document.getElementById('gg-code').value.trim(), token = document.getElementById('gg-token').value.trim();
    var geom = drawnGeometry();
    if (!code) { say('请填写网格编码', false); return; }
    if (!geom) { say('请先绘制或载入多边形', false); return; }
    var auth = {};
    var gridUrl = cfg.grid_url.replace('{generation}', cfg.generation).replace('{code}', encodeURIComponent(code));
    var putUrl = cfg.put_url.replace('{generation}', cfg.generation).replace('{code}', encodeURIComponent(code));
    say('提交中…', true);
    // Who submits: the token typed in, else the planner's browser session (cookie + its CSRF token).
    var who = token ? Promise.resolve({'Authorization': 'Bearer ' + token}) :
      fetch('/session', {credentials: 'same-origin'}).then(function(r) { return r.json(); }).then(function(s) {
        if (!s.authenticated || !s.csrf_token) throw new Error('请先登录（/login）或填写规划员令牌');
        return {'X-CSRF-Token': s.csrf_token};
      });
    // If-Match: the grid's current ETag (or its version), so that a concurrent edit is refused, not lost.
    who.then(function(headers) { auth = headers; return fetch(gridUrl, {headers: auth, credentials: 'same-origin'}); }).then(function(r) {
      if (!r.ok) throw new Error('读取网格失败 HTTP ' + r.status);
      var etag = r.headers.get('ETag');
      return r.json().then(function(body) { return etag || (body.properties || {}).etag || ''; });
    }).then(function(etag) {
      return fetch(putUrl, {method: 'PUT', headers: Object.assign({'Content-Type': 'application/json', 'If-Match': etag}, auth),
                            credentials: 'same-origin', body: JSON.stringify({geometry: geom})});
    }).then(function(r) {
      return r.text().then(function(text) {
        if (r.ok) { say('已提交到草稿（HTTP ' + r.status + '）。刷新页面查看校验结果。', true); }
        else { var msg = text; try { var j = JSON.parse(text); msg = (j.code || '') + '：' + (j.message || text); } catch (e) {}
               say('提交被拒绝（HTTP ' + r.status + '）' + msg, false); }
      });
    }).catch(function(err) { say(String(err.message || err), false); });
  });
})();
"""
