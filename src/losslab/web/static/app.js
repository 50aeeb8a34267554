// losslab explorer, the entry module (main): the page draws and animates; every number comes from the JSON API.
// It loads the catalogues, fills and wires the controls, connects the plots to the race, the controls and
// the inspector, and loads the first loss. The other modules sit beside it in /static/, one concern each.
/* global Plotly */
import { api, busy, pending } from "./api.js";
import { $, say } from "./dom.js";
import { live, loadUrl, state } from "./state.js";
import { onLandscape } from "./plots.js";
import { renderFrame } from "./race.js";
import { inspect } from "./inspector.js";
import { fillControls, pickStart, wireControls } from "./controls.js";
import { loadObjective } from "./objective.js";
import { initLessons, lessons } from "./lessons.js";
import { wireConnect } from "./connect.js";
import { wireBoundary } from "./boundary.js";
import { wireSlice } from "./slice.js";

async function main() {
  loadUrl();
  const [gallery, optimizers, catalog] = await Promise.all([api("/api/gallery"), api("/api/optimizers"), api("/api/catalog")]);
  live.optimizers = optimizers;
  live.catalog = catalog;
  fillControls(gallery, optimizers, catalog);
  onLandscape({ pick: pickStart, hover: inspect, drawn: renderFrame });
  wireControls(gallery, loadObjective);
  wireConnect();
  wireBoundary();
  wireSlice();
  initLessons(); // a link with ?lesson=ID&step=N opens that step once the lesson loads
  // The panel's size follows the grid (beside the curve, under the map, alone), not only the window.
  new ResizeObserver(() => { if ($("plot-data").data) Plotly.Plots.resize($("plot-data")); }).observe($("plot-data"));
  await loadObjective();
  document.body.dataset.ready = "1";
}

// For the browser tests and the console: the state, what the page holds, and whether it waits for anything
// (a request, debounced work, a drawing). Reading it changes nothing.
window.losslab = { state, live, lessons, idle: () => !busy() && live.drawing === 0, pending: () => ({ ...pending(), drawing: live.drawing }) };

main().catch((error) => say(`The explorer could not start: ${error.message}`, true));
