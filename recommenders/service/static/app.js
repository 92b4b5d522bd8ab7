// The analyst's page: plain DOM, no build step. Every value from the server or the user is set
// with textContent (never as HTML), so incident text cannot inject markup.
"use strict";

const $ = (id) => document.getElementById(id);
const state = { observed: [], names: {}, last: null, lastRequest: null, matrix: null, flow: null };

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value);
  }
  for (const child of children) node.append(child instanceof Node ? child : String(child));
  return node;
}

async function api(path, options = {}) {
  const response = await fetch(path, options);
  const body = await response.json().catch(() => ({ error: `HTTP ${response.status}` }));
  if (!response.ok) throw new Error(body.error || `HTTP ${response.status}`);
  return body;
}

function showError(message) {
  $("error").textContent = message;
  $("error").hidden = !message;
}

function k() {
  return Number($("k").value);
}

// --- techniques picked by search -------------------------------------------------------------

let searchTimer = null;
$("technique-search").addEventListener("input", () => {
  clearTimeout(searchTimer);
  searchTimer = setTimeout(search, 120);
});
$("technique-search").addEventListener("keydown", (event) => {
  const first = $("suggestions").querySelector("li");
  if (event.key === "Enter" && first) {
    event.preventDefault();
    first.click();
  }
});

async function search() {
  const query = $("technique-search").value.trim();
  const list = $("suggestions");
  list.replaceChildren();
  if (!query) return;
  const hits = await api(`/api/techniques?q=${encodeURIComponent(query)}&limit=8`);
  for (const hit of hits) {
    const item = el(
      "li",
      { role: "option", "data-id": hit.id, class: hit.in_model ? "" : "unknown" },
      el("b", {}, hit.id), " ", hit.name,
      el("small", {}, hit.in_model ? ` ${hit.tactics.join(", ")}` : " (not in the model)")
    );
    item.addEventListener("click", () => add(hit));
    list.append(item);
  }
}

function add(hit) {
  if (!state.observed.includes(hit.id)) state.observed.push(hit.id);
  state.names[hit.id] = hit.name;
  $("technique-search").value = "";
  $("suggestions").replaceChildren();
  chips();
  $("technique-search").focus();
}

function chips() {
  $("chips").replaceChildren(
    ...state.observed.map((id) =>
      el("span", { class: "chip", "data-id": id }, `${id} ${state.names[id] || ""}`,
        el("button", {
          "aria-label": `remove ${id}`,
          onclick: () => { state.observed = state.observed.filter((t) => t !== id); chips(); },
        }, "×"))
    )
  );
  $("forecast-button").disabled = state.observed.length === 0;
}

$("forecast-button").addEventListener("click", () =>
  run("/api/forecast", { techniques: state.observed, k: k() })
);

// --- incident text -----------------------------------------------------------------------------

$("threshold").addEventListener("input", () => {
  const value = Number($("threshold").value);
  $("threshold-value").textContent = value > 0 ? value.toFixed(2) : "model's";
});
$("text-button").addEventListener("click", () => {
  const value = Number($("threshold").value);
  const body = { text: $("text-input").value, k: k() };
  if (value > 0) body.threshold = value;
  run("/api/forecast/text", body);
});

// --- Attack Flow -------------------------------------------------------------------------------

$("flow-button").addEventListener("click", async () => {
  const file = $("flow-file").files[0];
  if (!file) return showError("choose an .afb or STIX .json flow file first");
  state.flow = { name: file.name, body: await file.text() };
  run(`/api/forecast/flow?k=${k()}&name=${encodeURIComponent(file.name)}`, state.flow.body, true);
});
$("download-flow").addEventListener("click", () => {
  const flow = state.flow;
  if (!flow) return;
  download(`/api/forecast/flow/suggestions?k=${Math.min(k(), 10)}&name=${encodeURIComponent(flow.name)}`,
    flow.body, flow.name.replace(/\.[^.]+$/, "") + "-suggested.json", true);
});

// --- running a forecast --------------------------------------------------------------------------

async function run(path, body, raw = false) {
  showError("");
  $("status").textContent = "forecasting…";
  try {
    const answer = await api(path, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: raw ? body : JSON.stringify(body),
    });
    state.last = answer;
    state.lastRequest = answer.observed.map((o) => o.technique);
    render(answer);
    $("status").textContent = answer.note || "";
    $("download-flow").disabled = !path.startsWith("/api/forecast/flow");
  } catch (error) {
    $("status").textContent = "";
    showError(error.message);
  }
}

function render(answer) {
  $("found").hidden = !answer.found;
  if (answer.found) {
    $("evidence").replaceChildren(
      ...answer.found.techniques.map((hit) =>
        el("li", { class: "hit", "data-id": hit.technique },
          el("b", {}, hit.technique), ` ${hit.name || ""} `,
          el("span", { class: "confidence" }, `confidence ${hit.confidence.toFixed(2)}`),
          el("ul", {}, ...hit.evidence.slice(0, 2).map((e) => el("li", { class: "sentence" }, `“${e.sentence}”`)))
        )
      )
    );
    $("iocs").replaceChildren(
      ...(answer.found.iocs.length
        ? answer.found.iocs.map((i) => el("li", {}, el("code", {}, i.value), ` ${i.kind}`))
        : [el("li", { class: "muted" }, "none")])
    );
  }
  $("answer").hidden = !answer.forecast.length;
  if (!answer.forecast.length) return;
  $("observed-line").textContent =
    "Seen: " + answer.observed.map((o) => `${o.technique} ${o.name}`).join(", ");
  $("ignored").replaceChildren(
    ...Object.entries(answer.ignored || {}).map(([id, why]) => el("li", {}, `${id}: ${why}`))
  );
  $("forecast").replaceChildren(...answer.forecast.map(prediction));
  matrix(answer);
}

function prediction(p) {
  const because = p.unseen
    ? "never in a training report: scored from ATT&CK, like " +
      (p.like.map((b) => `${b.technique} ${b.name}`).join(", ") || "no seen technique")
    : p.because.length
      ? "because you saw " + p.because.map((b) => `${b.technique} ${b.name}`).join(", ")
      : "on its base rate";
  return el("li", { class: "prediction", "data-id": p.technique },
    el("div", { class: "row" },
      el("a", { href: attackUrl(p.technique), target: "_blank", rel: "noopener" }, p.technique),
      el("span", { class: "name" }, p.name),
      el("span", { class: "tactics" }, p.tactics.join(", ")),
      el("span", { class: "bar", style: `--w:${Math.round(100 * p.relative)}%` })
    ),
    el("div", { class: "because" }, because)
  );
}

function attackUrl(id) {
  return `https://attack.mitre.org/techniques/${id.replace(".", "/")}/`;
}

async function matrix(answer) {
  state.matrix = state.matrix || (await api("/api/matrix"));
  const seen = new Set(answer.observed.map((o) => o.technique));
  const heat = new Map(answer.forecast.map((p) => [p.technique, p]));
  const parent = (id) => id.split(".")[0];
  $("matrix").replaceChildren(
    ...state.matrix.map((column) => {
      const parents = [...new Set(column.techniques.map(parent))];
      const cells = parents.map((id) => {
        const members = column.techniques.filter((t) => parent(t) === id);
        const hot = members.map((t) => heat.get(t)).filter(Boolean).sort((a, b) => a.rank - b.rank)[0];
        const isSeen = members.some((t) => seen.has(t));
        const cell = el("div", {
          class: "cell" + (isSeen ? " observed" : "") + (hot ? " hot" : ""),
          title: hot ? `${hot.technique} ${hot.name}: rank ${hot.rank}` : id,
          "data-id": id,
        }, hot ? hot.technique : id);
        if (hot) cell.style.setProperty("--heat", (0.25 + 0.75 * hot.relative).toFixed(2));
        return cell;
      });
      return el("div", { class: "column" }, el("h4", {}, column.name), ...cells);
    })
  );
}

// --- downloads ---------------------------------------------------------------------------------

$("download-layer").addEventListener("click", () =>
  download("/api/navigator", JSON.stringify({ techniques: state.lastRequest, k: k() }), "tie-forecast-layer.json")
);
$("download-json").addEventListener("click", () => {
  const blob = new Blob([JSON.stringify(state.last, null, 2)], { type: "application/json" });
  save(blob, "tie-forecast.json");
});

async function download(path, body, filename) {
  showError("");
  const response = await fetch(path, { method: "POST", headers: { "Content-Type": "application/json" }, body });
  if (!response.ok) {
    const problem = await response.json().catch(() => ({}));
    return showError(problem.error || `HTTP ${response.status}`);
  }
  save(await response.blob(), filename);
}

function save(blob, filename) {
  const link = el("a", { href: URL.createObjectURL(blob), download: filename });
  document.body.append(link);
  link.click();
  link.remove();
}

// --- tabs and start-up -------------------------------------------------------------------------

for (const tab of document.querySelectorAll("[role=tab]")) {
  tab.addEventListener("click", () => {
    for (const other of document.querySelectorAll("[role=tab]")) {
      const on = other === tab;
      other.setAttribute("aria-selected", String(on));
      $(`tab-${other.dataset.tab}`).hidden = !on;
    }
  });
}
$("k").addEventListener("input", () => { $("k-value").textContent = $("k").value; });

api("/api/model").then((info) => {
  const m = info.model;
  $("model-info").textContent =
    `${m.family.toUpperCase()} recommender · ${m.techniques} techniques · ${m.attack_release} · ` +
    `explanations ${m.explanation}` + (info.text_model ? ` · text model: ${info.text_model.labels} techniques` : " · no text model");
  if (!info.text_model) {
    $("text-button").disabled = true;
    $("text-button").title = "this server has no text model";
  }
}).catch((error) => showError(error.message));
