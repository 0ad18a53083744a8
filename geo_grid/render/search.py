"""A search box for grids by code or name (our own Leaflet control: Chinese, no extra plugin to vendor)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from branca.element import MacroElement
from jinja2 import Template

# The search box itself, the same on an embedded and a tiled page (only the script behind it differs).
_SEARCH_BOX = """{% macro html(this, kwargs) %}
        <div id="gg-search" style="position:absolute;top:10px;right:10px;z-index:1001;background:#fff;padding:4px;
             border-radius:4px;box-shadow:0 1px 4px rgba(0,0,0,.3);">
          <input id="gg-search-input" list="gg-search-list" placeholder="搜索网格：编码或名称" style="width:220px;font-size:13px;">
          <datalist id="gg-search-list"></datalist>
          <div id="gg-search-msg" style="font-size:12px;color:#a00;"></div>
        </div>
        {% endmacro %}
"""


class GridSearch(MacroElement):
    """Type a code or part of a name; Enter (or a pick from the list) zooms to the grid and opens its popup.

    `entries` are [code, name, [south, west, north, east]]; `layer_keys` name window.geoGrid layers
    whose features carry `properties.code`, searched for the popup to open.
    """

    _template = Template(
        _SEARCH_BOX
        + """
        {% macro script(this, kwargs) %}
        (function() {
          var map = {{ this._parent.get_name() }};
          var entries = {{ this.entries|tojson }};
          var keys = {{ this.layer_keys|tojson }};
          var list = document.getElementById('gg-search-list');
          entries.forEach(function(e) { var o = document.createElement('option'); o.value = e[0] + ' ' + e[1]; list.appendChild(o); });
          function find(q) {
            q = q.trim(); if (!q) return null;
            var code = q.split(' ')[0];
            for (var i = 0; i < entries.length; i++) { if (entries[i][0] === code) return entries[i]; }
            for (var j = 0; j < entries.length; j++) { if (entries[j][1].indexOf(q) >= 0 || entries[j][0].indexOf(q) === 0) return entries[j]; }
            return null;
          }
          window.geoGrid = window.geoGrid || {layers: {}, data: {}};
          window.geoGrid.focus = function(q) {
            var e = find(q), msg = document.getElementById('gg-search-msg');
            if (!e) { msg.textContent = '未找到：' + q; return false; }
            msg.textContent = '';
            var b = e[2];
            map.fitBounds([[b[0], b[1]], [b[2], b[3]]], {maxZoom: 18});
            keys.forEach(function(k) {
              var layer = window.geoGrid.layers[k]; if (!layer) return;
              layer.eachLayer(function(l) {
                if (l.feature && l.feature.properties.code === e[0]) {
                  if (!map.hasLayer(layer)) layer.addTo(map);
                  if (l.getPopup()) l.openPopup();
                  if (l.setStyle) { l.setStyle({weight: 4, color: '#d7191c'}); }
                }
              });
            });
            return true;
          };
          var input = document.getElementById('gg-search-input');
          L.DomEvent.disableClickPropagation(document.getElementById('gg-search'));
          input.addEventListener('keydown', function(ev) { if (ev.key === 'Enter') window.geoGrid.focus(input.value); });
          input.addEventListener('change', function() { window.geoGrid.focus(input.value); });
        })();
        {% endmacro %}"""
    )

    def __init__(self, entries: Sequence[list[Any]], layer_keys: Sequence[str]) -> None:
        super().__init__()
        self.entries = list(entries)
        self.layer_keys = list(layer_keys)


class ApiGridSearch(MacroElement):
    """The same search box for a tiled page: suggestions and the pick come from GET /maps/search (the
    grids are not in the page). window.geoGrid.focus(q) returns a promise of whether a grid was found;
    it zooms to the grid, outlines it in red and opens its popup (window.geoGrid.openGrid of tiled.py)."""

    _template = Template(
        _SEARCH_BOX
        + """
        {% macro script(this, kwargs) %}
        (function() {
          var map = {{ this._parent.get_name() }};
          var url = {{ this.search_url|tojson }};
          var list = document.getElementById('gg-search-list');
          function search(q, limit) {
            var u = url + (url.indexOf('?') >= 0 ? '&' : '?') + 'q=' + encodeURIComponent(q) + '&limit=' + limit;
            return fetch(u, {credentials: 'same-origin', headers: {'Accept': 'application/json'}})
              .then(function(r) { return r.ok ? r.json() : []; });
          }
          window.geoGrid = window.geoGrid || {layers: {}, data: {}};
          window.geoGrid.focus = function(q) {
            var msg = document.getElementById('gg-search-msg');
            q = String(q || '').trim();
            if (!q) return Promise.resolve(false);
            return search(q, 1).then(function(hits) {
              if (!hits.length) { msg.textContent = '未找到：' + q; return false; }
              msg.textContent = '';
              var e = hits[0], b = e.bounds;
              map.fitBounds([[b[0], b[1]], [b[2], b[3]]], {maxZoom: 18, animate: false});
              window.geoGrid.highlight(e.code);
              return window.geoGrid.openGrid(e.code, L.latLng(e.point[0], e.point[1]));
            });
          };
          var input = document.getElementById('gg-search-input'), timer = null;
          L.DomEvent.disableClickPropagation(document.getElementById('gg-search'));
          input.addEventListener('input', function() {
            clearTimeout(timer);
            var q = input.value.trim();
            if (!q) return;
            timer = setTimeout(function() {
              search(q, 20).then(function(hits) {
                list.replaceChildren.apply(list, hits.map(function(e) {
                  var o = document.createElement('option'); o.value = e.code + ' ' + e.name; return o; }));
              });
            }, 250);
          });
          input.addEventListener('keydown', function(ev) { if (ev.key === 'Enter') window.geoGrid.focus(input.value); });
          input.addEventListener('change', function() { window.geoGrid.focus(input.value); });
        })();
        {% endmacro %}"""
    )

    def __init__(self, search_url: str) -> None:
        super().__init__()
        self.search_url = search_url
