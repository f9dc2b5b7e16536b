"""The stylesheet and script inlined into the HTML lineage report (no network, no CDN).

The script reads the graph from `<script type="application/json" id="lineage-data">`, lays out
the visible nodes in layers (longest path, then barycentre ordering) left to right or top to bottom,
whichever shows the whole graph larger, draws them as SVG, and narrows the graph to a selection typed
in the search box (`+T`, `T+`, `+T+`, `tag:x`, unions). On load the whole graph is shown if its text
is then at least 11 px, else the start of it at that size. A switch shows the history of runs or only
the latest flow run.
Every text goes into the page through `textContent` or attribute setters, never as markup.
URL parameters: `?q=<selection>` pre-fills the search (`+` stays a plus), `&open=<path or name>`
opens a node's details, `&view=latest` starts on the latest run, `&fit=1` shows the whole graph
whatever its text size. The drawing reports itself in `data-` attributes of the SVG (layout, text-px,
whole) for tests.
"""

CSS = """
* { box-sizing: border-box; }
html, body { margin: 0; height: 100%; font: 13px/1.4 -apple-system, "Segoe UI", Helvetica, Arial, sans-serif;
  color: #1f2328; background: #f6f8fa; }
body { display: flex; flex-direction: column; }
header { display: flex; flex-wrap: wrap; align-items: center; gap: 10px 16px; padding: 8px 14px;
  background: #fff; border-bottom: 1px solid #d0d7de; }
header h1 { font-size: 15px; margin: 0; font-weight: 600; }
#search { width: 250px; padding: 5px 8px; border: 1px solid #afb8c1; border-radius: 6px; font: inherit; }
#counts { color: #57606a; }
#fit { font: inherit; padding: 4px 10px; border: 1px solid #afb8c1; border-radius: 6px; background: #f6f8fa; cursor: pointer; }
#message { color: #b42318; flex-basis: 100%; }
#message:empty { display: none; }
.legend { display: flex; gap: 10px; color: #57606a; }
.legend span::before { content: ""; display: inline-block; width: 11px; height: 11px; margin-right: 4px;
  vertical-align: -1px; border: 1px solid var(--stroke); background: var(--fill); border-radius: 2px; }
main { flex: 1; display: flex; min-height: 0; }
#canvas { flex: 1; min-width: 0; cursor: grab; background: #fff; }
#canvas.panning { cursor: grabbing; }
#details { width: 380px; overflow: auto; padding: 12px 14px; border-left: 1px solid #d0d7de; background: #fff; }
#details:empty { display: none; }
#details h2 { font-size: 15px; margin: 0 0 2px; word-break: break-all; }
#details h3 { font-size: 13px; margin: 14px 0 4px; }
#details .path { color: #57606a; word-break: break-all; margin-bottom: 6px; }
#details .item { border-top: 1px solid #eaeef2; padding: 6px 0; }
#details pre { white-space: pre-wrap; word-break: break-all; background: #f6f8fa; padding: 4px 6px; margin: 4px 0;
  border-radius: 4px; max-height: 160px; overflow: auto; }
#details button { font: inherit; margin-right: 6px; padding: 2px 8px; border: 1px solid #afb8c1; border-radius: 5px;
  background: #f6f8fa; cursor: pointer; }
.node { cursor: pointer; }
.node rect { stroke-width: 1.2; }
.node.match rect { stroke-width: 3; }
.node.selected rect { stroke: #0969da; stroke-width: 3; }
.node text { font-size: 13px; fill: #1f2328; pointer-events: none; }
.node text.detail { font-size: 12px; fill: #57606a; }
.views { display: flex; gap: 10px; color: #57606a; }
.views label { cursor: pointer; }
.edges path { fill: none; stroke: #8c959f; stroke-width: 1.1; }
.status-failed { color: #c62828; } .status-succeeded { color: #2e7d32; } .status-skipped { color: #757575; }
.status-running { color: #1565c0; }
"""

JS = r"""
(function () {
  "use strict";
  var DATA = JSON.parse(document.getElementById("lineage-data").textContent);
  var NS = "http://www.w3.org/2000/svg", W = 200, H = 40, PAD = 24;
  var GAPS = { lr: { along: 60, across: 12 }, tb: { along: 28, across: 14 } };  // between layers, within a layer
  var VALID = "T (table or notebook path, name or alias; * and ? match any text), +T (with upstream), " +
    "T+ (with downstream), +T+, tag:NAME, several separated by spaces or commas";
  var nodes = DATA.nodes, N = nodes.length;
  var svg = document.getElementById("canvas"), search = document.getElementById("search");
  var message = document.getElementById("message"), details = document.getElementById("details");
  var counts = document.getElementById("counts");
  var SMALLEST_TEXT = 12, READABLE_PX = 11, MAX_SCALE = 1.5;  // the detail line's font size (CSS), px at least
  var MIN_START_SCALE = READABLE_PX / SMALLEST_TEXT, TEXT_SCALE = 0.3;
  var size = { w: svg.clientWidth || 1000, h: svg.clientHeight || 700 }, orient = "lr";
  var mode = (function () { var m = /[?&]view=latest(&|$)/.test(location.search); return m ? "latest" : "history"; })();
  var view = { x: 0, y: 0, w: 1, h: 1 }, content = view, selectedIndex = -1, shown = [], xy = null, matched = null;
  var links = [], edgeLayer = null, nodeLayer = null, drawnNodes = new Map(), drawnEdges = new Map();
  var drawnDetailed = null, drawPending = false;
  nodes.forEach(function (n, i) { n.index = i; n.up = []; n.down = []; });
  DATA.links.forEach(function (l) { nodes[l[0]].down.push(l[1]); nodes[l[1]].up.push(l[0]); });

  function el(tag, attrs, parent) {
    var e = document.createElementNS(NS, tag);
    for (var k in attrs) { e.setAttribute(k, attrs[k]); }
    if (parent) { parent.appendChild(e); }
    return e;
  }
  function html(tag, text, parent, cls) {
    var e = document.createElement(tag);
    if (text !== undefined && text !== null) { e.textContent = String(text); }
    if (cls) { e.className = cls; }
    if (parent) { parent.appendChild(e); }
    return e;
  }

  // -- selection: the grammar of LineageGraph.select ----------------------------------------
  function parse(expr) {
    var raws = expr.replace(/^[\s,]+|[\s,]+$/g, "").split(/[\s,]+/);
    if (!raws[0]) { return []; }
    return raws.map(function (raw) {
      var up = raw.charAt(0) === "+", down = raw.length > 1 && raw.charAt(raw.length - 1) === "+";
      var value = raw.slice(up ? 1 : 0, raw.length - (down ? 1 : 0)), tag = false;
      if (!value || value.charAt(0) === "+" || value.charAt(value.length - 1) === "+") {
        throw new Error("bad term '" + raw + "'");
      }
      var m = /^([A-Za-z_]\w*):(?!\/)(.*)$/.exec(value);
      if (m) {
        if (m[1] !== "tag") { throw new Error("unknown method '" + m[1] + "' in '" + raw + "'"); }
        if (!m[2]) { throw new Error("'" + raw + "' names no tag"); }
        tag = true; value = m[2];
      }
      return { raw: raw, value: value, up: up, down: down, tag: tag };
    });
  }
  function globRegex(p) {
    return new RegExp("^" + p.replace(/[.+^${}()|\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".") + "$");
  }
  function matches(term) {
    var glob = /[*?\[]/.test(term.value) ? globRegex(term.value) : null;
    var suffix = "/" + term.value.replace(/^\/+|\/+$/g, ""), found = [];
    nodes.forEach(function (n) {
      var hit;
      if (term.tag) {
        hit = n.tags.some(function (t) { return glob ? glob.test(t) : t === term.value; });
      } else if (glob) {
        hit = n.keys.some(function (k) { return glob.test(k); });
      } else {
        hit = n.keys.indexOf(term.value) >= 0 ||
          (n.kind === "notebook" && n.key.length > suffix.length && n.key.slice(-suffix.length) === suffix);
      }
      if (hit) { found.push(n.index); }
    });
    return found;
  }
  function closure(start, into, dir) {
    var pending = start.slice();
    while (pending.length) {
      nodes[pending.pop()][dir].forEach(function (j) { if (!into[j]) { into[j] = 1; pending.push(j); } });
    }
  }
  function inView(visible) {  // the latest run shows only what it touched
    if (mode === "latest") { nodes.forEach(function (n, i) { if (!n.latest) { visible[i] = 0; } }); }
    return visible;
  }
  function select(expr) {
    var terms = parse(expr), visible = new Uint8Array(N), matched = new Uint8Array(N);
    if (!terms.length) { visible.fill(1); return { visible: inView(visible), matched: matched }; }
    terms.forEach(function (term) {
      var found = matches(term);
      if (!found.length) { throw new Error("'" + term.raw + "' matches no table or notebook"); }
      found.forEach(function (i) { visible[i] = 1; matched[i] = 1; });
      if (term.up) { closure(found, visible, "up"); }
      if (term.down) { closure(found, visible, "down"); }
    });
    return { visible: inView(visible), matched: matched };
  }

  // -- layout: longest-path layers, sources next to their first consumer, barycentre order ---
  function layout(list, visible) {
    var rank = new Int32Array(N).fill(-1), pending = new Int32Array(N), queue = [], head = 0;
    list.forEach(function (i) {
      pending[i] = nodes[i].up.filter(function (j) { return visible[j]; }).length;
      if (!pending[i]) { queue.push(i); }
    });
    function place(i) {
      var r = 0;
      nodes[i].up.forEach(function (j) { if (visible[j] && rank[j] >= 0) { r = Math.max(r, rank[j] + 1); } });
      rank[i] = r;
    }
    while (head < queue.length) {
      var i = queue[head++];
      place(i);
      nodes[i].down.forEach(function (j) { if (visible[j] && --pending[j] === 0) { queue.push(j); } });
    }
    list.forEach(function (i) { if (rank[i] < 0) { place(i); } });  // nodes on a cycle
    list.forEach(function (i) {
      if (nodes[i].up.some(function (j) { return visible[j]; })) { return; }
      var first = Infinity;
      nodes[i].down.forEach(function (j) { if (visible[j]) { first = Math.min(first, rank[j]); } });
      if (first !== Infinity && first - 1 > rank[i]) { rank[i] = first - 1; }
    });
    var layers = [];
    list.forEach(function (i) { (layers[rank[i]] = layers[rank[i]] || []).push(i); });
    layers = layers.filter(function (l) { return l && l.length; });
    var pos = new Float64Array(N);
    function number(layer) { layer.forEach(function (i, k) { pos[i] = k; }); }
    function reorder(layer, dir) {
      var key = new Float64Array(layer.length);
      layer.forEach(function (i, k) {
        var sum = 0, n = 0;
        nodes[i][dir].forEach(function (j) { if (visible[j]) { sum += pos[j]; n++; } });
        key[k] = n ? sum / n : pos[i];
      });
      var idx = layer.map(function (_, k) { return k; });
      idx.sort(function (a, b) { return key[a] - key[b]; });
      var sorted = idx.map(function (k) { return layer[k]; });
      for (var k = 0; k < layer.length; k++) { layer[k] = sorted[k]; }
      number(layer);
    }
    layers.forEach(number);
    for (var sweep = 0; sweep < 4; sweep++) {
      for (var r = 1; r < layers.length; r++) { reorder(layers[r], "up"); }
      for (r = layers.length - 2; r >= 0; r--) { reorder(layers[r], "down"); }
    }
    return layers;
  }
  function place(layers, dir) {  // left to right ("lr") or top to bottom ("tb")
    var widest = Math.max.apply(null, layers.map(function (l) { return l.length; }).concat([1]));
    var g = GAPS[dir], lr = dir === "lr", step = lr ? W + g.along : H + g.along, slot = lr ? H + g.across : W + g.across;
    var xy = new Float64Array(2 * N);
    layers.forEach(function (layer, r) {
      var offset = (widest - layer.length) * slot / 2;
      layer.forEach(function (i, k) {
        xy[2 * i + (lr ? 0 : 1)] = r * step;
        xy[2 * i + (lr ? 1 : 0)] = offset + k * slot;
      });
    });
    var along = layers.length * step - g.along, across = widest * slot - g.across;
    return { xy: xy, dir: dir, width: lr ? along : across, height: lr ? across : along };
  }
  function scaleOf(box) {
    return Math.min(size.w / (Math.max(box.width, W) + 2 * PAD), size.h / (Math.max(box.height, H) + 2 * PAD));
  }

  // -- drawing: only what the view shows (plus a margin); names hidden when too small to read ----
  function clip(text, n) { return text.length > n ? text.slice(0, n - 1) + "\u2026" : text; }
  function clipStart(text, n) { return text.length > n ? "\u2026" + text.slice(text.length - n + 1) : text; }
  function look(n) { return mode === "latest" && n.latest ? n.latest : n; }  // status, fill, stroke, detail
  function render(sel) {
    var visible = sel.visible;
    shown = [];
    for (var i = 0; i < N; i++) { if (visible[i]) { shown.push(i); } }
    var layers = layout(shown, visible), lr = place(layers, "lr"), tb = place(layers, "tb");
    var box = scaleOf(tb) > scaleOf(lr) * 1.05 ? tb : lr;  // the one showing the whole graph larger
    xy = box.xy;
    orient = box.dir;
    svg.setAttribute("data-layout", orient);
    matched = sel.matched;
    links = [];
    shown.forEach(function (i) { nodes[i].down.forEach(function (j) { if (visible[j]) { links.push([i, j]); } }); });
    while (svg.lastChild) { svg.removeChild(svg.lastChild); }
    var defs = el("defs", {}, svg);
    var marker = el("marker", { id: "arrow", viewBox: "0 0 10 10", refX: "10", refY: "5", markerWidth: "7",
      markerHeight: "7", orient: "auto-start-reverse" }, defs);
    el("path", { d: "M 0 0 L 10 5 L 0 10 z", fill: "#8c959f" }, marker);
    edgeLayer = el("g", { "class": "edges" }, svg);
    nodeLayer = el("g", { "class": "nodes" }, svg);
    drawnNodes = new Map();
    drawnEdges = new Map();
    var notebooks = shown.filter(function (i) { return nodes[i].kind === "notebook"; }).length;
    counts.textContent = notebooks + " of " + DATA.counts.notebooks + " notebooks, " + (shown.length - notebooks) +
      " of " + DATA.counts.tables + " tables" + (mode === "latest" ? " in the latest run" : "");
    content = { x: -PAD, y: -PAD, w: Math.max(box.width, W) + 2 * PAD, h: Math.max(box.height, H) + 2 * PAD };
    fit(param("fit") ? 0 : MIN_START_SCALE);
    draw();
  }
  function fit(minScale) {
    var scale = Math.min(size.w / content.w, size.h / content.h, MAX_SCALE);
    if (scale < minScale) {  // too big to read whole: start readable at its beginning (left or top), centred across
      scale = minScale;
    }
    var w = size.w / scale, h = size.h / scale, fits = w >= content.w - 0.5 && h >= content.h - 0.5;
    var x = content.x + (content.w - w) / 2, y = content.y + (content.h - h) / 2;
    if (!fits && orient === "lr") { x = content.x; } else if (!fits) { y = content.y; }
    view = { x: x, y: y, w: w, h: h };
    svg.setAttribute("data-whole", String(fits));
    applyView();
  }
  function applyView() {
    svg.setAttribute("viewBox", [view.x, view.y, view.w, view.h].join(" "));
    svg.setAttribute("preserveAspectRatio", "xMidYMid meet");
    svg.setAttribute("data-text-px", (SMALLEST_TEXT * Math.min(size.w / view.w, size.h / view.h)).toFixed(1));
    if (!drawPending) {
      drawPending = true;
      requestAnimationFrame(function () { drawPending = false; draw(); });
    }
  }
  function draw() {
    var scale = Math.min(size.w / view.w, size.h / view.h), detailed = scale >= TEXT_SCALE;
    var cx = view.x + view.w / 2, cy = view.y + view.h / 2, rx = size.w / scale * 0.75, ry = size.h / scale * 0.75;
    var x0 = cx - rx - W, x1 = cx + rx, y0 = cy - ry - H, y1 = cy + ry;
    if (detailed !== drawnDetailed) {
      drawnNodes.forEach(function (g) { g.remove(); });
      drawnNodes = new Map();
      drawnDetailed = detailed;
    }
    var wanted = new Set();
    shown.forEach(function (i) {
      var x = xy[2 * i], y = xy[2 * i + 1];
      if (x >= x0 && x <= x1 && y >= y0 && y <= y1) { wanted.add(i); }
    });
    drawnNodes.forEach(function (g, i) { if (!wanted.has(i)) { g.remove(); drawnNodes.delete(i); } });
    var fragment = document.createDocumentFragment();
    wanted.forEach(function (i) { if (!drawnNodes.has(i)) { drawnNodes.set(i, drawNode(i, detailed, fragment)); } });
    nodeLayer.appendChild(fragment);
    fragment = document.createDocumentFragment();
    var wantedEdges = new Set();
    links.forEach(function (link, k) {
      var lr = orient === "lr", ax = xy[2 * link[0]] + (lr ? W : W / 2), ay = xy[2 * link[0] + 1] + (lr ? H / 2 : H);
      var bx = xy[2 * link[1]] + (lr ? 0 : W / 2), by = xy[2 * link[1] + 1] + (lr ? H / 2 : 0);
      if (Math.max(ax, bx) < x0 || Math.min(ax, bx) > x1 + W || Math.max(ay, by) < y0 || Math.min(ay, by) > y1 + H) {
        return;
      }
      wantedEdges.add(k);
      if (drawnEdges.has(k)) { return; }
      var bend = Math.max(lr ? 40 : 16, Math.abs(lr ? bx - ax : by - ay) / 2);
      var c1 = lr ? (ax + bend) + " " + ay : ax + " " + (ay + bend), c2 = lr ? (bx - bend) + " " + by : bx + " " + (by - bend);
      drawnEdges.set(k, el("path", { d: "M" + ax + " " + ay + " C" + c1 + " " + c2 + " " + bx + " " + by,
        "marker-end": "url(#arrow)" }, fragment));
    });
    drawnEdges.forEach(function (p, k) { if (!wantedEdges.has(k)) { p.remove(); drawnEdges.delete(k); } });
    edgeLayer.appendChild(fragment);
    svg.setAttribute("data-drawn", String(drawnNodes.size));
  }
  function drawNode(i, detailed, parent) {
    var n = nodes[i], g = el("g", { "class": "node " + n.kind + (matched[i] ? " match" : "") +
      (i === selectedIndex ? " selected" : ""), transform: "translate(" + xy[2 * i] + "," + xy[2 * i + 1] + ")",
      "data-index": i, "data-key": n.key, "data-kind": n.kind }, parent);
    var v = look(n);
    if (n.kind === "notebook") { g.setAttribute("data-status", v.status); }
    if (n.quality) { g.setAttribute("data-quality", n.quality); }
    el("rect", { width: W, height: H, rx: n.kind === "table" ? 14 : 4, fill: v.fill, stroke: v.stroke }, g);
    el("title", {}, g).textContent = n.key + "\n" + v.detail + (n.expectations ? "\nexpectations failed: " + n.expectations : "");
    if (detailed) {
      el("text", { x: 8, y: 17 }, g).textContent = clipStart(n.name, 25);  // the end of a path tells it apart
      el("text", { x: 8, y: 33, "class": "detail" }, g).textContent = clip(v.detail.replace(/\b([0-9a-f]{8})[0-9a-f]{4,}\b/, "$1"), 31);
    }
    return g;
  }

  // -- details panel ---------------------------------------------------------------------------
  function highlight(index) {
    var old = svg.querySelector(".node.selected");
    if (old) { old.classList.remove("selected"); }
    var g = svg.querySelector('.node[data-index="' + index + '"]');
    if (g) { g.classList.add("selected"); }
  }
  function showDetails(index) {
    var n = nodes[index];
    selectedIndex = index;
    highlight(index);
    while (details.lastChild) { details.removeChild(details.lastChild); }
    html("h2", n.name, details);
    html("div", n.kind + " \u00b7 " + n.key, details, "path");
    var actions = html("div", null, details);
    [["upstream", "+"], ["downstream", "+"], ["both", "+"]].forEach(function (a, k) {
      var b = html("button", a[0], actions);
      b.type = "button";
      b.addEventListener("click", function () {
        search.value = (k !== 1 ? "+" : "") + n.key + (k !== 0 ? "+" : "");
        apply();
      });
    });
    if (n.kind === "notebook") { notebookDetails(n); } else { tableDetails(n); }
  }
  function field(parent, label, value, pre) {
    if (value === null || value === undefined || value === "") { return; }
    var row = html("div", null, parent);
    html("b", label + ": ", row);
    html(pre ? "pre" : "span", value, row);
  }
  function notebookDetails(n) {
    field(details, "tags", n.tags.join(", "));
    field(details, "source fingerprints", n.fingerprints.join(", "));
    html("h3", "Runs (newest first)" + (n.older ? ", " + n.older + " older not shown" : ""), details);
    n.runs.forEach(function (r) {
      var item = html("div", null, details, "item");
      var head = html("div", null, item);
      html("b", r.status + (r.reason ? ": " + r.reason : ""), head, "status-" + r.status);
      html("span", " \u00b7 " + r.started + (r.duration ? " \u00b7 " + r.duration : "") +
        (r.attempt > 1 ? " \u00b7 attempt " + r.attempt : ""), head);
      field(item, "run", r.id);
      field(item, "flow run", r.flow);
      if (r.args.length) {
        var args = html("div", null, item);
        html("b", "args: ", args);
        html("span", r.args.map(function (kv) { return kv[0] + "=" + kv[1]; }).join(", "), args);
      }
      field(item, "exit value", r.exit, true);
      field(item, "error", r.error, true);
    });
  }
  function tableDetails(n) {
    field(details, "format", n.format);
    field(details, "names", n.names.join(", "));
    field(details, "aliases", n.aliases.join(", "));
    if (n.expectations) { field(details, "expectations failed", n.expectations); }
    if (n.schema) {
      html("h3", "Schema", details);
      html("pre", n.schema.map(function (c) { return c[0] + " " + c[1]; }).join("\n"), details);
    }
    html("h3", "Versions seen (newest first)" + (n.older ? ", " + n.older + " older not shown" : ""), details);
    n.seen.forEach(function (s) {
      var item = html("div", null, details, "item");
      html("b", s.kind + " by " + s.notebook, item);
      html("div", [s.time, s.version, s.rows, s.size, s.status].filter(Boolean).join(" \u00b7 "), item);
    });
  }

  // -- search, pan and zoom ------------------------------------------------------------------
  function apply() {
    var sel;
    try {
      sel = select(search.value);
      message.textContent = "";
    } catch (e) {
      message.textContent = "Selection not applied: " + e.message + ". Valid forms: " + VALID + ".";
      return;
    }
    render(sel);
  }
  function param(name) {
    var found = null;
    location.search.replace(/^\?/, "").split("&").forEach(function (part) {
      var eq = part.indexOf("=");
      if (eq > 0 && part.slice(0, eq) === name) { found = decodeURIComponent(part.slice(eq + 1)); }
    });
    return found;
  }
  var timer = null;
  search.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(apply, 250); });
  search.addEventListener("keydown", function (e) { if (e.key === "Enter") { clearTimeout(timer); apply(); } });
  document.getElementById("fit").addEventListener("click", function () { fit(0); });
  Array.prototype.forEach.call(document.querySelectorAll('input[name="view"]'), function (radio) {
    radio.checked = radio.value === mode;
    radio.addEventListener("change", function () { mode = radio.value; apply(); });
  });
  new ResizeObserver(function () {  // the window, or the details panel opening, changes the drawing's size
    var w = svg.clientWidth || size.w, h = svg.clientHeight || size.h;
    if (w !== size.w || h !== size.h) {
      size = { w: w, h: h };
      applyView();
    }
  }).observe(svg);
  svg.addEventListener("click", function (e) {
    var g = e.target.closest && e.target.closest(".node");
    if (g && !moved) { showDetails(+g.getAttribute("data-index")); }
  });
  var drag = null, moved = false;
  svg.addEventListener("mousedown", function (e) { drag = { x: e.clientX, y: e.clientY, view: view }; moved = false; });
  window.addEventListener("mousemove", function (e) {
    if (!drag) { return; }
    var scale = 1 / Math.min(size.w / view.w, size.h / view.h), dx = e.clientX - drag.x, dy = e.clientY - drag.y;
    if (Math.abs(dx) + Math.abs(dy) > 3) { moved = true; svg.classList.add("panning"); }
    view = { x: drag.view.x - dx * scale, y: drag.view.y - dy * scale, w: view.w, h: view.h };
    applyView();
  });
  window.addEventListener("mouseup", function () { drag = null; svg.classList.remove("panning"); });
  svg.addEventListener("wheel", function (e) {
    e.preventDefault();
    var rect = svg.getBoundingClientRect(), factor = Math.exp(e.deltaY * 0.0015);
    var fx = (e.clientX - rect.left) / rect.width, fy = (e.clientY - rect.top) / rect.height;
    var w = view.w * factor, h = view.h * factor;
    view = { x: view.x + (view.w - w) * fx, y: view.y + (view.h - h) * fy, w: w, h: h };
    applyView();
  }, { passive: false });

  search.value = param("q") || "";
  apply();
  if (message.textContent) { render(select("")); }
  var open = param("open");
  if (open) {
    var hit = nodes.filter(function (n) { return n.keys.indexOf(open) >= 0; })[0];
    if (hit) { showDetails(hit.index); }
  }
  document.body.getBoundingClientRect();
  document.body.setAttribute("data-render-ms", String(Math.round(performance.now())));
  document.body.setAttribute("data-ready", "true");
})();
"""
