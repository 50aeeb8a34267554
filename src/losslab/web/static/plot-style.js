// Plot styling shared by every chart: the runs' colours, Plotly's layout and config, small helpers.

const COLORS = ["#d62728", "#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22"];
export const colorOf = (i) => COLORS[i % COLORS.length]; // the i-th run's colour, the same in every view

export const axisTitle = (text) => ({ text, font: { size: 13 } });
// Plotly's toolbar sits in a chart's top right corner over whatever is drawn there (on a phone, across
// the title): every chart keeps its top TOOLBAR pixels for the toolbar, and puts its title or legend below.
export const TOOLBAR = 28;
export const chartTitle = (text) => ({ text, font: { size: 13 }, x: 0.5, xref: "container", y: 1, yref: "container",
  yanchor: "top", pad: { t: TOOLBAR + 2 } });
export const baseLayout = (extra) => ({
  margin: { l: 55, r: 10, t: TOOLBAR + 24, b: 45 }, font: { family: "system-ui, sans-serif", size: 12 },
  paper_bgcolor: "rgba(0,0,0,0)", plot_bgcolor: "#fff", showlegend: false, ...extra });
export const config = { responsive: true, displaylogo: false, modeBarButtonsToRemove: ["select2d", "lasso2d"] };

export function paddedRange(values) {
  const lo = Math.min(...values), hi = Math.max(...values);
  const pad = (hi - lo) * 0.05 || 1;
  return [lo - pad, hi + pad];
}

// Plotly rejects a draw's promise (with undefined) when a newer one replaces it; that is expected.
export const superseded = () => {};
