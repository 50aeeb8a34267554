// The Lessons tab: a lesson's steps one at a time (text with formulas, questions checked by the server) beside
// the explorer's own stage, set up for the step: the step's view becomes the explorer's state (loss, start,
// optimizers, steps) and the explorer draws it, so a lesson's picture is the explorer's picture.
// Progress is kept in localStorage and in the URL (?lesson=ID&step=N): a link resumes a lesson at a step.
/* global Plotly */
import { api } from "./api.js";
import { $, say } from "./dom.js";
import { escapeHtml } from "./format.js";
import { live, state } from "./state.js";
import { loadObjective } from "./objective.js";
import { onLandscape } from "./plots.js";
import { pickStart } from "./controls.js";
import { pause, play, scheduleRace } from "./race.js";
import { lessonHtml, mathHtml } from "./lessons-text.js";

const STORE = "losslab.lessons";
export const lessons = { list: [], lesson: null, step: 0, open: false, clickFor: null };
const KIND_NOTE = {
  curve: "The curve of the loss: press ▶ Play to run the optimizers, or click the curve to start elsewhere.",
  contour: "The contour map (and the 3-D surface beside it): press ▶ Play, or click the map to start elsewhere.",
  "3d": "Turn the 3-D surface with the mouse; the contour map beside it is the same loss seen from above.",
  race: "The optimizers race from the same start: press ▶ Play and watch the loss chart below the picture.",
  boundary: "A model fitted to data: the panel on the right shows the data and the model's fit at the step shown.",
  levels: "A loss of three parameters: its nested level surfaces L = c, with ∇L as arrows normal to them. Turn it with the mouse.",
};

function saved() {
  try { return JSON.parse(localStorage.getItem(STORE) || "{}") || {}; } catch { return {}; }
}
function remember(change) {
  const all = saved();
  const mine = all[lessons.lesson.id] || { step: 0, right: [] };
  change(mine);
  all[lessons.lesson.id] = mine;
  try { localStorage.setItem(STORE, JSON.stringify(all)); } catch { /* private mode: the URL still holds the step */ }
}
function showUrl() {
  const query = lessons.open && lessons.lesson ? `?lesson=${encodeURIComponent(lessons.lesson.id)}&step=${lessons.step + 1}` : location.pathname;
  history.replaceState(null, "", query + location.hash);
}

// The explorer's stage and playback move into the lesson while it is open, and back when it closes.
function moveStage(intoLesson) {
  const stage = $("stage");
  const run = $("sec-run");
  if (intoLesson) { $("lesson-stage").append(run, stage); return; }
  $("view-explore").append(stage);
  $("controls").insertBefore(run, $("sec-share"));
}

function showTab(open) {
  lessons.open = open;
  $("view-lessons").hidden = !open;
  $("tab-lessons").classList.toggle("active", open);
  $("tab-lessons").setAttribute("aria-selected", String(open));
  if (open) {
    for (const name of ["explore", "compare"]) {
      $(`view-${name}`).hidden = true;
      $(`tab-${name}`).classList.remove("active");
      $(`tab-${name}`).setAttribute("aria-selected", "false");
    }
  }
  moveStage(open);
  if (!open) armClick(null);
  showUrl();
  window.dispatchEvent(new Event("resize"));
}

export async function openLessons(id, step = 0) {
  showTab(true);
  if (!lessons.list.length) lessons.list = await api("/api/lessons");
  $("lesson-select").innerHTML = lessons.list.map((l) => `<option value="${escapeHtml(l.id)}">${escapeHtml(l.title)}</option>`).join("");
  const chosen = id || (lessons.lesson && lessons.lesson.id) || lessons.list[0].id;
  await openLesson(chosen, step ?? saved()[chosen]?.step ?? 0);
}

async function openLesson(id, step) {
  say(`Loading the lesson (losslab computes its answers)…`);
  lessons.lesson = await api(`/api/lessons/${encodeURIComponent(id)}`);
  say("");
  $("lesson-select").value = id;
  $("lesson-summary").textContent = lessons.lesson.summary;
  await goToStep(step);
}

export async function goToStep(index) {
  const lesson = lessons.lesson;
  lessons.step = Math.max(0, Math.min(index, lesson.steps.length - 1));
  remember((mine) => { mine.step = lessons.step; });
  showUrl();
  armClick(null);
  const step = lesson.steps[lessons.step];
  $("lesson-progress").textContent = `Step ${lessons.step + 1} of ${lesson.steps.length}`;
  $("lesson-prev").disabled = lessons.step === 0;
  $("lesson-next").disabled = lessons.step === lesson.steps.length - 1;
  $("lesson-step").innerHTML = `<h2>${escapeHtml(step.title)}</h2>${lessonHtml(step.text)}`;
  renderQuestions(step);
  $("lesson-stage").hidden = !step.view;
  $("view-lessons").classList.toggle("no-view", !step.view);
  drawLevels(step.view && step.view.kind === "levels" ? lessons.step + 1 : null).catch(failed);
  const batched = Boolean(step.view && step.view.source === "data" && step.view.runs.some((r) => r.name === "sgd"));
  $("lesson-batch").hidden = !batched;
  if (step.view) {
    $("lesson-view-note").textContent = step.view.caption || KIND_NOTE[step.view.kind];
    await showView(step.view);
  }
  window.dispatchEvent(new Event("resize"));
}

// A loss of three parameters: its level surfaces with ∇L arrows, drawn by the server as a Plotly figure.
async function drawLevels(stepNumber) {
  const box = $("lesson-levels");
  box.hidden = stepNumber === null;
  Plotly.purge(box);
  if (stepNumber === null) return;
  const lessonId = lessons.lesson.id;
  const figure = await api(`/api/lessons/${encodeURIComponent(lessonId)}/levels/${stepNumber}`);
  if (lessons.lesson.id !== lessonId || lessons.step + 1 !== stepNumber) return; // the student moved on
  await Plotly.react(box, figure.data, { ...figure.layout, autosize: true }, { responsive: true, displaylogo: false });
}

// The step's view as the explorer's state; the explorer loads and draws it.
async function showView(view) {
  pause();
  state.source = view.source;
  if (view.source === "formula") state.formula = view.loss;
  else if (view.source === "gallery") state.gallery = view.loss;
  else if (view.source === "classifier") state.classifier = { model: view.model, data: view.data };
  else state.data = { model: view.model, synthetic: view.data, points: "" };
  state.start = view.start ? [...view.start] : null;
  state.slice = null; // the step's own loss: its first slice
  state.runners = view.runs.map((r) => ({ name: r.name, hyper: { ...r.hyper } }));
  state.steps = view.steps;
  live.suggestLr = false;
  syncControls();
  await loadObjective();
  if (!state.runners.length) say(""); // a view without optimizers: no "add an optimizer" call to action
}

function syncControls() {
  for (const s of ["gallery", "formula", "data", "classifier"]) $(`src-${s}`).hidden = state.source !== s;
  for (const radio of document.querySelectorAll('input[name="source"]')) radio.checked = radio.value === state.source;
  $("formula-input").value = state.formula;
  $("gallery-select").value = state.gallery;
  $("classifier-select").value = `${state.classifier.model}:${state.classifier.data}`;
  $("steps-input").value = state.steps;
}

function renderQuestions(step) {
  const right = new Set((saved()[lessons.lesson.id] || {}).right || []);
  $("lesson-questions").innerHTML = step.questions.map((q, i) => `
    <form class="question${right.has(q.id) ? " answered" : ""}" data-question="${escapeHtml(q.id)}" autocomplete="off">
      <p class="ask"><span class="qnum">${i + 1}</span> ${mathAware(q.ask)}</p>
      ${answerControls(q)}
      <p class="feedback" aria-live="polite"></p>
    </form>`).join("");
  for (const form of $("lesson-questions").querySelectorAll("form")) {
    const q = step.questions.find((x) => x.id === form.dataset.question);
    form.addEventListener("submit", (event) => { event.preventDefault(); submit(q, form, event.submitter); });
    const clicker = form.querySelector(".click-map");
    if (clicker) clicker.addEventListener("click", () => armClick({ q, form }));
  }
}
const mathAware = (text) => escapeHtml(text).replace(/\$([^$]+)\$/g, (_, tex) => mathHtml(tex));

function answerControls(q) {
  if (q.kind === "choice") {
    return `<div class="options">${q.options.map((o, i) => `<label><input type="radio" name="${escapeHtml(q.id)}" value="${i + 1}"> ${String.fromCharCode(97 + i)}) ${escapeHtml(o)}</label>`).join("")}</div>
      <button type="submit" class="primary">Check</button>`;
  }
  if (q.kind === "predict") {
    return `<div class="row wrap">${["converges", "oscillates", "diverges"].map((o) => `<button type="submit" value="${o}">${o[0].toUpperCase() + o.slice(1)}</button>`).join("")}</div>`;
  }
  const placeholder = q.kind === "number" ? "a number, e.g. 1.5 or 3/2"
    : q.kind === "formula" ? `a formula in ${q.names.join(", ")}` : `${q.names.join(", ")}, e.g. 1.5, -0.5`;
  const click = q.kind === "click" ? '<button type="button" class="click-map">Click on the map</button>' : "";
  return `<div class="row"><input type="text" name="answer" spellcheck="false" aria-label="Your answer" placeholder="${escapeHtml(placeholder)}">
    <button type="submit" class="primary">Check</button></div>${click}`;
}

async function submit(q, form, submitter) {
  let answer;
  if (q.kind === "choice") {
    const picked = form.querySelector("input[type=radio]:checked");
    if (!picked) { feedback(form, { correct: false, hint: "Pick one of the options first." }); return; }
    answer = picked.value;
  } else if (q.kind === "predict") answer = submitter ? submitter.value : "";
  else answer = form.querySelector("input[name=answer]").value;
  await check(q, form, answer);
}

async function check(q, form, answer) {
  let verdict;
  try {
    verdict = await api(`/api/lessons/${encodeURIComponent(lessons.lesson.id)}/answer`, { question: q.id, answer });
  } catch (error) {
    verdict = { correct: false, hint: error.message };
  }
  feedback(form, verdict);
  if (!verdict.correct) return;
  form.classList.add("answered");
  if (lessons.clickFor && lessons.clickFor.q === q) armClick(null); // a wrong click leaves it armed: click again
  remember((mine) => { if (!mine.right.includes(q.id)) mine.right.push(q.id); });
  if (q.kind === "predict") await showRun(q.run);
}

function feedback(form, verdict) {
  const box = form.querySelector(".feedback");
  box.className = `feedback ${verdict.correct ? "right" : "wrong"}`;
  const said = verdict.correct ? verdict.explanation || "" : verdict.hint || "";
  const opening = verdict.correct ? (/^(Right|Yes)\b/.test(said) ? "✓" : "✓ Right.") : "✗ Not yet.";
  box.innerHTML = `${opening} ${mathAware(said)}`;
}

// After a prediction: the run itself, on the step's loss, played.
async function showRun(run) {
  if (!live.info) return;
  const given = Object.fromEntries(String(run.start || "").split(",").map((p) => p.split("=").map((s) => s.trim())));
  const start = live.info.names.map((n) => Number(given[n]));
  if (start.every(Number.isFinite)) state.start = start;
  state.runners = [{ name: run.name, hyper: { ...run.hyper } }];
  state.steps = run.steps;
  syncControls();
  await loadObjective();
  play();
}

// A click question takes the next click on the curve or map instead of moving the start.
function armClick(target) {
  lessons.clickFor = target;
  for (const b of document.querySelectorAll(".click-map")) b.classList.toggle("armed", Boolean(target && b.closest("form") === target.form));
  onLandscape({ pick: target ? (point) => clicked(point) : pickStart });
  $("lesson-stage").classList.toggle("picking", Boolean(target));
}

async function clicked(point) {
  const { q, form } = lessons.clickFor;
  form.querySelector("input[name=answer]").value = point.join(", ");
  await check(q, form, point);
}

// Wires the tab and, for a link with ?lesson=ID&step=N, opens that lesson at that step.
export function initLessons() {
  $("view-lessons").innerHTML = `
    <aside id="lesson-panel">
      <label class="field">Lesson <select id="lesson-select" aria-label="Lesson"></select></label>
      <p id="lesson-summary" class="hint"></p>
      <div class="lesson-nav">
        <button id="lesson-prev" type="button">◀ Back</button>
        <span id="lesson-progress" class="big"></span>
        <button id="lesson-next" type="button" class="primary">Next ▶</button>
      </div>
      <article id="lesson-step" class="lesson-text"></article>
      <div id="lesson-questions"></div>
    </aside>
    <section id="lesson-stage"><p id="lesson-view-note" class="hint"></p><div id="lesson-levels" class="plot tall" hidden></div>
      <label id="lesson-batch" class="field" hidden>SGD mini-batch size
        <input id="lesson-batch-size" type="range" min="1" max="30" value="8" aria-label="SGD mini-batch size">
        <span id="lesson-batch-label">8 of 30 points</span></label></section>`;
  $("tab-lessons").addEventListener("click", () => { if (!lessons.open) openLessons(null, null).catch(failed); });
  for (const name of ["explore", "compare"]) $(`tab-${name}`).addEventListener("click", () => { if (lessons.open) showTab(false); });
  $("lesson-select").addEventListener("change", (e) => openLesson(e.target.value, saved()[e.target.value]?.step ?? 0).catch(failed));
  $("lesson-batch-size").addEventListener("input", (e) => {
    state.batch = Number(e.target.value);
    $("lesson-batch-label").textContent = `${state.batch} of 30 points`;
    scheduleRace(); // a smaller batch: a noisier path
  });
  $("lesson-prev").addEventListener("click", () => goToStep(lessons.step - 1).catch(failed));
  $("lesson-next").addEventListener("click", () => goToStep(lessons.step + 1).catch(failed));
  const params = new URLSearchParams(location.search);
  if (params.get("lesson")) openLessons(params.get("lesson"), Math.max(0, Number(params.get("step") || 1) - 1)).catch(failed);
}
const failed = (error) => say(`The lesson could not be shown: ${error.message}`, true);
