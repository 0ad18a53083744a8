"""The coverage map's grids and communities drawn from the vector tiles (GET /tiles/{layer}/{z}/{x}/{y}.mvt)
with Leaflet.VectorGrid, for a district or city where embedding every polygon would make the page huge.

What the page shows stays that of the embedded page: the same outline styles (styles.py), tertiary grids
in the same neighbour-distinct colours (only the code → colour table is embedded), the 无微网格长 layer
(the tiles' `has_leader` flag), and the same popup, fetched on click from GET /maps/popups/grids/{code}
(coverage_labels.grid_popup, built per request, phones masked by privacy.py for the caller)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from branca.element import MacroElement
from folium.elements import JSCSSMixin
from jinja2 import Template

from geo_grid.render.styles import (
    COMMUNITY_STYLE,
    COURTYARD_STYLE,
    MICRO_LABEL_ZOOM,
    MICRO_STYLE,
    NO_LEADER_STYLE,
    ROAD_STYLE,
    TERTIARY_LABEL_ZOOM,
)

# Micro-grids (≈ 90 m across) are drawn from this zoom on: below it they are a few pixels wide, and a
# city's lower-zoom tile would carry tens of thousands of them.
MICRO_TILE_MIN_ZOOM = 13
# Tiles are asked for up to this zoom; closer, the browser scales the zoom-18 tiles (4096 units each).
TILE_MAX_NATIVE_ZOOM = 18
TERTIARY_TILE_STYLE: dict[str, Any] = {
    "color": "#444444",
    "weight": 1.6,
    "fillOpacity": 0.55,
    "className": "grid-tertiary",
}


# Shared by the tiled pages' templates. A tile's empty area lets clicks through to the layers below; its
# drawn features take them.
_TILE_CSS = """          .gg-tiles svg { pointer-events: none; }
          .gg-tiles svg path.leaflet-interactive { pointer-events: visiblePainted; pointer-events: auto; }
"""
# Popups built in the browser: text escaped, then a titled table of (label, value) rows.
_POPUP_JS = """          function esc(s) {
            return String(s == null ? '' : s).replace(/[&<>"']/g, function(c) {
              return {'&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#x27;'}[c]; });
          }
          function table(title, rows) {
            return '<div class="gg-popup"><b>' + esc(title) + '</b><table>' + rows.map(function(r) {
              return '<tr><th>' + esc(r[0]) + '</th><td>' + esc(r[1]) + '</td></tr>'; }).join('') + '</table></div>';
          }
"""


class TiledGrids(JSCSSMixin, MacroElement):
    """Adds window.geoGrid.layers.{communities,tertiary,micro,no_leader,roads,courtyards} as VectorGrid tile
    layers (named
    `names` in the layer `control`, stacked in its order, bottom first) and a click popup from GET /maps/popups/grids/{code};
    window.geoGrid.openGrid(code, latlng) opens it from code. Add it after the folium.LayerControl."""

    # The name is swapped for the local copy by assets.localize (never fetched from a CDN).
    default_js = [("leaflet_vectorgrid", "leaflet.vectorgrid/dist/Leaflet.VectorGrid.bundled.min.js")]

    _template = Template(
        """{% macro header(this, kwargs) %}
        <style>
"""
        + _TILE_CSS
        + """        </style>
        {% endmacro %}
        {% macro script(this, kwargs) %}
        (function() {
          var map = {{ this._parent.get_name() }};
          var cfg = {{ this.config|tojson }};
          window.geoGrid = window.geoGrid || {layers: {}, data: {}};
"""
        + _POPUP_JS
        + """          function tiles(layer, styleOf, extra) {
            var styles = {}; styles[layer] = styleOf;
            var opts = {rendererFactory: L.svg.tile, interactive: true, vectorTileLayerStyles: styles, className: 'gg-tiles',
                        maxNativeZoom: cfg.max_native_zoom, maxZoom: map.getMaxZoom(),
                        getFeatureId: function(f) { return f.properties.code; }};
            return L.vectorGrid.protobuf(cfg.tile_url.replace('{layer}', layer), L.extend(opts, extra || {}));
          }
          var highlighted = null;
          function openGrid(code, latlng) {
            return openPopup(cfg.grid_url.replace('{code}', encodeURIComponent(code)), code, latlng);
          }
          function openPopup(url, code, latlng) {
            var popup = L.popup({maxWidth: 420}).setLatLng(latlng)
              .setContent('<div class="gg-popup"><b>' + esc(code) + '</b> 加载中…</div>').openOn(map);
            return fetch(url,
                         {credentials: 'same-origin', headers: {'Accept': 'application/json'}})
              .then(function(r) { if (!r.ok) throw new Error('HTTP ' + r.status); return r.json(); })
              .then(function(d) { popup.setContent(d.html); return true; })
              .catch(function(e) { popup.setContent(table(code, [['错误', '无法加载网格信息（' + e.message + '）']])); return false; });
          }
          function highlight(code) {
            ['tertiary', 'micro'].forEach(function(k) {
              var l = window.geoGrid.layers[k];
              if (highlighted) l.resetFeatureStyle(highlighted);
              l.setFeatureStyle(code, {weight: 4, color: '#d7191c', fill: false});
            });
            highlighted = code;
          }
          var layers = {
            tertiary: tiles('tertiary_grids', function(p) {
              return L.extend({fill: true, fillColor: cfg.colours[p.code] || '#8dd3c7'}, cfg.styles.tertiary); }),
            micro: tiles('micro_grids', function() { return L.extend({fill: true}, cfg.styles.micro); },
                         {minZoom: cfg.micro_min_zoom}),
            communities: tiles('communities', function() {
              return L.extend({fill: false, interactive: false}, cfg.styles.community); },
                               {interactive: false}),
            no_leader: tiles('micro_grids', function(p) {
              return p.has_leader ? [] : L.extend({fill: true}, cfg.styles.no_leader); }, {minZoom: cfg.micro_min_zoom})
          };
          ['roads', 'courtyards'].forEach(function(k) {
            var kind = k === 'roads' ? 'road_segments' : 'courtyards';
            layers[k] = tiles(kind, function() { return L.extend({fill: k === 'courtyards'}, cfg.styles[k]); });
            layers[k].on('click', function(e) {
              L.DomEvent.stopPropagation(e);
              var id = e.layer.properties.id;
              openPopup(cfg.duty_url.replace('{kind}', kind).replace('{id}', encodeURIComponent(id)), id, e.latlng);
            });
          });
          ['tertiary', 'micro', 'no_leader'].forEach(function(k) {
            layers[k].on('click', function(e) {
              L.DomEvent.stopPropagation(e);
              openGrid(e.layer.properties.code, e.latlng);
            });
          });
          var control = {{ this.control.get_name() }};
          cfg.names.forEach(function(pair) {  // bottom to top; the duty areas start off, as embedded
            var k = pair[0];
            if (cfg.hidden.indexOf(k) < 0) layers[k].addTo(map);
            control.addOverlay(layers[k], pair[1]);
            window.geoGrid.layers[k] = layers[k];
          });
          // Labels (name and code) from the zoom the embedded page shows them at, for the viewport only.
          var labelGroups = {}, labelSeq = 0;
          Object.keys(cfg.label_zooms).forEach(function(level) { labelGroups[level] = L.layerGroup(); });
          function updateLabels() {
            var z = map.getZoom(), b = map.getBounds(), seq = ++labelSeq;
            var bbox = [Math.max(b.getWest(), -180), Math.max(b.getSouth(), -90), Math.min(b.getEast(), 180),
                        Math.min(b.getNorth(), 90)].map(function(v) { return v.toFixed(6); }).join(',');
            Object.keys(cfg.label_zooms).forEach(function(level) {
              var g = labelGroups[level];
              if (z < cfg.label_zooms[level]) { g.clearLayers(); if (map.hasLayer(g)) map.removeLayer(g); return; }
              fetch(cfg.label_url + (cfg.label_url.indexOf('?') >= 0 ? '&' : '?') + 'level=' + level + '&bbox=' + bbox,
                    {credentials: 'same-origin', headers: {'Accept': 'application/json'}})
                .then(function(r) { return r.ok ? r.json() : []; })
                .then(function(items) {
                  if (seq !== labelSeq) return;  // the map moved on meanwhile
                  g.clearLayers();
                  items.forEach(function(l) {
                    L.marker([l.lat, l.lon], {interactive: false, keyboard: false, icon: L.divIcon({
                      className: 'gg-label ' + level, html: esc(l.text).replace(/\\n/g, '<br>'),
                      iconSize: [160, 32], iconAnchor: [80, 16]})}).addTo(g);
                  });
                  if (!map.hasLayer(g)) g.addTo(map);
                });
            });
          }
          map.on('moveend', updateLabels);
          map.whenReady(updateLabels);
          window.geoGrid.openGrid = openGrid;
          window.geoGrid.highlight = highlight;
        })();
        {% endmacro %}"""
    )

    def __init__(
        self,
        tile_url: str,
        grid_url: str,
        label_url: str,
        duty_url: str,
        colours: Mapping[str, str],
        names: Mapping[str, str],
        control: Any,
    ) -> None:
        super().__init__()
        self.control = control
        self.config = {
            "tile_url": tile_url,
            "grid_url": grid_url,
            "label_url": label_url,
            "duty_url": duty_url,
            "hidden": ["roads", "courtyards"],
            "label_zooms": {"tertiary": TERTIARY_LABEL_ZOOM, "micro": MICRO_LABEL_ZOOM},
            "colours": dict(colours),
            "names": [[key, name] for key, name in names.items()],  # a list: tojson sorts a dict
            "micro_min_zoom": MICRO_TILE_MIN_ZOOM,
            "max_native_zoom": TILE_MAX_NATIVE_ZOOM,
            "styles": {
                "tertiary": TERTIARY_TILE_STYLE,
                "micro": MICRO_STYLE,
                "community": COMMUNITY_STYLE,
                "no_leader": NO_LEADER_STYLE,
                "roads": ROAD_STYLE,
                "courtyards": COURTYARD_STYLE,
            },
        }


class TiledReports(JSCSSMixin, MacroElement):
    """The incident map's reports and choropleth from the vector tiles, for a district or city with more
    reports than a page should embed. Adds window.geoGrid.layers.{choropleth,reports,lights} (named `names`
    in the layer `control`; `lights` off when the page opens, as embedded) and window.geoGrid.openReport(id,
    latlng), which opens a report's popup fetched from the API (the embedded page's popup, built per
    request). Reports tiles are decoded with VectorGrid's own reader and drawn as markers: below
    `single_min_zoom` one per cell with its count (a click zooms in), from it one per report, coloured by
    state (overdue ringed, "!") or by the light of its stage. Add it after the folium.LayerControl."""

    default_js = [("leaflet_vectorgrid", "leaflet.vectorgrid/dist/Leaflet.VectorGrid.bundled.min.js")]

    _template = Template(
        """{% macro header(this, kwargs) %}
        <style>
"""
        + _TILE_CSS
        + """          .gg-cluster { border-radius: 50%; background: rgba(44, 123, 182, 0.75); color: #fff; font: bold 12px/1 sans-serif;
            display: flex; align-items: center; justify-content: center; border: 2px solid #fff; box-shadow: 0 0 3px #000; }
          .gg-cluster.overdue { border: 3px solid #b2182b; }
        </style>
        {% endmacro %}
        {% macro script(this, kwargs) %}
        (function() {
          var map = {{ this._parent.get_name() }};
          var cfg = {{ this.config|tojson }};
          window.geoGrid = window.geoGrid || {layers: {}, data: {}};
"""
        + _POPUP_JS
        + """          function openReport(id, latlng) {
            var popup = L.popup({maxWidth: 360}).setLatLng(latlng)
              .setContent('<div class="gg-popup"><b>上报 ' + esc(id) + '</b> 加载中…</div>').openOn(map);
            return fetch(cfg.popup_url.replace('{id}', encodeURIComponent(id)),
                         {credentials: 'same-origin', headers: {'Accept': 'application/json'}})
              .then(function(r) { if (!r.ok) throw new Error('HTTP ' + r.status); return r.json(); })
              .then(function(d) { popup.setContent(d.html); return true; })
              .catch(function(e) { popup.setContent(table('上报 ' + id, [['错误', '无法加载上报信息（' + e.message + '）']])); return false; });
          }
          // A tile layer whose features become markers: VectorGrid fetches and decodes the tile (its
          // _getVectorTilePromise), this layer puts one marker per feature on the map for as long as the tile lives.
          var MarkerTiles = L.VectorGrid.Protobuf.extend({
            initialize: function(url, options) {
              L.VectorGrid.Protobuf.prototype.initialize.call(this, url, options);
              this._groups = {};
              this.on('tileunload', function(e) { this._drop(this._tileCoordsToKey(e.coords)); }, this);
              // Leaflet keeps another zoom's tiles until the new ones have loaded: their markers go at once.
              map.on('zoomend', function() {
                var z = this._tileZoom, self = this;
                Object.keys(this._groups).forEach(function(k) { if (+k.split(':')[2] !== z) self._drop(k); });
              }, this);
            },
            _drop: function(key) {
              if (this._groups[key]) { map.removeLayer(this._groups[key]); delete this._groups[key]; }
            },
            createTile: function(coords, done) {
              var tile = L.DomUtil.create('div'), key = this._tileCoordsToKey(coords), self = this;
              this._getVectorTilePromise(coords).then(function(vt) {
                var layer = vt.layers && vt.layers.reports, group = L.layerGroup();
                if (layer) {
                  var size = self.getTileSize(), origin = coords.scaleBy(size);
                  layer.features.forEach(function(f) {
                    var p = f.geometry[0][0];
                    var px = origin.add(L.point(p.x * size.x / layer.extent, p.y * size.y / layer.extent));
                    group.addLayer(self.options.marker(f.properties, map.unproject(px, coords.z)));
                  });
                }
                if (self._map && self._tiles[key] && coords.z === self._tileZoom) {
                  self._drop(key); self._groups[key] = group.addTo(map);
                }
                done(null, tile);
              }, function(e) { done(e, tile); });
              return tile;
            },
            count: function() {  // markers drawn now (the browser tests read it)
              var n = 0, self = this;
              Object.keys(this._groups).forEach(function(k) { n += self._groups[k].getLayers().length; });
              return n;
            }
          });
          function cluster(p, latlng) {
            var n = p.count, px = n < 10 ? 28 : n < 100 ? 34 : n < 1000 ? 40 : 46;
            var title = n + ' 条上报' + (p.overdue ? '，逾期 ' + p.overdue : '') + (p.red ? '，红灯 ' + p.red : '');
            var m = L.marker(latlng, {title: title, icon: L.divIcon({className: '', iconSize: [px, px],
              html: '<div class="gg-cluster' + (p.overdue ? ' overdue' : '') + '" style="width:' + px + 'px;height:' + px
                    + 'px">' + n + '</div>'})});
            m.on('click', function() { map.setView(latlng, Math.min(map.getZoom() + 2, cfg.single_min_zoom)); });
            return m;
          }
          function single(p, latlng, colour, label) {
            var icon = L.divIcon({className: '', iconSize: [16, 16], iconAnchor: [8, 8],
              html: '<div class="gg-report s-' + esc(p.status) + (p.overdue ? ' overdue' : '') + '" data-id="' + esc(p.id)
                    + '" style="background:' + colour + '"></div>'});
            var m = L.marker(latlng, {icon: icon, title: label});
            m.on('click', function() { openReport(p.id, latlng); });
            return m;
          }
          function markers(byLight) {
            return new MarkerTiles(cfg.tile_url, {
              maxNativeZoom: cfg.max_native_zoom, maxZoom: map.getMaxZoom(), fetchOptions: {credentials: 'same-origin'},
              marker: function(p, latlng) {
                if (p.count !== undefined) return cluster(p, latlng);
                if (byLight) return single(p, latlng, cfg.colours.light[p.light] || cfg.colours.no_light,
                                           cfg.labels.light[p.light] || cfg.labels.status[p.status] || p.status);
                return single(p, latlng, cfg.colours.status[p.status] || '#000000', cfg.labels.status[p.status] || p.status);
              }
            });
          }
          var choropleth = L.vectorGrid.protobuf(cfg.micro_tile_url, {
            rendererFactory: L.svg.tile, interactive: true, className: 'gg-tiles', minZoom: cfg.micro_min_zoom,
            maxNativeZoom: cfg.max_native_zoom, maxZoom: map.getMaxZoom(),
            vectorTileLayerStyles: {micro_grids: function(p) {
              var open = cfg.open[p.code];
              return {fill: true, fillColor: open ? open[1] : cfg.colours.zero, fillOpacity: 0.7, color: '#777777',
                      weight: 0.5, className: 'grid-micro'}; }}
          });
          choropleth.on('click', function(e) {
            var p = e.layer.properties, open = cfg.open[p.code];
            L.popup({maxWidth: 420}).setLatLng(e.latlng)
              .setContent(table(p.name, [['编码', p.code], ['未办结上报', open ? open[0] : 0]])).openOn(map);
          });
          var layers = {choropleth: choropleth, reports: markers(false), lights: markers(true)};
          var control = {{ this.control.get_name() }};
          cfg.names.forEach(function(pair) {  // bottom to top; the lights start off, as embedded
            var k = pair[0];
            if (k !== 'lights') layers[k].addTo(map);
            control.addOverlay(layers[k], pair[1]);
            window.geoGrid.layers[k] = layers[k];
          });
          window.geoGrid.openReport = openReport;
        })();
        {% endmacro %}"""
    )

    def __init__(
        self,
        tile_url: str,
        micro_tile_url: str,
        popup_url: str,
        single_min_zoom: int,
        open_counts: Mapping[str, list[Any]],
        colours: Mapping[str, Any],
        labels: Mapping[str, Mapping[str, str]],
        names: Mapping[str, str],
        control: Any,
    ) -> None:
        super().__init__()
        self.control = control
        self.config = {
            "tile_url": tile_url,
            "micro_tile_url": micro_tile_url,
            "popup_url": popup_url,
            "single_min_zoom": single_min_zoom,
            "micro_min_zoom": MICRO_TILE_MIN_ZOOM,
            "max_native_zoom": TILE_MAX_NATIVE_ZOOM,
            "open": dict(open_counts),
            "colours": dict(colours),
            "labels": {k: dict(v) for k, v in labels.items()},
            "names": [[key, name] for key, name in names.items()],  # a list: tojson sorts a dict
        }
