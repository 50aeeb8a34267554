// The loss shown: loading it (/api/objective), the start and learning rates that suit it (/api/suggest),
// and, for each new loss, its surface, analysis, race and fits.
import { cancel, isStale, latest } from "./api.js";
import { $, report, say } from "./dom.js";
import { live, objectiveSpec, state } from "./state.js";
import { shownName } from "./format.js";
import { drawLandscape, drawLoss } from "./plots.js";
import { pause, redrawRun, renderFrame, runRace } from "./race.js";
import { loadFits } from "./data-fit.js";
import { loadBoundary } from "./boundary.js";
import { hideSlice, loadSliceAndLevels } from "./slice.js";
import { loadAnalysis } from "./analysis.js";
import { refreshLrHints, renderRunners, renderStartInputs } from "./controls.js";
import { resetInspector } from "./inspector.js";
import { renderTable } from "./table.js";

export async function loadObjective() {
  const version = ++live.version;
  const spec = objectiveSpec();
  pause();
  let info;
  try {
    info = await latest("objective", "/api/objective", { objective: spec });
  } catch (error) {
    if (!isStale(error) && version === live.version) { showObjectiveError(error); clearStage(error.message); }
    return;
  }
  if (version !== live.version) return;
  showObjectiveError(null);
  live.info = info;
  live.spec = spec;
  live.problem = "";
  live.race = null;
  live.step = 0;
  resetInspector();
  $("objective-title").textContent = `L(${info.names.map(shownName).join(", ")}) — ${info.title}`;
  showUnderstood(info);
  const gifButton = $("btn-gif");
  gifButton.disabled = info.dim > 2;
  gifButton.title = info.dim > 2 ? `A GIF shows a loss of 1 or 2 parameters; this one has ${info.dim}.` : "The race as an animated GIF, drawn on the server";
  live.suggestion = null;
  renderStartInputs(); // "Choosing a start…" until the suggestion comes, for a new loss
  refreshLrHints();
  loadFits();
  loadBoundary();
  renderTable();
  drawLoss();
  const surface = loadSurface(version);
  renderFrame(); // no step, no numbers: this loss has no race yet
  loadAnalysis(version);
  if (!(await suggest(version, info))) return;
  renderStartInputs();
  renderRunners();
  await Promise.all([surface, runRace(), loadSliceAndLevels()]); // for 3+ parameters: the slice through the start
}

// The server's defaults for this loss (a start off its stationary points and kinks, learning rates below
// 2/λmax). They replace the start when there is none (a new loss) and none was picked on the map while
// they were asked for, and the learning rates after the loss was changed on the page (not those a link
// gave, nor one typed while they were asked for). False when a newer loss took over meanwhile.
async function suggest(version, info) {
  const needStart = !state.start || state.start.length !== info.dim;
  const before = state.start; // a click on the map meanwhile (pickStart) puts a new array here: the user's wins
  const ratesBefore = new Map(state.runners.map((runner) => [runner, runner.hyper.lr])); // and a rate typed meanwhile
  const asked = latest("suggest", "/api/suggest", { objective: live.spec }).catch((error) => (isStale(error) ? null : error));
  if (!needStart && !live.suggestLr) {
    asked.then((found) => { if (version === live.version && found && !(found instanceof Error)) { live.suggestion = found; refreshLrHints(); } });
    return true;
  }
  say("Choosing a start and learning rates that suit this loss…");
  const found = await asked;
  if (version !== live.version) return false;
  say("");
  const takeStart = needStart && state.start === before;
  if (found && !(found instanceof Error)) {
    live.suggestion = found;
    if (takeStart) state.start = found.start;
    if (live.suggestLr) {
      for (const runner of state.runners) {
        const untouched = !ratesBefore.has(runner) || ratesBefore.get(runner) === runner.hyper.lr;
        if (untouched && found.lrs[runner.name] !== undefined) runner.hyper.lr = found.lrs[runner.name];
      }
    }
  } else {
    if (found) say(`No suggested start (${found.message}); starting from the middle of the box.`, true);
    if (takeStart) state.start = middleOf(info);
  }
  live.suggestLr = false;
  return true;
}

function middleOf(info) {
  return info.domain.map(([lo, hi]) => Number(((lo + hi) / 2).toPrecision(3)));
}

// The formula as the parser read it, under the box, when it differs from what was typed (e.g. x^2 → x**2).
function showUnderstood(info) {
  const el = $("formula-understood");
  const read = state.source === "formula" ? info.understood : null;
  const typed = state.formula.replace(/\s+/g, "");
  el.textContent = read && read.replace(/\s+/g, "") !== typed ? `read as: ${read}` : "";
}

// The loss could not be built: nothing of the previous loss stays on the page as if it were this one.
function clearStage(problem) {
  cancel("surface"); cancel("race"); cancel("analysis"); cancel("suggest"); cancel("fit");
  Object.assign(live, { info: null, spec: null, problem, surface: null, race: null, analysis: null, suggestion: null, fits: null, step: 0, energyPath: null });
  $("connect-panel").hidden = true;
  hideSlice();
  resetInspector();
  $("objective-title").textContent = "No loss to show";
  $("formula-understood").textContent = "";
  $("start-inputs").innerHTML = "";
  $("analysis").innerHTML = '<p class="hint">No loss to analyse.</p>';
  renderRunners(); // without the previous loss's 2/λmax and suggested rates
  redrawRun();
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
  if (info.dim <= 2) hideSlice(); // a loss of 3+ parameters gets its slice once its start is known
  cancel("surface");
  drawLandscape(); // empties the previous loss's plots at once
  if (info.dim <= 2) {
    const points = info.dim === 1 ? 401 : 121;
    const surface = await latest("surface", "/api/surface", { objective: live.spec, points }).catch(report);
    if (version !== live.version || !surface) return;
    live.surface = surface;
  }
  drawLandscape();
}
