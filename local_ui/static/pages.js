// The pages except Usage (usage.js, loaded only when it opens): one module each under pages/.
export { Overview } from "./pages/overview.js";
export { Bill } from "./pages/bill.js";
export { Alerts } from "./pages/alerts.js";
export { Nodes } from "./pages/nodes.js";
export { Settings } from "./pages/settings.js";
export { Login, Setup } from "./pages/login.js";
