// The admin's live execution page: colours the graph's nodes as the run's events arrive over
// the contract's WebSocket, and resyncs from the server after status changes (events of nodes
// restored from a checkpoint are not sent again, and a reconnect may have missed some).
(function () {
  "use strict";
  var configElement = document.getElementById("live-execution-config");
  if (!configElement) { return; }
  var config = JSON.parse(configElement.textContent);
  var STATES = ["pending", "running", "completed", "failed", "skipped", "waiting"];
  var TERMINAL = ["completed", "failed", "cancelled"];
  var statusElement = document.getElementById("execution-status");
  var progressElement = document.getElementById("execution-progress");
  var connectionElement = document.getElementById("live-connection");
  var logElement = document.getElementById("live-log");
  var token = config.token;
  var finished = config.terminal;
  var resyncTimer = null;
  var retries = 0;

  function nodeElement(nodeId) {
    var all = document.querySelectorAll("#execution-graph g.cx-node");
    for (var i = 0; i < all.length; i++) {
      if (all[i].getAttribute("data-node-id") === nodeId) { return all[i]; }
    }
    return null;
  }

  var RANK = { pending: 0, running: 1, waiting: 2, completed: 3, failed: 3, skipped: 3 };

  function currentState(nodeId) {
    var element = nodeElement(nodeId);
    var found = element && element.getAttribute("class").match(/state-(\w+)/);
    return found ? found[1] : "pending";
  }

  function setNodeState(nodeId, state) {
    var element = nodeElement(nodeId);
    if (!element || STATES.indexOf(state) < 0) { return; }
    STATES.forEach(function (s) { element.classList.remove("state-" + s); });
    element.classList.add("state-" + state);
    element.setAttribute("data-state", state);
    var label = element.querySelector("text.state");
    if (label) { label.textContent = state; }
  }

  function setStatus(data) {
    if (!data || !data.status) { return; }
    statusElement.textContent = data.status;
    statusElement.setAttribute("data-status", data.status);
    if (typeof data.progress === "number") {
      progressElement.textContent = data.progress + "%";
    }
    if (data.status === "waiting" && data.current_node) {
      setNodeState(data.current_node, "waiting");
    }
  }

  function setConnection(state, text) {
    connectionElement.setAttribute("data-state", state);
    connectionElement.textContent = text;
  }

  function log(text) {
    var item = document.createElement("li");
    item.textContent = new Date().toLocaleTimeString() + "  " + text;
    logElement.appendChild(item);
    logElement.scrollTop = logElement.scrollHeight;
  }

  function resync() {
    fetch(config.state_url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (state) {
        if (!state) { return; }
        token = state.token;
        Object.keys(state.nodes).forEach(function (id) {
          // The database learns of pure nodes in batches: a resync never takes a node back
          // to an earlier state than the events showed, unless the run is over.
          if (state.terminal || RANK[state.nodes[id]] >= RANK[currentState(id)]) {
            setNodeState(id, state.nodes[id]);
          }
        });
        setStatus(state);
        if (state.terminal) { finished = true; hideCancel(); }
      })
      .catch(function () { /* the next event or reconnect tries again */ });
  }

  function hideCancel() {
    // A finished run cannot be cancelled any more: only retry stays.
    var cancel = document.getElementById("cancel-execution");
    if (cancel && cancel.form) { cancel.form.style.display = "none"; }
  }

  function scheduleResync() {
    if (resyncTimer) { clearTimeout(resyncTimer); }
    resyncTimer = setTimeout(resync, 150);
  }

  function handle(message) {
    var data = message.data || {};
    switch (message.type) {
      case "node_started": setNodeState(data.node_id, "running"); break;
      case "node_finished": setNodeState(data.node_id, "completed"); break;
      case "node_failed": setNodeState(data.node_id, "failed"); log(data.node_id + " failed: " + (data.error || "")); break;
      case "log": log((data.node_id ? data.node_id + ": " : "") + data.message); break;
      case "status": setStatus(data); scheduleResync(); break;
      case "completed": case "failed": case "cancelled":
        finished = true;
        hideCancel();
        setStatus(Object.assign({}, data, { status: message.type }));
        log("Run " + message.type + (data.error ? ": " + data.error : ""));
        scheduleResync();
        break;
      default: break;
    }
  }

  function connect() {
    var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    var socket = new WebSocket(scheme + window.location.host + config.socket_path +
                               "?token=" + encodeURIComponent(token));
    socket.onopen = function () { retries = 0; setConnection("live", "(live)"); };
    socket.onmessage = function (event) {
      try { handle(JSON.parse(event.data)); } catch (error) { /* ignore a malformed message */ }
    };
    socket.onclose = function (event) {
      if (finished || TERMINAL.indexOf(statusElement.getAttribute("data-status")) >= 0) {
        setConnection("closed", "(finished)");
        return;
      }
      setConnection("reconnecting", "(reconnecting…)");
      retries += 1;
      // 4401: the token expired; the resync fetches a fresh one before reconnecting.
      resync();
      setTimeout(connect, Math.min(500 * retries, 5000) + (event.code === 4401 ? 300 : 0));
    };
  }

  connect();
})();
