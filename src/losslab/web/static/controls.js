// The controls: the loss's source, start inputs, optimizer cards and their knobs, steps, speed, playback
// buttons, and the view tabs — filled from the catalogues and wired to what they change.
import { dropLater, later } from "./api.js";
import { $, say } from "./dom.js";
import { escapeHtml, fmt, round, shownName } from "./format.js";
import { live, saveUrl, state } from "./state.js";
import { colorOf } from "./plot-style.js";
import { redrawOverlay } from "./plots.js";
import { goTo, pause, play, renderFrame, scheduleRace } from "./race.js";
import { loadFits } from "./data-fit.js";
import { downloadCsv, fillTable } from "./table.js";
import { copyLink, exportGif, exportPng } from "./share.js";
import { computeLandscapes } from "./compare.js";

// The selects filled from the server's catalogues, the inputs from the state.
export function fillControls(gallery, optimizers, catalog) {
  const seeds = gallery.filter((g) => g.family === "seed");
  const tests = gallery.filter((g) => g.family !== "seed");
  const option = (g) => `<option value="${escapeHtml(g.name)}">${escapeHtml(g.title)} (${g.variables.length}-D)</option>`; // titles name no dimension
  $("gallery-select").innerHTML = `<optgroup label="From the lessons">${seeds.map(option).join("")}</optgroup>`
    + `<optgroup label="Test functions">${tests.map(option).join("")}</optgroup>`;
  $("gallery-select").value = state.gallery;
  describeGallery(gallery);
  $("optimizer-select").innerHTML = optimizers.map((o) => `<option value="${escapeHtml(o.name)}" title="${escapeHtml(o.summary)}">${escapeHtml(o.name)} — ${escapeHtml(o.summary)}</option>`).join("");
  $("model-select").innerHTML = catalog.models.map((m) => `<option value="${escapeHtml(m.name)}">${escapeHtml(m.title)}</option>`).join("");
  $("synthetic-select").innerHTML = `<option value="pasted">pasted points (below)</option>`
    + catalog.synthetic.map((s) => `<option value="${escapeHtml(s)}">${escapeHtml(s.replaceAll("_", " "))} (made on the spot)</option>`).join("");
  $("model-select").value = state.data.model;
  $("synthetic-select").value = state.data.synthetic;
  $("points-input").value = state.data.points;
  $("points-input").hidden = state.data.synthetic !== "pasted";
  $("data-apply").hidden = state.data.synthetic !== "pasted";
  $("formula-input").value = state.formula;
  $("steps-input").value = state.steps;
  $("speed-input").value = state.speed;
  showSpeed();
  showSource();
}

// Boxes about to be redrawn away. Chrome sends a focused box's pending change while it removes it, after
// the newer value (a click on the map, a new loss's rates) is set: such a change is the older edit, dropped.
function retire(container) {
  for (const el of container.querySelectorAll("input")) el.dataset.retired = "1";
}

export function renderStartInputs() {
  retire($("start-inputs"));
  const info = live.info;
  if (!info || !state.start || state.start.length !== info.dim) { $("start-inputs").innerHTML = '<p class="hint">Choosing a start…</p>'; return; }
  $("start-inputs").innerHTML = info.names.map((n, i) =>
    `<label class="field">${escapeHtml(shownName(n))} <input type="number" step="any" data-index="${i}" value="${escapeHtml(state.start[i])}" aria-label="start ${escapeHtml(n)}"></label>`).join("");
  $("start-hint").textContent = info.dim === 1 ? "…or click the curve." : info.dim === 2 ? "…or click the contour map." : "";
  for (const input of $("start-inputs").querySelectorAll("input")) {
    input.addEventListener("change", () => {
      if (input.dataset.retired || info !== live.info) return;
      const v = Number(input.value);
      if (!Number.isFinite(v)) { say(`start ${info.names[input.dataset.index]} must be a number`, true); return; }
      state.start[Number(input.dataset.index)] = v;
      scheduleRace();
      renderFrame(); // the start's mark moves now, its race when it comes
    });
  }
}

// A click on the curve or the map sets the start point.
export function pickStart(point) {
  state.start = point;
  renderStartInputs();
  scheduleRace();
  renderFrame();
}

function knobsOf(name) {
  const entry = live.optimizers.find((o) => o.name === name);
  return entry ? entry.knobs : [];
}
function knobValue(runner, knob) {
  const v = runner.hyper[knob.name];
  if (v === undefined) return knob.default;
  return knob.index === null ? v : v[knob.index];
}
function setKnob(runner, knob, value) {
  if (knob.index === null) { runner.hyper[knob.name] = value; return; }
  const pair = knobsOf(runner.name).filter((k) => k.name === knob.name).map((k) => knobValue(runner, k));
  pair[knob.index] = value;
  runner.hyper[knob.name] = pair;
}

export function renderRunners() {
  const list = $("runner-list");
  retire(list);
  list.innerHTML = "";
  state.runners.forEach((runner, i) => {
    const card = document.createElement("div");
    card.className = "runner";
    card.style.borderLeftColor = colorOf(i);
    const name = escapeHtml(runner.name);
    card.innerHTML = `<div class="runner-head"><strong>${name}</strong>
      <button type="button" class="remove" aria-label="remove ${name}" title="Remove">×</button></div>`;
    for (const knob of knobsOf(runner.name)) card.append(...knobControl(runner, knob, i));
    card.querySelector(".remove").addEventListener("click", () => {
      state.runners.splice(i, 1);
      renderRunners();
      scheduleRace();
    });
    list.append(card);
  });
}

function knobControl(runner, knob, i) {
  const label = document.createElement("label");
  label.className = "knob";
  const title = escapeHtml(knob.index === null ? knob.name : `${knob.name}[${knob.index}]`);
  const name = escapeHtml(runner.name);
  const value = knobValue(runner, knob);
  const toSlider = (v) => (knob.log ? Math.log10(v) : v);
  const fromSlider = (s) => (knob.log ? Number((10 ** s).toPrecision(3)) : Number(Number(s).toPrecision(4)));
  const [lo, hi] = [toSlider(knob.min), toSlider(knob.max)];
  label.innerHTML = `<span>${title}</span><input type="range" min="${lo}" max="${hi}" step="${(hi - lo) / 200}" value="${escapeHtml(toSlider(value))}"
    aria-label="${name} ${title}${knob.log ? " (log scale)" : ""}">
    <input type="number" step="any" value="${escapeHtml(value)}" aria-label="${name} ${title} value" data-testid="knob-${i}-${title}">`;
  const [slider, box] = label.querySelectorAll("input");
  let hint = null; // the learning rate's hint, below
  const set = (v) => { box.value = v; slider.value = toSlider(v); setKnob(runner, knob, v); showLrHint(runner, hint, v); scheduleRace(); };
  slider.addEventListener("input", () => set(fromSlider(slider.value)));
  box.addEventListener("change", () => {
    const v = Number(box.value);
    if (Number.isFinite(v) && !box.dataset.retired) set(v);
  });
  if (knob.name !== "lr") return [label];
  // Under the learning rate: the loss's 2/λmax and the rate suggested for this optimizer (a click takes it).
  hint = document.createElement("p");
  hint.className = "lr-hint";
  hint.dataset.testid = `lr-hint-${i}`;
  hint.addEventListener("click", (event) => { if (event.target.closest("button")) set(Number(event.target.closest("button").dataset.lr)); });
  showLrHint(runner, hint, value);
  return [label, hint];
}

// The hints again (the analysis or the suggestion arrived), in place: a box being typed into keeps its text.
export function refreshLrHints() {
  state.runners.forEach((runner, i) => {
    const hint = document.querySelector(`[data-testid="lr-hint-${i}"]`);
    if (hint) showLrHint(runner, hint, runner.hyper.lr);
  });
}

function showLrHint(runner, hint, lr) {
  const found = live.suggestion;
  if (!hint || !found) { if (hint) hint.innerHTML = ""; return; }
  // 2/λmax: the analysis's figure (the one its panel shows) once it is there, else the suggestion's
  const figure = live.analysis && live.analysis.max_stable_lr !== null ? live.analysis.max_stable_lr : found.max_stable_lr;
  const stable = figure === null || figure === undefined ? null : Number(figure);
  const suggested = found.lrs[runner.name];
  const plain = runner.name === "gd" || runner.name === "sgd";
  const over = plain && stable !== null && lr >= stable; // gradient descent diverges near the minimum
  hint.classList.toggle("over", over);
  hint.innerHTML = `<span title="the largest stable learning rate of gradient descent near the minimum">2/λmax ${stable === null ? "—" : fmt(round(stable))}</span>`
    + (suggested === undefined ? "" : ` · <button type="button" class="link" data-lr="${escapeHtml(suggested)}" title="use the suggested learning rate">suggested ${fmt(suggested)}</button>`)
    + (over ? " · above 2/λmax: diverges near the minimum" : "");
}

function addRunner(name) {
  const hyper = {};
  for (const knob of knobsOf(name)) setKnob({ name, hyper }, knob, knob.default);
  const suggested = live.suggestion && live.suggestion.lrs[name];
  if (suggested !== undefined && suggested !== null) hyper.lr = suggested; // the rate that suits the loss shown
  state.runners.push({ name, hyper });
  renderRunners();
  scheduleRace();
}

// A new model keeps the data set only if it fits the model (the catalogue says which do: a classifier
// needs 0/1 labels); else the model's own data set comes with it. Pasted points stay (the server checks them).
function fitDataToModel() {
  const model = live.catalog.models.find((m) => m.name === state.data.model);
  const chosen = $("synthetic-select").value;
  if (!model || chosen === "pasted" || model.suitable.includes(chosen)) return;
  $("synthetic-select").value = model.data;
  $("data-note").textContent = `Data: ${model.data.replaceAll("_", " ")}, which fits the ${model.title.split("  ")[0]} `
    + `(${chosen.replaceAll("_", " ")} does not).`;
}

function showSource() {
  for (const s of ["gallery", "formula", "data", "classifier"]) $(`src-${s}`).hidden = state.source !== s;
  fillClassifiers();
  for (const radio of document.querySelectorAll('input[name="source"]')) radio.checked = radio.value === state.source;
}

// Every classifier on every data set of the plane (from /api/catalog), e.g. "hypersphere classifier … on ring".
function fillClassifiers() {
  const select = $("classifier-select");
  const { classifiers, plane_data: sets } = live.catalog;
  if (!select.options.length) {
    select.innerHTML = classifiers.flatMap((c) => sets.map((d) => `<option value="${escapeHtml(`${c.name}:${d}`)}">`
      + `${escapeHtml(c.title.split("  ")[0])} on ${escapeHtml(d)}${d === c.data ? "" : " (the other's data)"}</option>`)).join("");
  }
  select.value = `${state.classifier.model}:${state.classifier.data}`;
}

function describeGallery(items) {
  const item = items.find((g) => g.name === state.gallery);
  $("gallery-description").textContent = item ? `${item.formula} — ${item.description}` : "";
}

const showSpeed = () => { $("speed-label").textContent = `${state.speed} steps/s`; };

function showTab(name) {
  $("view-explore").hidden = name !== "explore";
  $("view-compare").hidden = name !== "compare";
  $("tab-explore").classList.toggle("active", name === "explore");
  $("tab-compare").classList.toggle("active", name === "compare");
  $("tab-explore").setAttribute("aria-selected", String(name === "explore"));
  $("tab-compare").setAttribute("aria-selected", String(name === "compare"));
  window.dispatchEvent(new Event("resize"));
  if (name === "compare" && !$("plot-bowl").data) computeLandscapes();
}

// loadObjective: (re)loads the loss after its source changed (main passes it: the loss's loading renders these controls).
export function wireControls(gallery, loadObjective) {
  $("compute-landscape").addEventListener("click", () => computeLandscapes());
  for (const radio of document.querySelectorAll('input[name="source"]')) {
    radio.addEventListener("change", () => { state.source = radio.value; showSource(); newLoss(); });
  }
  $("gallery-select").addEventListener("change", (e) => {
    state.gallery = e.target.value; describeGallery(gallery); newLoss();
  });
  $("formula-input").addEventListener("input", (e) => {
    state.formula = e.target.value;
    later("formula", newLoss, 300);
  });
  // Another loss: its own start and learning rates (the server's suggestion), then everything else.
  const newLoss = () => {
    dropLater("formula");
    state.start = null;
    state.slice = null;
    live.suggestLr = true;
    loadObjective();
  };
  const dataChanged = (event) => {
    $("data-note").textContent = "";
    state.data.model = $("model-select").value;
    state.data.points = $("points-input").value;
    if (event && event.target === $("model-select")) fitDataToModel();
    state.data.synthetic = $("synthetic-select").value;
    $("points-input").hidden = state.data.synthetic !== "pasted";
    $("data-apply").hidden = state.data.synthetic !== "pasted";
    newLoss();
  };
  $("classifier-select").addEventListener("change", (e) => {
    const [model, data] = e.target.value.split(":");
    state.classifier = { model, data };
    newLoss();
  });
  $("model-select").addEventListener("change", dataChanged);
  $("synthetic-select").addEventListener("change", dataChanged);
  $("data-apply").addEventListener("click", dataChanged);
  $("add-optimizer").addEventListener("click", () => addRunner($("optimizer-select").value));
  $("steps-input").addEventListener("change", (e) => {
    const v = Math.round(Number(e.target.value));
    if (!(v >= 1)) return;
    state.steps = v;
    scheduleRace();
  });
  $("speed-input").addEventListener("input", (e) => { state.speed = Number(e.target.value); showSpeed(); if (live.playing) play(); saveUrl(); });
  $("btn-play").addEventListener("click", () => (live.playing ? pause() : play()));
  $("btn-forward").addEventListener("click", () => goTo(live.step + 1));
  $("btn-back").addEventListener("click", () => goTo(live.step - 1));
  $("btn-reset").addEventListener("click", () => goTo(0));
  $("btn-csv").addEventListener("click", downloadCsv);
  $("btn-png").addEventListener("click", exportPng);
  $("btn-gif").addEventListener("click", exportGif);
  $("data-runner").addEventListener("change", (e) => { live.dataRun = Number(e.target.value); loadFits(); });
  $("btn-link").addEventListener("click", copyLink);
  $("table-runner").addEventListener("change", fillTable);
  $("taylor-toggle").addEventListener("change", redrawOverlay);
  $("tab-explore").addEventListener("click", () => showTab("explore"));
  $("tab-compare").addEventListener("click", () => showTab("compare"));
}
