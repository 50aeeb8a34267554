// Bowl vs mountains: the server's landscape job (a convex bowl beside a network's loss), polled and drawn in 3-D.
/* global Plotly */
import { api } from "./api.js";
import { $ } from "./dom.js";
import { plottable } from "./format.js";
import { axisTitle, baseLayout, config } from "./plot-style.js";
import { basinColouring, basinMarks3d, drawTree, showSummary } from "./basins.js";

let landscapeRunning = false;
export async function computeLandscapes() {
  if (landscapeRunning) return;
  landscapeRunning = true;
  $("compute-landscape").disabled = true;
  try {
    let job = await api("/api/landscape/jobs", { points: 41, span: 1.0, seed: 0 });
    while (job.status === "queued" || job.status === "running") {
      $("landscape-progress").value = job.progress;
      $("landscape-message").textContent = `${Math.round(job.progress * 100)}% — ${job.message}`;
      await new Promise((resolve) => setTimeout(resolve, 300));
      job = await api(`/api/landscape/jobs/${job.id}`);
    }
    if (job.status === "failed") throw new Error(job.message);
    $("landscape-progress").value = 1;
    $("landscape-message").textContent = "done";
    // each surface's measured non-convexity under its title (0 % and 1 local minimum for the bowl)
    const measured = (figures) => (figures ? `<br><sub>${figures.text}</sub>` : "");
    const r = job.result;
    drawSurface3d($("plot-bowl"), r.bowl, `Bowl: ${r.bowl_title}${measured(r.bowl_nonconvexity)}`, r.bowl_basins);
    drawSurface3d($("plot-mountains"), r.network,
      `Mountains: ${r.network_title}${measured(r.network_nonconvexity)}`, r.network_basins);
    // each surface's basins and merge tree under it, in the colours of the surface
    drawTree($("tree-bowl"), r.bowl_basins, r.bowl.max, "Bowl");
    drawTree($("tree-mountains"), r.network_basins, r.network.max, "Mountains");
    showSummary("basins-bowl", r.bowl_basins);
    showSummary("basins-mountains", r.network_basins);
  } catch (error) {
    $("landscape-message").textContent = `failed: ${error.message}`;
  } finally {
    landscapeRunning = false;
    $("compute-landscape").disabled = false;
  }
}

function drawSurface3d(el, grid, title, shape) {
  const [nx, ny] = grid.names;
  const values = grid.values.map((row) => row.map(plottable));
  // coloured by basin: each point in the colour of the minimum it drains to (the level curves stay grey)
  Plotly.react(el, [{ type: "surface", x: grid.axes[0], y: grid.axes[1], z: values, colorscale: "Viridis", showscale: false,
    contours: { z: { show: true, color: "#555", project: { z: true } } }, ...basinColouring(shape),
    hovertemplate: `${nx}=%{x:.3g}<br>${ny}=%{y:.3g}<br>L=%{z:.4g}<extra></extra>` }, ...basinMarks3d(shape)],
  baseLayout({ title: { text: title, font: { size: 14 } }, margin: { l: 0, r: 0, t: 40, b: 0 },
    // one box shape for both panels: with Plotly's data-proportioned default, a loss that rises to 6 over a
    // [−1, 1]² plane makes a tower taller than the panel, its axes cut off
    scene: { xaxis: { title: axisTitle(nx) }, yaxis: { title: axisTitle(ny) }, zaxis: { title: axisTitle("L") },
      camera: { eye: { x: 1.6, y: -1.6, z: 1.0 } }, aspectmode: "manual", aspectratio: { x: 1, y: 1, z: 0.7 } } }), config);
}
