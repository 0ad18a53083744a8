"""A search box for grids by code or name (our own Leaflet control: Chinese, no extra plugin to vendor)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from branca.element import MacroElement
from jinja2 import Template


class GridSearch(MacroElement):
    """Type a code or part of a name; Enter (or a pick from the list) zooms to the grid and opens its popup.

    `entries` are [code, name, [south, west, north, east]]; `layer_keys` name window.geoGrid layers
    whose features carry `properties.code`, searched for the popup to open.
    """

    _template = Template(
        """{% macro html(this, kwargs) %}
        <div id="gg-search" style="position:absolute;top:10px;right:10px;z-index:1001;background:#fff;padding:4px;
             border-radius:4px;box-shadow:0 1px 4px rgba(0,0,0,.3);">
          <input id="gg-search-input" list="gg-search-list" placeholder="搜索网格：编码或名称" style="width:220px;font-size:13px;">
          <datalist id="gg-search-list"></datalist>
          <div id="gg-search-msg" style="font-size:12px;color:#a00;"></div>
        </div>
        {% endmacro %}
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
