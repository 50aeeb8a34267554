// Share & export: the plots as PNG, the race as a GIF drawn on the server, and a link holding the whole state.
/* global Plotly */
import { ApiError, post } from "./api.js";
import { $, report, say } from "./dom.js";
import { live, saveUrl, state } from "./state.js";
import { raceBody } from "./race.js";

const GIF_FRAMES = 30; // each frame is a full matplotlib drawing on the server (~0.2 s)

export function exportPng() {
  const plots = live.info && live.info.dim === 2 ? [["plot-main", "contour"], ["plot-surface", "surface"]] : [["plot-main", "curve"]];
  if ($("view-compare").hidden === false) plots.splice(0, plots.length, ["plot-bowl", "bowl"], ["plot-mountains", "mountains"]);
  for (const [id, name] of plots) {
    if ($(id).data) Plotly.downloadImage($(id), { format: "png", width: 900, height: 700, filename: `losslab-${name}` });
  }
}

export async function exportGif() {
  if (!live.info || !state.runners.length) { say("Add an optimizer first: the GIF shows the race.", true); return; }
  const button = $("btn-gif");
  const frames = Math.min(GIF_FRAMES, live.catalog.bounds.frames);
  button.disabled = true;
  button.textContent = "Rendering GIF…";
  say(`Drawing the race as a GIF (${frames} frames at most): a few seconds…`);
  try {
    const response = await fetch("/api/animation", post({ ...raceBody(), frames }));
    if (!response.ok) throw new ApiError(await response.json(), response.status);
    const blob = await response.blob();
    const a = Object.assign(document.createElement("a"), { href: URL.createObjectURL(blob), download: "losslab-race.gif" });
    a.click();
    URL.revokeObjectURL(a.href);
    say(`Saved losslab-race.gif (${Math.round(blob.size / 1024)} kB).`);
  } catch (error) {
    report(error);
  } finally {
    button.textContent = "Run as GIF";
    button.disabled = live.info.dim > 2;
  }
}

export async function copyLink() {
  saveUrl();
  try {
    await navigator.clipboard.writeText(location.href);
    say("Link copied: it restores the loss, start point, optimizers and settings.");
  } catch {
    say("Copy the address bar: it holds the whole state.");
  }
}
