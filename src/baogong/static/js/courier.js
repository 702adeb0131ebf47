// Courier page: record delivered / not reached / refused per package, offline first.
// Every tap becomes an action with its own UUID and the phone's time, kept in
// localStorage until the server has answered it. Answers come per action; an
// action is dropped from the queue only once it has one, so a lost response
// just means the same action (same id) is sent again and the server replays
// its first answer.
(function () {
  "use strict";
  var root = document.getElementById("courier");
  if (!root) {
    return;
  }
  var syncUrl = root.dataset.syncUrl;
  var queueKey = root.dataset.queueKey;
  var csrf = root.querySelector("[name=csrfmiddlewaretoken]").value;
  var statusBox = document.getElementById("sync-status");
  var statusText = document.getElementById("sync-text");
  var statusCount = document.getElementById("sync-count");
  var sending = false;
  var retryTimer = null;
  var retryDelay = 2000;

  function uuid4() {
    if (window.crypto && window.crypto.randomUUID) {
      return window.crypto.randomUUID();
    }
    // Pages served over plain http on a LAN have no randomUUID; getRandomValues is always there.
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    var hex = Array.prototype.map.call(bytes, function (b) { return (b + 0x100).toString(16).slice(1); }).join("");
    return hex.slice(0, 8) + "-" + hex.slice(8, 12) + "-" + hex.slice(12, 16) + "-" + hex.slice(16, 20) + "-" + hex.slice(20);
  }

  function load() {
    try {
      return JSON.parse(window.localStorage.getItem(queueKey) || "[]");
    } catch (e) {
      return [];
    }
  }

  function save(queue) {
    window.localStorage.setItem(queueKey, JSON.stringify(queue));
  }

  function packageOf(orderId) {
    return root.querySelector('.package[data-order="' + orderId + '"]');
  }

  function show(orderId, state, text) {
    var box = packageOf(orderId);
    if (!box) {
      return;
    }
    box.dataset.state = state;
    box.querySelector(".state-label").textContent = text;
    var final = state === "delivered" || state === "refused" || state === "conflict";
    var actions = box.querySelector(".actions");
    if (actions) {
      actions.hidden = final || state === "queued";
    }
  }

  function refreshStatus() {
    var queue = load();
    var online = navigator.onLine;
    statusBox.dataset.online = online ? "true" : "false";
    statusText.textContent = online ? root.dataset.labelOnline : root.dataset.labelOffline;
    statusCount.textContent = queue.length ? root.dataset.labelPending + " " + queue.length : (online ? root.dataset.labelSynced : "");
    root.dataset.queued = String(queue.length);
  }

  function scheduleRetry() {
    if (retryTimer) {
      return;
    }
    retryTimer = window.setTimeout(function () {
      retryTimer = null;
      flush();
    }, retryDelay);
    retryDelay = Math.min(retryDelay * 2, 30000);
  }

  function apply(result) {
    if (result.status === 200 || result.status === 201) {
      show(result.order_id, result.outcome, root.dataset["label" + label(result.outcome)] || result.message);
    } else if (result.status === 409) {
      show(result.order_id, "conflict", result.message);
    } else {
      show(result.order_id, "error", result.message);
    }
  }

  function label(outcome) {
    // dataset keys: labelDelivered, labelNot_reached, labelRefused
    return outcome ? outcome.charAt(0).toUpperCase() + outcome.slice(1) : "";
  }

  function flush() {
    var queue = load();
    refreshStatus();
    if (sending || !queue.length) {
      return;
    }
    sending = true;
    var batch = queue.slice(0, 50);
    fetch(syncUrl, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
      body: JSON.stringify({ actions: batch })
    }).then(function (response) {
      if (!response.ok) {
        throw new Error("sync answered " + response.status);
      }
      return response.json();
    }).then(function (body) {
      var answered = {};
      body.results.forEach(function (result) {
        answered[result.action_id] = true;
        apply(result);
      });
      save(load().filter(function (action) { return !answered[action.action_id]; }));
      retryDelay = 2000;
      sending = false;
      refreshStatus();
      if (load().length) {
        flush();
      }
    }).catch(function () {
      // Network gone or server trouble: keep everything queued and try again later.
      sending = false;
      refreshStatus();
      scheduleRetry();
    });
  }

  function record(button) {
    var box = button.closest(".package");
    var orderId = parseInt(box.dataset.order, 10);
    var queue = load();
    queue.push({
      action_id: uuid4(),
      order_id: orderId,
      outcome: button.dataset.outcome,
      paid_by: button.dataset.paidBy || "",
      client_at: new Date().toISOString()
    });
    save(queue);
    show(orderId, "queued", root.dataset.labelQueued);
    flush();
  }

  root.addEventListener("click", function (event) {
    var button = event.target.closest("button[data-outcome]");
    if (button) {
      record(button);
    }
  });
  window.addEventListener("online", function () {
    retryDelay = 2000;
    flush();
  });
  window.addEventListener("offline", refreshStatus);
  // Actions still queued from before a reload show as queued until they are answered.
  load().forEach(function (action) {
    show(action.order_id, "queued", root.dataset.labelQueued);
  });
  flush();
})();
