// Keeps the peers table live from the portal's server-sent events (/dashboard/events).
(function () {
  var body = document.getElementById("peer-rows");
  var updated = document.getElementById("updated-at");
  var feedState = document.getElementById("feed-state");
  if (!body || !window.EventSource) return;

  function cell(tag, text, className) {
    var el = document.createElement(tag);
    if (className) el.className = className;
    if (text !== undefined) el.textContent = text;
    return el;
  }

  function row(p) {
    var tr = document.createElement("tr");
    tr.dataset.peer = p.node_id;
    tr.className = p.stale ? "stale" : "ok";
    var name = cell("th", p.name); name.scope = "row"; tr.appendChild(name);
    tr.appendChild(cell("td", p.role));
    var state = cell("td");
    state.appendChild(cell("span", p.state_label, "badge peer-" + p.state));
    if (p.pulling) { state.appendChild(document.createTextNode(" ")); state.appendChild(cell("span", "拉取中", "muted")); }
    tr.appendChild(state);
    tr.appendChild(cell("td", String(p.behind)));
    var ok = cell("td", p.last_ok || "从未");
    if (p.last_ok) { ok.appendChild(document.createElement("br")); ok.appendChild(cell("span", p.last_ok_ago, "muted")); }
    tr.appendChild(ok);
    tr.appendChild(cell("td", p.last_error || "—", p.last_error ? "error-text" : "none"));
    tr.appendChild(cell("td", String(p.entries_at_hub)));
    tr.appendChild(cell("td", p.entries_at_peer >= 0 ? String(p.entries_at_peer) : "未知"));
    return tr;
  }

  function show(snap) {
    if (snap.error) {
      feedState.textContent = snap.error + " 更新于 " + snap.at;
      return;
    }
    var rows = document.createDocumentFragment();
    snap.peers.forEach(function (p) { rows.appendChild(row(p)); });
    body.replaceChildren(rows);
    feedState.textContent = snap.node_name + "（" + snap.role + "），在用目录 " + snap.live_entries + " 条；" +
      snap.peers.length + " 个下级节点，其中 " + snap.stale + " 个同步异常。更新于 " + snap.at;
    document.body.dataset.live = "1";
  }

  var source = new EventSource("/dashboard/events");
  source.addEventListener("status", function (event) { show(JSON.parse(event.data)); });
  source.onerror = function () { feedState.textContent = "与门户的实时连接中断，正在重连…"; };
})();
