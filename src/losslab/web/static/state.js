// The page state, every field declared here. `state` is what a link restores (saved in the URL's hash);
// `live` is what the page holds while it runs: the server's answers, playback, and drawing bookkeeping.
import { say } from "./dom.js";

export const state = {
  source: "gallery", // where the loss comes from: "gallery", "formula" or "data"
  gallery: "case_study_2", // the gallery surface's name
  formula: "(w0 - 1)**2 + 3*(w1 + 2)**2", // the formula's text
  data: { model: "line", synthetic: "case_study_1", points: "" }, // model, synthetic set (or "pasted"), pasted points
  classifier: { model: "hyperplane", data: "blobs" }, // Chapter 3's classifier of two inputs and its data (source "classifier")
  start: null, // the start point θ₀, one number per parameter; null: the loss's default
  runners: [{ name: "gd", hyper: { lr: 0.1 } }, { name: "momentum", hyper: { lr: 0.01, momentum: 0.9 } }], // optimizers raced
  steps: 100, // steps each optimizer takes
  batch: 8, // sgd's mini-batch size on a loss with data (the Lessons tab's control sets it)
  speed: 8, // playback speed, steps per second
  slice: null, // for a loss of 3+ parameters, the slice shown: { vary: two indices, at: the point it passes through }
};

export const live = {
  info: null, // /api/objective's answer for the loss shown: names, dim, domain, title, data
  spec: null, // the loss shown as the API names it: objectiveSpec() when it was loaded. Every request about the
  //             loss shown sends this one, not the state's: that may have moved on (a formula being typed)
  problem: "", // why there is no loss to show (the loss could not be built), else ""
  surface: null, // /api/surface's grid of the loss (losses of 1 or 2 parameters only)
  race: null, // /api/race's answer: one run per optimizer
  analysis: null, // /api/analyze's answer: formulas, stationary points (and kinks), convexity
  suggestion: null, // /api/suggest's answer for the loss shown: a start and each optimizer's learning rate that suit it
  suggestLr: true, // whether the next suggestion sets the runners' learning rates: on a fresh page and after the
  //                  loss changed on the page; not for the runners a link gave
  taylor: null, // /api/hessian's answer at the point under the mouse (inspector and Taylor overlay)
  fits: null, // /api/fit's answer: the model's prediction on a grid at every step of the data panel's run
  optimizers: [], // /api/optimizers' catalogue: names, summaries, knobs
  catalog: null, // /api/catalog's answer: models, synthetic data sets, bounds
  version: 0, // bumped for each new loss: answers and draws for an older one are dropped
  step: 0, // the step shown
  playing: false, // whether playback runs
  timer: null, // playback's requestAnimationFrame id
  dataRun: 0, // index of the run whose fit the data panel shows
  dataFit: 0, // how many data-point traces the data plot has; the fit's trace comes right after them
  drawnFor: null, // the version the landscape plots were last emptied for (a new loss starts from empty plots)
  drawing: 0, // landscape draws under way: the step's paths wait for them
  overlayIndex: null, // index of the Taylor overlay's trace in the main plot
  last3d: 0, // performance.now() of the last redraw of the 3-D paths (throttled while playing)
  slice: null, // for a loss of 3+ parameters, the slice drawn: { vary: two indices, at: the point it passes through,
  //              held: its held values in words, surface: /api/surface's grid of the slice }
  boundary: null, // /api/boundary's answer for the run shown: P(y = 1) over the plane at evenly spaced steps
  energyPath: null, // /api/path's answer: the minimum-energy path between two minima, drawn on the map and in 3-D
};

// The loss as the API's requests name it.
export function objectiveSpec() {
  if (state.source === "gallery") return { source: "gallery", name: state.gallery };
  if (state.source === "formula") return { source: "formula", text: state.formula };
  if (state.source === "classifier") return { source: "classifier", model: state.classifier.model, data: state.classifier.data };
  const d = state.data;
  return d.synthetic === "pasted"
    ? { source: "data", model: d.model, points: d.points }
    : { source: "data", model: d.model, synthetic: d.synthetic, n: 30 };
}

export function saveUrl() {
  history.replaceState(null, "", "#" + encodeURIComponent(JSON.stringify(state)));
}

export function loadUrl() {
  if (location.hash.length < 2) return;
  try {
    const saved = JSON.parse(decodeURIComponent(location.hash.slice(1)));
    Object.assign(state, saved);
    if (saved && saved.runners) live.suggestLr = false;
  } catch (error) {
    say(`The link's state could not be read (${error.message}); starting fresh.`, true);
  }
}
