// The loss shown: loading it (/api/objective) and, for each new loss, its surface, analysis, race and fits.
import { cancel, isStale, latest } from "./api.js";
import { $, report, say } from "./dom.js";
import { live, objectiveSpec, state } from "./state.js";
import { drawLandscape } from "./plots.js";
import { runRace } from "./race.js";
import { loadFits } from "./data-fit.js";
import { loadAnalysis } from "./analysis.js";
import { renderRunners, renderStartInputs } from "./controls.js";

export async function loadObjective() {
  const version = ++live.version;
  let info;
  try {
    info = await latest("objective", "/api/objective", { objective: objectiveSpec() });
  } catch (error) {
    if (!isStale(error)) showObjectiveError(error);
    return;
  }
  if (version !== live.version) return;
  showObjectiveError(null);
  live.info = info;
  live.taylor = null;
  $("objective-title").textContent = `L(${info.names.join(", ")}) — ${info.title}`;
  if (!state.start || state.start.length !== info.dim) state.start = defaultStart(info);
  renderStartInputs();
  renderRunners();
  const gifButton = $("btn-gif");
  gifButton.disabled = info.dim > 2;
  gifButton.title = info.dim > 2 ? `A GIF shows a loss of 1 or 2 parameters; this one has ${info.dim}.` : "The race as an animated GIF, drawn on the server";
  live.race = null;
  loadFits();
  const tasks = [loadSurface(version), runRace()];
  loadAnalysis(version);
  await Promise.all(tasks);
}

function defaultStart(info) {
  const inside = info.domain.every(([lo, hi]) => lo <= 0 && 0 <= hi);
  return info.domain.map(([lo, hi]) => (inside ? 0 : Number(((lo + hi) / 2).toPrecision(3))));
}

function showObjectiveError(error) {
  const box = state.source === "data" ? $("data-error") : $("formula-error");
  $("formula-error").textContent = "";
  $("data-error").textContent = "";
  if (!error) { say(""); return; }
  if (state.source === "formula" && error.body && error.body.column) {
    const caret = " ".repeat(Math.max(0, error.body.column - 1)) + "^";
    box.textContent = `${state.formula}\n${caret}\n${error.message}`;
  } else if (state.source === "gallery") {
    say(error.message, true);
  } else {
    box.textContent = error.message;
  }
}

async function loadSurface(version) {
  const info = live.info;
  live.surface = null;
  cancel("surface");
  if (info.dim <= 2) {
    const points = info.dim === 1 ? 401 : 121;
    const surface = await latest("surface", "/api/surface", { objective: objectiveSpec(), points }).catch(report);
    if (version !== live.version || !surface) return;
    live.surface = surface;
  }
  drawLandscape();
}
