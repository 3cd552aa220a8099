// Tradewind UI: collapsible task groups, the details panel, live refresh. No build step.
(function () {
  "use strict";
  const csrf = () => (document.querySelector('input[name="csrf_token"]') || {}).value || "";

  document.addEventListener("submit", (ev) => {
    const msg = ev.target.getAttribute("data-confirm");
    if (msg && !window.confirm(msg)) ev.preventDefault();
  });

  // A <select class="autosubmit"> submits its form when changed (no inline handlers: CSP).
  document.addEventListener("change", (ev) => {
    if (ev.target.matches && ev.target.matches("select.autosubmit") && ev.target.form) ev.target.form.submit();
  });

  // Log view: show only lines at or above the chosen level (the panel is loaded late: delegate).
  const LEVELS = ["debug", "info", "warning", "error", "critical"];
  document.addEventListener("change", (ev) => {
    const select = ev.target.closest && ev.target.closest("select.log-level");
    if (!select) return;
    const lowest = LEVELS.indexOf(select.value);
    const log = select.closest(".ti-detail").querySelector("#log");
    log.querySelectorAll(".line").forEach((line) => {
      const rank = LEVELS.indexOf(line.dataset.level || "info");
      line.classList.toggle("hidden", rank >= 0 && rank < lowest);
    });
  });

  // Task groups: hide or show every row whose ancestors include the group.
  document.querySelectorAll(".group-toggle").forEach((btn) => {
    btn.addEventListener("click", () => {
      const id = btn.dataset.group;
      const collapse = !btn.classList.contains("collapsed");
      btn.classList.toggle("collapsed", collapse);
      btn.textContent = (collapse ? "▸ " : "▾ ") + id;
      document.querySelectorAll("tr[data-groups]").forEach((tr) => {
        if (tr.dataset.groups.split(" ").includes(id)) tr.classList.toggle("hidden", collapse);
      });
    });
  });

  const grid = document.getElementById("grid");
  const panel = document.getElementById("details");
  if (grid && panel) {
    const dagId = grid.dataset.dagId;
    const base = "/dags/" + encodeURIComponent(dagId);
    grid.addEventListener("click", async (ev) => {
      const cell = ev.target.closest("a.cell");
      if (!cell) return;
      ev.preventDefault();
      const q = new URLSearchParams({ run_id: cell.dataset.runId, task_id: cell.dataset.taskId });
      const resp = await fetch(base + "/ti?" + q, { headers: { "X-CSRF-Token": csrf() } });
      panel.innerHTML = resp.ok ? await resp.text() : "<p class='error'>Could not load the task instance.</p>";
      history.replaceState(null, "", "?" + q + "#details");
      panel.scrollIntoView({ behavior: "smooth" });
    });

    // Live refresh: while a run is queued or running, poll its states and recolour cells.
    const runIds = Array.from(grid.querySelectorAll("a.run-bar")).map((a) => a.dataset.runId);
    let active = grid.dataset.active === "true";
    // setAttribute, not className: the run bars are SVG elements.
    const recolour = (el, state) => {
      el.setAttribute("class", (el.getAttribute("class") || "").replace(/state-\S+/, "state-" + (state || "none")));
    };
    async function poll() {
      if (!active || document.hidden) return;
      const q = new URLSearchParams();
      runIds.forEach((r) => q.append("run_id", r));
      const resp = await fetch(base + "/states.json?" + q);
      if (!resp.ok) return;
      const data = await resp.json();
      for (const [runId, run] of Object.entries(data.runs)) {
        grid.querySelectorAll('rect.run-cell[data-run-id="' + CSS.escape(runId) + '"]').forEach((el) => recolour(el, run.state));
        for (const [taskId, ti] of Object.entries(run.tasks)) {
          const sel = 'a.cell[data-run-id="' + CSS.escape(runId) + '"][data-task-id="' + CSS.escape(taskId) + '"]';
          grid.querySelectorAll(sel).forEach((el) => recolour(el, ti.state));
        }
      }
      const open = panel.querySelector(".ti-detail");
      if (open) {
        const ti = (data.runs[open.dataset.runId] || { tasks: {} }).tasks[open.dataset.taskId];
        const label = document.getElementById("ti-state");
        if (ti && label && label.textContent !== (ti.state || "no state")) {
          const q2 = new URLSearchParams({ run_id: open.dataset.runId, task_id: open.dataset.taskId });
          const r2 = await fetch(base + "/ti?" + q2);
          if (r2.ok) panel.innerHTML = await r2.text();
        }
      }
      active = data.active;
    }
    setInterval(poll, 3000);
    // One more poll shortly after load catches a run that finished while the page rendered.
    setTimeout(() => { active = true; poll(); }, 1500);
  }

  const graph = document.getElementById("graph");
  if (graph && graph.dataset.runId) {
    let active = graph.dataset.active === "true";
    const base = "/dags/" + encodeURIComponent(graph.dataset.dagId);
    setInterval(async () => {
      if (!active || document.hidden) return;
      const resp = await fetch(base + "/states.json?" + new URLSearchParams({ run_id: graph.dataset.runId }));
      if (!resp.ok) return;
      const data = await resp.json();
      const run = data.runs[graph.dataset.runId];
      if (!run) return;
      for (const [taskId, ti] of Object.entries(run.tasks)) {
        const rect = graph.querySelector('g[data-task-id="' + CSS.escape(taskId) + '"] rect');
        if (rect) rect.setAttribute("class", "state-" + (ti.state || "none"));
      }
      active = data.active;
    }, 3000);
  }
})();
