// Tradewind UI: mapped tasks in the grid's details panel. Opening a mapped task lists its
// instances; a map index opens that instance's panel (log, XCom, rendered fields), and
// "all mapped instances" goes back to the list. No build step, no inline script.
(function () {
  "use strict";
  // Live refresh (app.js) hands a mapped cell its instances' counts by state.
  window.tradewindMapped = {
    recount(cell, counts) {
      const items = Object.entries(counts).sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
      const summary = items.map(([state, n]) => n + " " + state).join(", ");
      const total = items.reduce((sum, [, n]) => sum + n, 0);
      cell.dataset.counts = summary;
      cell.title = cell.dataset.taskId + " · " + total + " mapped: " + summary;
      const label = cell.querySelector(".map-count");
      if (label) label.textContent = String(total);
    },
  };

  const grid = document.getElementById("grid");
  const panel = document.getElementById("details");
  if (!grid || !panel) return;
  const base = "/dags/" + encodeURIComponent(grid.dataset.dagId);

  async function show(runId, taskId, mapIndex) {
    const q = new URLSearchParams({ run_id: runId, task_id: taskId });
    if (mapIndex !== null && mapIndex !== undefined && Number(mapIndex) >= 0) {
      q.set("map_index", String(mapIndex));
    }
    const resp = await fetch(base + "/ti?" + q);
    panel.innerHTML = resp.ok ? await resp.text() : "<p class='error'>Could not load the task instance.</p>";
    history.replaceState(null, "", "?" + q + "#details");
  }

  panel.addEventListener("click", (ev) => {
    const link = ev.target.closest("a.mapped-instance, a.mapped-back");
    if (!link) return;
    const box = panel.querySelector(".mapped-list, .ti-detail");
    if (!box) return;
    ev.preventDefault();
    const mapIndex = link.classList.contains("mapped-back") ? null : link.dataset.mapIndex;
    show(box.dataset.runId, box.dataset.taskId, mapIndex);
  });
})();
