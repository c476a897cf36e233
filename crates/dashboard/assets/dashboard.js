// dialout dashboard: the state charts. Everything else is plain HTML and htmx attributes.
(function () {
  "use strict";
  // One hue per kind of state, darker or lighter per state; the legend names each state.
  var shades = {
    ok: ["#1b7f3b", "#3fa45f", "#7cc893"],
    fail: ["#b3261e", "#d9534f", "#e88a86", "#f2b8b5", "#8c1d18"],
    wait: ["#8a6d00", "#c79a00", "#e6c34d", "#f2dc8c"],
    busy: ["#1f5fa8", "#4a86c8", "#86b1e0", "#b9d3ef", "#14457d"],
  };
  function draw(canvas, data) {
    if (typeof Chart === "undefined") return;
    var used = {};
    var datasets = data.series.map(function (s) {
      var list = shades[s.category] || shades.busy;
      var i = used[s.category] || 0;
      used[s.category] = i + 1;
      return {
        label: s.state,
        data: s.counts,
        backgroundColor: list[i % list.length],
        borderColor: "#ffffff",
        borderWidth: 1,
      };
    });
    new Chart(canvas, {
      type: "bar",
      data: { labels: data.labels, datasets: datasets },
      options: {
        animation: false,
        maintainAspectRatio: false,
        scales: {
          x: { stacked: true },
          y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } },
        },
        plugins: { legend: { position: "bottom" } },
      },
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll(".chart-data").forEach(function (el) {
      var canvas = el.parentElement.querySelector("canvas.state-chart");
      if (canvas) draw(canvas, JSON.parse(el.textContent));
    });
  });
})();
