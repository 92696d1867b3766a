(function () {
  "use strict";
  var DATA = JSON.parse(document.getElementById("costscope-data").textContent);
  var PAGE = 25;

  // ---- tables: filter as you type, sort by any column, paginate --------------------------
  function setupTable(wrap) {
    var table = wrap.querySelector("table"), body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows), page = 0, shown = rows;
    var pager = wrap.querySelector(".pager"), filter = wrap.querySelector("input.filter");
    function draw() {
      var pages = Math.max(1, Math.ceil(shown.length / PAGE));
      page = Math.min(page, pages - 1);
      rows.forEach(function (r) { r.hidden = true; });
      shown.slice(page * PAGE, (page + 1) * PAGE).forEach(function (r) { r.hidden = false; body.appendChild(r); });
      pager.textContent = "";
      if (pages > 1) {
        var prev = document.createElement("button"), next = document.createElement("button"), at = document.createElement("span");
        prev.type = next.type = "button"; prev.textContent = "‹ previous"; next.textContent = "next ›";
        prev.disabled = page === 0; next.disabled = page === pages - 1;
        at.textContent = "page " + (page + 1) + " of " + pages + " (" + shown.length + " rows)";
        prev.addEventListener("click", function () { page -= 1; draw(); });
        next.addEventListener("click", function () { page += 1; draw(); });
        pager.append(prev, at, next);
      } else if (shown.length < rows.length) {
        pager.textContent = shown.length + " of " + rows.length + " rows match";
      }
    }
    filter.addEventListener("input", function () {
      var q = filter.value.trim().toLowerCase();
      shown = rows.filter(function (r) { return !q || r.textContent.toLowerCase().indexOf(q) >= 0; });
      page = 0; draw();
    });
    table.querySelectorAll("th").forEach(function (th, i) {
      function sort() {
        var asc = th.getAttribute("aria-sort") !== "ascending";
        table.querySelectorAll("th").forEach(function (o) { o.setAttribute("aria-sort", "none"); });
        th.setAttribute("aria-sort", asc ? "ascending" : "descending");
        var key = function (r) { var c = r.cells[i]; return c.dataset.v !== undefined ? c.dataset.v : c.textContent; };
        var cmp = function (a, b) {
          var x = key(a), y = key(b), nx = parseFloat(x), ny = parseFloat(y);
          var c = (!isNaN(nx) && !isNaN(ny)) ? nx - ny : x.localeCompare(y);
          return asc ? c : -c;
        };
        rows.sort(cmp); shown.sort(cmp); page = 0; draw();
      }
      th.addEventListener("click", sort);
      th.addEventListener("keydown", function (e) { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); sort(); } });
    });
    draw();
  }
  document.querySelectorAll(".table-wrap").forEach(setupTable);

  // ---- copy buttons ---------------------------------------------------------------------
  function copy(button) {
    var text = button.parentNode.querySelector("pre").textContent;
    function done(ok) {
      button.textContent = ok ? "copied" : "press Ctrl+C";
      if (!ok) { var range = document.createRange(); range.selectNodeContents(button.parentNode.querySelector("pre"));
        var sel = window.getSelection(); sel.removeAllRanges(); sel.addRange(range); }
      setTimeout(function () { button.textContent = "copy"; }, 2000);
    }
    function fallback() {
      var area = document.createElement("textarea"); area.value = text; document.body.appendChild(area); area.select();
      var ok = false; try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
      area.remove(); done(ok);
    }
    if (navigator.clipboard && navigator.clipboard.writeText) {
      navigator.clipboard.writeText(text).then(function () { done(true); }, fallback);
    } else { fallback(); }
  }
  document.addEventListener("click", function (e) {
    var t = e.target;
    if (t.classList && t.classList.contains("copy")) { copy(t); }
    if (t.classList && t.classList.contains("drill")) { open(t.dataset.kind, t.dataset.key); }
  });

  // ---- the drill-down panel: built with textContent only (every value is untrusted) -----
  var panel = document.getElementById("panel"), content = panel.querySelector(".content");
  function el(tag, text, cls) { var n = document.createElement(tag); if (text !== undefined) n.textContent = text; if (cls) n.className = cls; return n; }
  function facts(pairs) {
    var dl = el("dl");
    pairs.forEach(function (p) { if (p[1] !== "") { dl.append(el("dt", p[0]), el("dd", p[1])); } });
    return dl;
  }
  function rowsTable(rows, cols, titles, cls) {
    if (!rows.length) return el("p", "none", "muted");
    var t = el("table"), head = t.createTHead().insertRow(), body = t.createTBody();
    if (cls) t.className = cls;
    titles.forEach(function (title, i) { var th = el("th", title); if (i > 0) th.className = "n"; head.appendChild(th); });
    rows.forEach(function (r) {
      var tr = body.insertRow();
      cols.forEach(function (c, i) { var td = tr.insertCell(); td.textContent = r[c]; if (i > 0) td.className = "n"; td.dataset.col = c; });
    });
    return t;
  }
  function list(items) { var ul = el("ul"); items.forEach(function (i) { ul.appendChild(el("li", i)); }); return ul; }
  function actions(rows) {
    if (!rows.length) return el("p", "no action on it", "muted");
    var ol = el("ol");
    rows.forEach(function (r) {
      var li = el("li"); li.append(el("b", r.kind + " "), document.createTextNode(r.target || ""), el("span", " saves " + r.monthly_savings + "/month", "muted"));
      if (r.risk) li.appendChild(el("div", "risk: " + r.risk, "muted"));
      if (r.config) { var box = el("div", undefined, "config"), b = el("button", "copy", "copy"); b.type = "button"; box.append(b, el("pre", r.config)); li.appendChild(box); }
      ol.appendChild(li);
    });
    return ol;
  }
  var builders = {
    metric: function (d) {
      var parts = [facts(d.facts), el("h3", "Series by job"), rowsTable(d.jobs, ["job", "series", "monthly_cost"], ["job", "series", "monthly cost"])];
      if (d.teams.length) parts.push(el("h3", "Series by team"), rowsTable(d.teams, ["team", "series", "monthly_cost"], ["team", "series", "monthly cost"]));
      parts.push(el("h3", "Labels: distinct values, and the series left without each"),
        rowsTable(d.labels, ["label", "label_values", "series_after", "monthly_savings", "masked"], ["label", "values", "series left without it", "saves/month", ""], "labels"));
      parts.push(el("h3", "Who reads it"));
      if (!d.read_known) parts.push(el("p", "no dashboards, rules, SLOs or query logs were read", "muted"));
      else if (!d.readers.length) parts.push(el("p", "nobody: no dashboard, alert, rule, SLO or logged query reads it", "bad"));
      else parts.push(list(d.readers), facts([["labels they need", d.needs.join(", ")], ["labels nobody reads", d.unread.join(", ")]]));
      parts.push(el("h3", "Actions"), actions(d.actions));
      return parts;
    },
    template: function (d) {
      return [facts(d.facts), el("h3", "Who reads it (LogQL)"),
        d.readers.length ? list(d.readers) : el("p", "no dashboard, alert or rule read from the snapshot selects these lines", "muted"),
        el("h3", "Cuts, and what they lose"),
        rowsTable(d.actions, ["kind", "service", "level", "monthly_savings", "lost_error_lines", "lost_trace_lines"], ["action", "service", "level", "saves/month", "error lines lost", "trace-linked lost"])];
    },
    operation: function (d) {
      return [facts(d.facts), el("h3", "What each sampling policy keeps of it"),
        rowsTable(d.policies, ["policy", "kept", "errors_kept", "rate_error", "p99_error", "estimable"], ["policy", "spans kept", "errors kept", "rate error", "p99 error", "RED estimable"])];
    }
  };
  function open(kind, key) {
    var d = (DATA.panels[kind] || {})[key];
    content.textContent = "";
    if (!d) { content.append(el("h2", key), el("p", "No detail kept for this one (the report keeps the largest " + kind + "s).", "muted")); }
    else { content.append(el("h2", d.title)); builders[kind](d).forEach(function (n) { content.appendChild(n); }); }
    panel.dataset.kind = kind; panel.dataset.key = key;
    panel.hidden = false; panel.querySelector(".close").focus();
  }
  function close() { panel.hidden = true; }
  panel.querySelector(".close").addEventListener("click", close);
  document.addEventListener("keydown", function (e) { if (e.key === "Escape") close(); });

  // ---- charts: drawn from their specs; a metric's bar or tile opens its panel --------------
  Object.keys(DATA.charts).forEach(function (id) {
    var div = document.getElementById(id), spec = DATA.charts[id];
    if (!div || typeof Plotly === "undefined") return;
    Plotly.newPlot(div, spec.data, spec.layout, {displaylogo: false, responsive: true});
    if (id === "chart-top-metrics" || id === "chart-treemap") {
      div.on("plotly_click", function (ev) { var key = ev.points[0].customdata; if (key) open("metric", key); });
    }
  });

  // ---- navigation: open at the section the URL names; mark the one in view ---------------
  if (location.hash.length > 1) { var target = document.getElementById(decodeURIComponent(location.hash.slice(1))); if (target) target.scrollIntoView(); }
  var links = document.querySelectorAll("nav.toc a");
  if ("IntersectionObserver" in window) {
    var io = new IntersectionObserver(function (entries) {
      entries.forEach(function (en) { if (en.isIntersecting) links.forEach(function (a) { a.classList.toggle("here", a.getAttribute("href") === "#" + en.target.id); }); });
    }, {rootMargin: "-10% 0px -80% 0px"});
    document.querySelectorAll("main > section").forEach(function (s) { io.observe(s); });
  }
  document.body.dataset.ready = "1";
})();
