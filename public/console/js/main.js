/**
 * The console's entry point: the token gate, the tabs and the views. The token is asked for
 * once per tab and kept in sessionStorage; a 401 from any call forgets it and asks again.
 */
import { configureApi } from "./api.js";
import { initTabs } from "./tabs.js";
import { askForToken, clearToken, getToken } from "./token.js";
import { createCacheView } from "./views/cache.js";
import { createCountersView } from "./views/counters.js";
import { createFeedView } from "./views/feed.js";
import { createLeaderboardsView } from "./views/leaderboards.js";
import { createLocksView } from "./views/locks.js";
import { createStatsView } from "./views/stats.js";

/** @param {string} id */
const panel = (id) => /** @type {HTMLElement} */ (document.getElementById(`panel-${id}`));

const feed = createFeedView(panel("feed"));
/** @type {Record<string, { show: () => void, hide: () => void }>} */
const views = {
  leaderboards: createLeaderboardsView(panel("leaderboards")),
  counters: createCountersView(panel("counters")),
  locks: createLocksView(panel("locks")),
  cache: createCacheView(panel("cache")),
  stats: createStatsView(panel("stats")),
  feed,
};

const forgetButton = /** @type {HTMLButtonElement} */ (document.getElementById("forget-token"));
let current = "";
let authorized = false;

/** Starts what needs the token: the feed, and the shown view (e.g. the stats view loads itself). */
function onToken() {
  authorized = true;
  forgetButton.hidden = false;
  feed.start();
  views[current]?.show();
}

/** @param {string} [message] */
function lock(message) {
  if (authorized) {
    authorized = false;
    views[current]?.hide();
  }
  feed.stop();
  clearToken();
  forgetButton.hidden = true;
  void askForToken(message).then(onToken);
}

configureApi({
  token: getToken,
  onUnauthorized: (error) => lock(error.status === 401 && error.title !== "No API token" ? `The API refused the token: ${error.detail || error.title}` : undefined),
});

forgetButton.addEventListener("click", () => lock());

initTabs(/** @type {HTMLElement} */ (document.querySelector('[role="tablist"]')), (id) => {
  if (authorized) views[current]?.hide();
  current = id;
  if (authorized) views[current]?.show();
});

if (getToken()) onToken();
else lock();
