// mqcalib/src/export/report_html_assets.cpp: report.html's inline CSS and its one script (sortable
// tables, `#sort=<table id>:<column>[:desc]` on load, data-ready="1" on <body> once it has run).
// System fonts only: nothing is loaded.
#include "export/report_html.h"

namespace mqcalib::html {

const char* report_css() {
  return R"css(body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#222;background:#fff}
header{background:#24323f;color:#fff;padding:10px 20px}header h1{margin:0;font-size:20px}header p{margin:4px 0 0;font-size:13px;color:#cfd8e0}
nav{position:sticky;top:0;background:#eef2f5;padding:6px 20px;border-bottom:1px solid #d5dde4;z-index:1}
nav a{margin-right:14px;color:#24323f;text-decoration:none;font-size:13px}nav a:hover{text-decoration:underline}
main{padding:0 20px 40px}section{margin-top:22px}h2{font-size:17px;border-bottom:2px solid #24323f;padding-bottom:3px}
h3{font-size:14px;margin:8px 0 4px}table{border-collapse:collapse;font-size:12px;margin:6px 0}
th,td{border:1px solid #d5dde4;padding:3px 7px;text-align:left;vertical-align:top}thead th{background:#eef2f5}
table.sortable thead th{cursor:pointer;user-select:none}table.sortable thead th[data-sort=asc]::after{content:" \25B2"}
table.sortable thead th[data-sort=desc]::after{content:" \25BC"}table.kv th{background:#f6f8fa;width:160px}
tbody tr:nth-child(even){background:#fafbfc}.hint,.small{font-size:12px;color:#555}.ok{color:#2a7a2a;font-size:12px}
.cols{display:flex;flex-wrap:wrap;gap:18px;align-items:flex-start}.grid{display:flex;flex-wrap:wrap;gap:12px}
.card{border:1px solid #d5dde4;border-radius:4px;padding:6px 10px;background:#fff}.side{max-width:520px;font-size:12px}
.finding{margin:4px 0 8px}.advice{color:#245;margin-top:2px;font-style:italic}
.swatch{display:inline-block;width:10px;height:10px;margin-right:5px;vertical-align:middle}
svg.chart{display:block;margin:4px 0;font-size:11px;font-family:inherit}svg.chart .small{font-size:10px}svg.chart .axis{fill:#555}
)css";
}

const char* report_script() {
  return R"js((function () {
  'use strict';
  function key(td) {
    var v = td.getAttribute('data-v');
    return v === null ? td.textContent.trim().toLowerCase() : parseFloat(v);
  }
  function sortTable(t, col, dir) {
    var body = t.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = key(a.cells[col]), y = key(b.cells[col]);
      if (typeof x === 'number' && typeof y === 'number') return dir * (x - y);
      return dir * String(x).localeCompare(String(y));
    });
    rows.forEach(function (r) { body.appendChild(r); });
    var ths = t.tHead.rows[0].cells;
    for (var i = 0; i < ths.length; i++) ths[i].removeAttribute('data-sort');
    ths[col].setAttribute('data-sort', dir > 0 ? 'asc' : 'desc');
  }
  Array.prototype.forEach.call(document.querySelectorAll('table.sortable'), function (t) {
    var ths = t.tHead.rows[0].cells;
    Array.prototype.forEach.call(ths, function (th, c) {
      th.addEventListener('click', function () {
        sortTable(t, c, th.getAttribute('data-sort') === 'asc' ? -1 : 1);
      });
    });
  });
  var m = /sort=([\w-]+):(\d+)(:desc)?/.exec(window.location.hash);
  if (m) {
    var t = document.getElementById(m[1]);
    if (t && +m[2] < t.tHead.rows[0].cells.length) sortTable(t, +m[2], m[3] ? -1 : 1);
  }
  document.body.setAttribute('data-ready', '1');
})();
)js";
}

}  // namespace mqcalib::html
