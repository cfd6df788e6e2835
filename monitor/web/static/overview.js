/* The overview's charts: fetched from the page's JSON twin, drawn with the vendored uPlot.
 *
 * Every number drawn comes from /overview.json with the page's own query string, so the charts, the
 * tables and the API can never disagree. Post text never reaches this script; everything it writes
 * into the page goes through textContent. A click (or Enter on a focused chart) opens the posts
 * behind the period and line under the cursor.
 */
(function () {
  "use strict";

  var root = document.getElementById("charts");
  if (!root || typeof uPlot === "undefined") return;

  var DAY = 86400;
  var stanceColours = JSON.parse(root.dataset.stanceColours);
  var stanceLabels = JSON.parse(root.dataset.stanceLabels);
  var aspectColours = JSON.parse(root.dataset.aspectColours);
  var aspectLabels = JSON.parse(root.dataset.aspectLabels);
  var STANCES = ["pro_open", "pro_closed", "neutral"];
  var ASPECTS = ["safety", "competition", "governance", "local_ai"];
  var MARKER_COLOURS = { event: "#444444", model: "#CC79A7" };
  var charts = {};
  window.stanceCharts = charts; // for the browser tests and the console: uPlot instances by name

  window.stanceColourise(document);

  fetch(root.dataset.twin, { headers: { Accept: "application/json" }, credentials: "same-origin" })
    .then(function (response) {
      if (!response.ok) throw new Error("the numbers could not be loaded (HTTP " + response.status + ")");
      return response.json();
    })
    .then(draw)
    .catch(function (error) { eachPlot(function (el) { message(el, String(error.message || error)); }); });

  function eachPlot(fn) {
    Array.prototype.forEach.call(root.querySelectorAll(".plot"), fn);
  }

  function message(el, text) {
    el.textContent = "";
    var p = document.createElement("p");
    p.className = "empty";
    p.textContent = text;
    el.appendChild(p);
  }

  function seconds(day) { return Date.parse(day + "T00:00:00Z") / 1000; }

  function pct(v) { return v === null || v === undefined ? "–" : Math.round(v * 100) + "%"; }
  function num(v) { return v === null || v === undefined ? "–" : v.toFixed(2); }

  function draw(data) {
    var periods = data.periods;
    if (!periods.starts.length) {
      eachPlot(function (el) { message(el, "No classified posts match these filters."); });
      root.dataset.ready = "empty";
      return;
    }
    // Each period is drawn at the middle of its shown days.
    var xs = periods.first_days.map(function (first, i) {
      return (seconds(first) + seconds(periods.last_days[i]) + DAY) / 2;
    });
    var specs = {
      volume: volumeSpec(data),
      shares: sharesSpec(data),
      sentiment: sentimentSpec(data),
      aspects: aspectsSpec(data),
    };
    Object.keys(specs).forEach(function (name) {
      var el = document.getElementById("plot-" + name);
      if (el) charts[name] = makeChart(el, name, specs[name], xs, data);
    });
    root.dataset.ready = "yes";
  }

  function line(label, colour, values, options) {
    var s = { label: label, stroke: colour, width: 2, values: values, points: { show: true, size: 5 } };
    for (var key in options || {}) s[key] = options[key];
    return s;
  }

  function hidden(label, values) {
    return { label: label, stroke: "transparent", width: 0, values: values, points: { show: false }, band: true };
  }

  function volumeSpec(data) {
    var bars = uPlot.paths.bars({ size: [0.8, 60] });
    return {
      yFormat: function (v) { return v === null ? "–" : String(Math.round(v)); },
      range: null,
      series: [
        { label: "posts", stroke: "#9E9E9E", fill: "#BDBDBD", paths: bars, width: 1, values: data.volume.posts,
          points: { show: false }, select: {} },
        { label: "relevant", stroke: "#555555", fill: "#757575", paths: bars, width: 1,
          values: data.volume.relevant, points: { show: false }, select: { relevant: "yes" } },
      ],
    };
  }

  function sharesSpec(data) {
    var series = [];
    var bands = [];
    STANCES.forEach(function (s) {
      var band = data.shares.corrected[s];
      var at = series.length + 1;
      series.push(line(stanceLabels[s], stanceColours[s], band.value, { select: { stance: s }, kind: "share" }));
      series.push(hidden(stanceLabels[s] + " low", band.low));
      series.push(hidden(stanceLabels[s] + " high", band.high));
      bands.push({ series: [at + 2, at + 1], fill: stanceColours[s] + "26" });
      if (data.shares.corrected_for_error) {
        series.push(line(stanceLabels[s] + " (counted)", stanceColours[s], data.shares.raw[s].value,
          { dash: [6, 4], width: 1.5, points: { show: false }, select: { stance: s }, kind: "raw" }));
      }
    });
    return { yFormat: pct, range: [0, 1], series: series, bands: bands };
  }

  function sentimentSpec(data) {
    var mean = data.sentiment.mean;
    return {
      yFormat: num,
      range: null,
      series: [
        line("mean sentiment", "#000000", mean.value, { width: 1, select: { relevant: "yes" } }),
        hidden("low", mean.low),
        hidden("high", mean.high),
        line("smoothed", "#000000", data.sentiment.smoothed, { width: 3, points: { show: false },
          select: { relevant: "yes" } }),
      ],
      bands: [{ series: [3, 2], fill: "#00000018" }],
    };
  }

  function aspectsSpec(data) {
    var concern = data.aspects.safety_concern;
    var series = [
      line("safety concern", "#000000", concern.value, { select: { concern: "yes" } }),
      hidden("low", concern.low),
      hidden("high", concern.high),
    ];
    ASPECTS.forEach(function (a) {
      series.push(line(aspectLabels[a], aspectColours[a], data.aspects.shares[a], { select: { aspect: a } }));
    });
    return { yFormat: pct, range: [0, 1], series: series, bands: [{ series: [3, 2], fill: "#00000018" }] };
  }

  function markersPlugin(markers) {
    return {
      hooks: {
        draw: function (u) {
          var ctx = u.ctx;
          var min = u.scales.x.min, max = u.scales.x.max;
          ctx.save();
          markers.forEach(function (m, i) {
            var x = seconds(m.day) + DAY / 2;
            if (x < min || x > max) return;
            var px = Math.round(u.valToPos(x, "x", true));
            ctx.strokeStyle = MARKER_COLOURS[m.kind] || "#444444";
            ctx.setLineDash(m.kind === "model" ? [2, 3] : [5, 3]);
            ctx.lineWidth = uPlot.pxRatio;
            ctx.beginPath();
            ctx.moveTo(px, u.bbox.top);
            ctx.lineTo(px, u.bbox.top + u.bbox.height);
            ctx.stroke();
            ctx.setLineDash([]);
            ctx.fillStyle = MARKER_COLOURS[m.kind] || "#444444";
            ctx.font = Math.round(11 * uPlot.pxRatio) + "px sans-serif";
            ctx.fillText(m.tag, px + 3 * uPlot.pxRatio, u.bbox.top + (12 + (i % 2) * 12) * uPlot.pxRatio);
          });
          ctx.restore();
        },
      },
    };
  }

  function makeChart(el, name, spec, xs, data) {
    el.textContent = "";
    var readout = document.createElement("p");
    readout.className = "readout";
    readout.setAttribute("aria-live", "polite");
    var legend = document.createElement("ul");
    legend.className = "legend";
    spec.series.forEach(function (s) {
      if (s.band) return;
      var item = document.createElement("li");
      var swatch = document.createElement("span");
      swatch.className = "swatch" + (s.dash ? " dashed" : "");
      swatch.style.borderColor = s.stroke;
      if (!s.dash) swatch.style.background = s.fill || s.stroke;
      item.appendChild(swatch);
      item.appendChild(document.createTextNode(" " + s.label));
      legend.appendChild(item);
    });
    var selectable = [];
    var pad = xs.length > 1 ? (xs[xs.length - 1] - xs[0]) / (xs.length - 1) / 2 : DAY;
    var options = {
      width: Math.max(el.clientWidth, 280),
      height: el.clientWidth < 500 ? 220 : 280,
      legend: { show: false },
      cursor: { drag: { x: false, y: false }, points: { size: 8 } },
      // Half a period of room on each side, so the first and last bars are drawn whole.
      scales: { x: { time: true, range: function () { return [xs[0] - pad, xs[xs.length - 1] + pad]; } },
                y: spec.range ? { range: spec.range } : { auto: true } },
      axes: [{}, { values: function (u, ticks) { return ticks.map(spec.yFormat); }, size: 50 }],
      series: [{}].concat(spec.series.map(function (s, i) {
        if (s.select) selectable.push(i + 1);
        return { label: s.label, stroke: s.stroke, fill: s.fill, width: s.width, dash: s.dash, paths: s.paths,
                 points: s.points, spanGaps: false };
      })),
      bands: spec.bands || [],
      plugins: [markersPlugin(data.markers)],
      hooks: { setCursor: [function (u) { describe(u.cursor.idx); }] },
    };
    var values = [xs].concat(spec.series.map(function (s) { return s.values; }));
    var u = new uPlot(options, values, el);
    el.appendChild(legend);
    el.appendChild(readout);
    var state = { idx: null, line: 0 };

    function describe(idx) {
      if (idx === null || idx === undefined) return;
      state.idx = idx;
      var parts = [data.periods.first_days[idx] + " to " + data.periods.last_days[idx]];
      spec.series.forEach(function (s, i) {
        if (s.band) return;
        var text = s.label + " " + spec.yFormat(s.values[idx]);
        var low = spec.series[i + 1], high = spec.series[i + 2];
        if (low && low.band && high && high.band && low.values[idx] !== null) {
          text += " (" + spec.yFormat(low.values[idx]) + "–" + spec.yFormat(high.values[idx]) + ")";
        }
        parts.push(text);
      });
      readout.textContent = parts.join(" · ");
    }

    function nearestLine(idx, top) {
      if (top === null || top === undefined || top < 0) return selectable[state.line] || selectable[0];
      var best = selectable[0], distance = Infinity;
      selectable.forEach(function (i) {
        var v = values[i][idx];
        if (v === null || v === undefined) return;
        var d = Math.abs(u.valToPos(v, "y") - top);
        if (d < distance) { distance = d; best = i; }
      });
      return best;
    }

    function open(idx, seriesIndex) {
      if (idx === null || idx === undefined) return;
      var params = new URLSearchParams(root.dataset.filters);
      params.set("from", data.periods.first_days[idx]);
      params.set("to", data.periods.last_days[idx]);
      var select = spec.series[seriesIndex - 1].select || {};
      Object.keys(select).forEach(function (k) { params.set(k, select[k]); });
      window.location.assign("/posts?" + params.toString());
    }

    u.over.addEventListener("click", function () {
      var idx = u.cursor.idx;
      open(idx, nearestLine(idx, u.cursor.top));
    });
    el.addEventListener("keydown", function (event) {
      var n = xs.length;
      if (event.key === "ArrowRight" || event.key === "ArrowLeft") {
        var step = event.key === "ArrowRight" ? 1 : -1;
        state.idx = state.idx === null ? (step > 0 ? 0 : n - 1) : Math.min(n - 1, Math.max(0, state.idx + step));
      } else if (event.key === "ArrowUp" || event.key === "ArrowDown") {
        state.line = (state.line + (event.key === "ArrowUp" ? 1 : selectable.length - 1)) % selectable.length;
        if (state.idx === null) state.idx = 0;
      } else if (event.key === "Enter") {
        open(state.idx === null ? 0 : state.idx, selectable[state.line]);
        return;
      } else {
        return;
      }
      event.preventDefault();
      var series = selectable[state.line];
      var v = values[series][state.idx];
      u.setCursor({ left: u.valToPos(xs[state.idx], "x"), top: v === null ? -10 : u.valToPos(v, "y") });
      describe(state.idx);
      readout.textContent += " · Enter: posts of " + spec.series[series - 1].label;
    });
    if (typeof ResizeObserver !== "undefined") {
      new ResizeObserver(function () {
        var width = Math.max(el.clientWidth, 280);
        if (Math.abs(width - u.width) > 4) u.setSize({ width: width, height: width < 500 ? 220 : 280 });
      }).observe(el);
    }
    u.stanceSelectable = selectable;
    return u;
  }
})();
