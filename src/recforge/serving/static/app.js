// The recforge page: plain JavaScript over the service's JSON routes, no build step.
// Every piece of data goes into the page as text (textContent, Node.append of strings), never
// as HTML. URLs are relative to the page, so the service also works behind a path prefix.

const $ = (id) => document.getElementById(id);

const state = {
  models: [], // GET /models
  model: null, // the name of the model in use
  tab: "users", // "users" | "visitor"
  user: null, // raw user id (text) shown in the Users panel, or null
  genre: "", // genre filter of the user's recommendations ("": all)
  visitor: [], // the new visitor's movies: [{item, title, genres}]
};

// Each kind of request carries a sequence number; an answer that arrives after a newer
// request of its kind was sent is dropped, so fast clicks never show a stale list.
const seq = { users: 0, user: 0, recs: 0, items: 0, visitor: 0 };

class ApiError extends Error {
  constructor(message, status) {
    super(message);
    this.status = status;
  }
}

async function api(path, params = {}, body = undefined) {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== null && value !== undefined && value !== "") query.set(key, String(value));
  }
  const text = query.toString();
  const url = text ? `${path}?${text}` : path;
  const init = body === undefined ? {} : {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  };
  let response;
  try {
    response = await fetch(url, init);
  } catch (error) {
    throw new ApiError(`the service did not answer (${error.message})`, 0);
  }
  let data = null;
  try {
    data = await response.json();
  } catch {
    data = null;
  }
  if (!response.ok) {
    const detail = data && typeof data.detail === "string" ? data.detail : null;
    throw new ApiError(detail ?? `${response.status} ${response.statusText}`, response.status);
  }
  return data;
}

// ---------------------------------------------------------------------------- helpers
function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === null || value === undefined) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else node.setAttribute(key, String(value));
  }
  for (const child of children) {
    if (child !== null && child !== undefined && child !== false) node.append(child);
  }
  return node;
}

function showMessage(node, text) {
  node.textContent = text ?? "";
  node.hidden = !text;
}

function debounce(fn, ms) {
  let timer = null;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}

function currentModel() {
  return state.models.find((m) => m.name === state.model) ?? null;
}

function titleOf(item) {
  return item.title || `Item ${item.item}`;
}

function formatNumber(x) {
  return Number.isInteger(x) ? String(x) : String(Number(x.toPrecision(3)));
}

function isStarRating(rating) {
  const model = currentModel();
  return model !== null && model.explicit && Number.isInteger(rating) && rating >= 0
    && rating <= 5;
}

function ratingText(rating) {
  if (rating === null || rating === undefined) return "";
  return isStarRating(rating) ? `${rating}★` : formatNumber(rating);
}

function ratingNode(rating) {
  const node = el("span", { class: "rating", "data-rating": rating ?? "" });
  if (rating === null || rating === undefined) return node;
  if (isStarRating(rating)) {
    node.append(
      el("span", { class: "stars", "aria-hidden": "true", text: "★".repeat(rating) }),
      el("span", { class: "stars-off", "aria-hidden": "true", text: "★".repeat(5 - rating) }),
    );
    node.setAttribute("title", `rated ${rating} of 5`);
    node.setAttribute("aria-label", `rated ${rating} of 5`);
  } else {
    node.textContent = formatNumber(rating);
    node.setAttribute("title", "training value");
  }
  return node;
}

function genresNode(genres) {
  const node = el("span", { class: "genres" });
  for (const genre of genres ?? []) node.append(el("span", { class: "genre", text: genre }));
  return node;
}

function itemMain(item) {
  return el("div", { class: "item-main" },
    el("span", { class: "title", text: titleOf(item) }),
    genresNode(item.genres));
}

// ---------------------------------------------------------------------------- the URL hash
// #user=1&model=ease&genre=Comedy (a user view), #visitor=50,181&model=ease (a new visitor)
function readHash() {
  const params = new URLSearchParams(window.location.hash.slice(1));
  const model = params.get("model");
  if (model !== null && state.models.some((m) => m.name === model)) state.model = model;
  if (params.has("visitor")) {
    state.tab = "visitor";
    const ids = (params.get("visitor") ?? "").split(",").map((s) => s.trim()).filter(Boolean);
    return ids;
  }
  state.tab = "users";
  state.user = params.get("user") || null;
  state.genre = params.get("genre") ?? "";
  return null;
}

function writeHash() {
  const params = new URLSearchParams();
  if (state.tab === "visitor") {
    params.set("visitor", state.visitor.map((v) => v.item).join(","));
  } else if (state.user !== null) {
    params.set("user", state.user);
    if (state.genre) params.set("genre", state.genre);
  }
  if (state.models.length > 1) params.set("model", state.model);
  const hash = params.toString().replaceAll("%2C", ",");
  // replaceState does not fire "hashchange": only links and typed URLs come back here.
  history.replaceState(null, "", hash ? `#${hash}` : window.location.pathname);
}

// ---------------------------------------------------------------------------- models
function fillModels() {
  const select = $("model-select");
  select.replaceChildren(...state.models.map((m) => el("option", { value: m.name, text: m.name })));
  select.value = state.model;
  select.disabled = state.models.length < 2;
  select.title = select.disabled ? "the only model served" : "switch the model";
}

function showModel() {
  const m = currentModel();
  $("model-select").value = state.model;
  const kind = m && m.model !== m.name ? `${m.model} · ` : "";
  $("model-info").textContent = m
    ? `${kind}${m.n_users.toLocaleString()} users · ${m.n_items.toLocaleString()} items`
      + ` · v${m.version}`
    : "";
  const filter = $("genre-filter");
  const genres = m ? m.genres : [];
  if (!genres.some((g) => g === state.genre)) state.genre = "";
  filter.replaceChildren(el("option", { value: "", text: "All genres" }),
    ...genres.map((g) => el("option", { value: g, text: g })));
  filter.value = state.genre;
  filter.closest("label").hidden = genres.length === 0;
}

function switchModel(name) {
  state.model = name;
  showModel();
  writeHash();
  searchUsers();
  if (state.user !== null) showUser();
  searchItems();
  loadVisitor();
}

// ---------------------------------------------------------------------------- tabs
function showTab(tab) {
  state.tab = tab;
  for (const button of document.querySelectorAll(".tabs [role=tab]")) {
    const on = button.dataset.panel === `${tab}-panel`;
    button.setAttribute("aria-selected", String(on));
    $(button.dataset.panel).hidden = !on;
  }
}

// ---------------------------------------------------------------------------- users
async function searchUsers() {
  const mine = ++seq.users;
  const text = $("user-search").value.trim();
  const list = $("user-results");
  list.dataset.state = "loading";
  try {
    const users = await api("users", { search: text, limit: 30, model: state.model });
    if (mine !== seq.users) return;
    showMessage($("user-search-error"), "");
    const unit = currentModel()?.explicit ? "rated" : "items";
    list.replaceChildren(...users.map((u) => el("li", {},
      el("button", {
        type: "button",
        class: "user-result",
        "data-user": u.user,
        "aria-current": String(u.user) === state.user ? "true" : null,
      },
      el("span", { class: "user-id", text: `User ${u.user}` }),
      el("span", { class: "muted", text: `${u.n_items} ${unit}` })))));
    if (!users.length) {
      list.append(el("li", { class: "hint", text: text
        ? `No user id starts with “${text}”; press Enter to open it anyway.`
        : "No users." }));
    }
    list.dataset.state = "ready";
  } catch (error) {
    if (mine !== seq.users) return;
    list.replaceChildren();
    list.dataset.state = "error";
    showMessage($("user-search-error"), error.message);
  }
}

function openUser(user) {
  state.user = String(user);
  writeHash();
  for (const button of document.querySelectorAll(".user-result")) {
    if (button.dataset.user === state.user) button.setAttribute("aria-current", "true");
    else button.removeAttribute("aria-current");
  }
  showUser();
}

async function showUser() {
  const mine = ++seq.user;
  $("user-empty").hidden = state.user !== null;
  $("user-detail").hidden = state.user === null;
  if (state.user === null) return;
  const user = state.user;
  const model = state.model;
  $("user-title").textContent = `User ${user}`;
  showMessage($("user-error"), "");
  const history = $("history");
  history.dataset.state = "loading";
  history.dataset.user = user;
  history.dataset.model = model;
  $("history-count").textContent = "";
  const recs = await loadRecommendations();
  if (mine !== seq.user || recs === null) {
    if (recs === null && mine === seq.user) history.dataset.state = "error";
    return;
  }
  if (recs.fallback !== null) {
    history.replaceChildren(el("li", { class: "hint",
      text: `Model ${model} was not trained on user “${user}”, so there is no history.` }));
    history.dataset.state = "ready";
    return;
  }
  try {
    const body = await api(`users/${encodeURIComponent(user)}/history`, { model });
    if (mine !== seq.user) return;
    history.replaceChildren(...body.items.map((item) => el("li", { "data-item": item.item },
      itemMain(item), ratingNode(item.rating))));
    if (!body.items.length) history.append(el("li", { class: "hint", text: "No items." }));
    $("history-count").textContent = `(${body.items.length})`;
    history.dataset.state = "ready";
  } catch (error) {
    if (mine !== seq.user) return;
    history.replaceChildren();
    history.dataset.state = "error";
    showMessage($("user-error"), error.message);
  }
}

// The user's recommendations (and their explanations); returns the answer, or null when it
// failed or was overtaken by a newer request.
async function loadRecommendations() {
  const mine = ++seq.recs;
  const user = state.user;
  const model = state.model;
  const list = $("recommendations");
  list.dataset.state = "loading";
  list.dataset.user = user;
  list.dataset.model = model;
  list.dataset.genre = state.genre;
  let recs;
  try {
    recs = await api(`users/${encodeURIComponent(user)}/recommendations`,
      { k: 10, genres: state.genre, model });
  } catch (error) {
    if (mine !== seq.recs) return null;
    list.replaceChildren();
    list.dataset.state = "error";
    showMessage($("user-error"), error.message);
    return null;
  }
  if (mine !== seq.recs) return null;
  const notice = $("fallback-notice");
  notice.dataset.fallback = recs.fallback ?? "";
  showMessage(notice, recs.fallback === "popularity"
    ? `Model ${model} does not know user “${user}”: these are the most popular items instead.`
    : recs.fallback ? `Fallback: ${recs.fallback}` : "");
  const unit = currentModel()?.explicit ? "ratings" : "interactions";
  list.replaceChildren(...recs.items.map((item) => {
    const explanation = el("div", { class: "explanation", "data-state": "loading",
      text: "Looking for the reasons…" });
    if (recs.fallback !== null) {
      explanation.textContent = `Popular: ${formatNumber(item.score)} ${unit}`;
      explanation.dataset.state = "done";
      explanation.dataset.how = "popularity";
    }
    const score = recs.fallback !== null
      ? el("span", { class: "score", title: `training ${unit}`, text: formatNumber(item.score) })
      : el("span", { class: "score", title: "the model's score", text: formatNumber(item.score) });
    return el("li", { "data-item": item.item },
      el("div", { class: "item-row" }, itemMain(item), score), explanation);
  }));
  if (!recs.items.length) {
    list.append(el("li", { class: "hint", text: state.genre
      ? `No ${state.genre} items left to recommend.` : "Nothing left to recommend." }));
  }
  list.dataset.state = "ready";
  if (recs.fallback === null) {
    for (const li of list.querySelectorAll("li[data-item]")) explain(li, user, model, mine);
  }
  return recs;
}

async function explain(li, user, model, mine) {
  const node = li.querySelector(".explanation");
  try {
    const why = await api(
      `users/${encodeURIComponent(user)}/recommendations/${encodeURIComponent(li.dataset.item)}`
        + "/explanation",
      { n: 3, model });
    if (mine !== seq.recs) return;
    node.dataset.how = why.how;
    if (!why.because.length) {
      node.textContent = "No single past item stands out.";
    } else {
      const rated = why.because.some((r) => r.rating !== null && r.rating !== undefined)
        && currentModel()?.explicit;
      node.replaceChildren(el("span", { class: "because",
        text: rated ? "Based on your ratings of " : "Because you watched " }));
      why.because.forEach((reason, n) => {
        if (n) node.append(n === why.because.length - 1 ? " and " : ", ");
        const stars = ratingText(reason.rating);
        node.append(el("span", { class: "reason", "data-item": reason.item },
          el("span", { class: "reason-title", text: titleOf(reason) }),
          stars ? ` (${stars})` : ""));
      });
      node.title = why.how === "contribution"
        ? "each of these adds to the score"
        : "the model finds these most similar to the recommendation";
    }
    node.dataset.state = "done";
  } catch (error) {
    if (mine !== seq.recs) return;
    node.textContent = error.status === 409 ? `No explanation: ${error.message}` : error.message;
    node.classList.add("unavailable");
    node.dataset.state = "error";
  }
}

// ---------------------------------------------------------------------------- new visitor
async function searchItems() {
  const mine = ++seq.items;
  const text = $("visitor-search").value.trim();
  const list = $("visitor-results");
  if (!text) {
    list.replaceChildren();
    list.dataset.state = "empty";
    showMessage($("visitor-search-error"), "");
    return;
  }
  list.dataset.state = "loading";
  try {
    const items = await api("items", { search: text, limit: 8, model: state.model });
    if (mine !== seq.items) return;
    showMessage($("visitor-search-error"), "");
    const chosen = new Set(state.visitor.map((v) => String(v.item)));
    const fresh = items.filter((item) => !chosen.has(String(item.item)));
    list.replaceChildren(...fresh.map((item) => el("li", {},
      el("button", { type: "button", class: "item-result", "data-item": item.item },
        itemMain(item)))));
    if (!fresh.length) list.append(el("li", { class: "hint", text: `No more titles with “${text}”.` }));
    list.dataset.state = "ready";
    list._items = new Map(fresh.map((item) => [String(item.item), item]));
  } catch (error) {
    if (mine !== seq.items) return;
    list.replaceChildren();
    list.dataset.state = "error";
    showMessage($("visitor-search-error"), error.message);
  }
}

function addVisitorItem(item) {
  if (!state.visitor.some((v) => String(v.item) === String(item.item))) state.visitor.push(item);
  const input = $("visitor-search");
  input.value = "";
  searchItems();
  input.focus();
  visitorChanged();
}

function removeVisitorItem(id) {
  state.visitor = state.visitor.filter((v) => String(v.item) !== id);
  visitorChanged();
}

function visitorChanged() {
  renderChips();
  writeHash();
  loadVisitor();
}

function renderChips() {
  $("visitor-chips").replaceChildren(...state.visitor.map((item) => el("li",
    { class: "chip", "data-item": item.item },
    el("span", { class: "chip-title", text: titleOf(item) }),
    el("button", { type: "button", class: "chip-remove", "data-item": item.item,
      "aria-label": `Remove ${titleOf(item)}`, title: "remove", text: "×" }))));
}

async function loadVisitor() {
  const mine = ++seq.visitor;
  const list = $("visitor-recommendations");
  const ids = state.visitor.map((v) => v.item);
  list.dataset.model = state.model;
  list.dataset.items = ids.join(",");
  $("visitor-hint").hidden = ids.length > 0;
  showMessage($("visitor-error"), "");
  if (!ids.length) {
    list.replaceChildren();
    list.dataset.state = "empty";
    showMessage($("visitor-fallback"), "");
    showMessage($("visitor-unknown"), "");
    return;
  }
  list.dataset.state = "loading";
  try {
    const body = await api("recommendations/for-history", {},
      { items: ids, k: 10, model: state.model });
    if (mine !== seq.visitor) return;
    const notice = $("visitor-fallback");
    notice.dataset.fallback = body.fallback ?? "";
    showMessage(notice, body.fallback === "popularity"
      ? `Model ${body.model} cannot score a new visitor: these are the most popular items.`
      : body.fallback ? `Fallback: ${body.fallback}` : "");
    const unknown = new Set(body.unknown_items.map(String));
    showMessage($("visitor-unknown"), unknown.size
      ? `Model ${body.model} does not know: ${state.visitor
        .filter((v) => unknown.has(String(v.item))).map(titleOf).join(", ")}.`
      : "");
    list.replaceChildren(...body.items.map((item) => el("li", { "data-item": item.item },
      el("div", { class: "item-row" }, itemMain(item),
        el("span", { class: "score", title: body.fallback ? "training interactions"
          : "the model's score", text: formatNumber(item.score) })))));
    list.dataset.state = "ready";
  } catch (error) {
    if (mine !== seq.visitor) return;
    list.replaceChildren();
    list.dataset.state = "error";
    showMessage($("visitor-error"), error.message);
  }
}

// Items named in the URL: their titles come from the title search, which also matches ids.
async function resolveItems(ids) {
  const found = await Promise.all(ids.map(async (id) => {
    try {
      const hits = await api("items", { search: id, limit: 100, model: state.model });
      return hits.find((item) => String(item.item) === id) ?? { item: id, title: null, genres: [] };
    } catch {
      return { item: id, title: null, genres: [] };
    }
  }));
  return found;
}

// ---------------------------------------------------------------------------- wiring
async function applyHash() {
  const ids = readHash();
  showModel();
  showTab(state.tab);
  if (ids !== null) {
    state.visitor = await resolveItems(ids);
    renderChips();
  }
  loadVisitor();
  showUser();
  searchUsers();
}

function bind() {
  $("model-select").addEventListener("change", (event) => switchModel(event.target.value));
  for (const button of document.querySelectorAll(".tabs [role=tab]")) {
    button.addEventListener("click", () => {
      showTab(button.dataset.panel.replace("-panel", ""));
      writeHash();
    });
  }
  const userSearch = $("user-search");
  userSearch.addEventListener("input", debounce(searchUsers, 150));
  userSearch.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && userSearch.value.trim()) openUser(userSearch.value.trim());
  });
  $("user-results").addEventListener("click", (event) => {
    const button = event.target.closest(".user-result");
    if (button) openUser(button.dataset.user);
  });
  $("genre-filter").addEventListener("change", (event) => {
    state.genre = event.target.value;
    writeHash();
    loadRecommendations();
  });
  const itemSearch = $("visitor-search");
  itemSearch.addEventListener("input", debounce(searchItems, 150));
  itemSearch.addEventListener("keydown", (event) => {
    if (event.key === "Escape") {
      itemSearch.value = "";
      searchItems();
    } else if (event.key === "Enter") {
      const first = $("visitor-results").querySelector(".item-result");
      if (first) first.click();
    }
  });
  $("visitor-results").addEventListener("click", (event) => {
    const button = event.target.closest(".item-result");
    const items = $("visitor-results")._items;
    if (button && items) addVisitorItem(items.get(button.dataset.item));
  });
  $("visitor-chips").addEventListener("click", (event) => {
    const button = event.target.closest(".chip-remove");
    if (button) removeVisitorItem(button.dataset.item);
  });
  window.addEventListener("hashchange", applyHash);
}

async function start() {
  bind();
  try {
    state.models = await api("models");
  } catch (error) {
    showMessage($("page-error"), `Cannot list the models: ${error.message}`);
    return;
  }
  if (!state.models.length) {
    showMessage($("page-error"), "The service serves no model.");
    return;
  }
  state.model = state.models[0].name;
  fillModels();
  await applyHash();
  document.body.dataset.ready = "true";
}

start();
