/* GET /track: report id + tracking code (typed, or from the link's #id=…&code=… fragment, which never reaches
   the server's logs) → GET /reports/{id} with X-Tracking-Code → progress in plain words; once closed, the
   rating form → POST /reports/{id}/rating with the same code (the API refuses anyone else). */
(function () {
  "use strict";
  var R = window.resident;
  var main = document.getElementById("track-page");
  var labels = JSON.parse(main.dataset.labels || "{}");
  var idInput = document.getElementById("report-id");
  var codeInput = document.getElementById("tracking-code");
  var error = document.getElementById("track-error");
  var progress = document.getElementById("progress");
  var ratingForm = document.getElementById("rating-form");
  var ratingError = document.getElementById("rating-error");
  var current = null; // {id, code}

  function label(table, key) {
    return (labels[table] && labels[table][key]) || key || "";
  }

  function eventText(ev) {
    if (ev.kind === "transition" && ev.to_status) {
      return "状态变为：" + label("status", ev.to_status);
    }
    return label("event", ev.kind);
  }

  function render(report) {
    document.getElementById("p-id").textContent = String(report.id);
    document.getElementById("p-category").textContent = report.category_label || report.category;
    document.getElementById("p-status").textContent = report.status_label || label("status", report.status);
    var rated = report.rating !== undefined && report.rating !== null;
    document.getElementById("p-hint").textContent =
      rated && report.status === "closed" ? "已结案，感谢您的评价" : label("hint", report.status);
    var stage = "";
    if (report.stage_label && report.status !== "closed") {
      stage = "当前环节：" + report.stage_label;
      if (report.stage_due_at) {
        stage += "，预计 " + R.beijing(report.stage_due_at) + " 前完成";
      }
    }
    document.getElementById("p-stage").textContent = stage;
    var list = document.getElementById("timeline");
    list.textContent = "";
    (report.history || []).forEach(function (ev) {
      var li = document.createElement("li");
      var time = document.createElement("time");
      time.dateTime = ev.at;
      time.textContent = R.beijing(ev.at);
      li.appendChild(time);
      li.appendChild(document.createTextNode(eventText(ev)));
      if (ev.note) {
        var note = document.createElement("div");
        note.className = "hint";
        note.textContent = ev.note;
        li.appendChild(note);
      }
      list.appendChild(li);
    });
    document.getElementById("rated").hidden = !rated;
    if (rated) {
      document.getElementById("rated-text").textContent =
        report.rating + " 分" + (report.rating_comment ? "：" + report.rating_comment : "") + "。感谢您的评价！";
    }
    ratingForm.hidden = rated || report.status !== "closed";
    progress.hidden = false;
    main.dataset.loaded = String(report.id);
  }

  async function load(id, code) {
    error.hidden = true;
    progress.hidden = true;
    main.dataset.loaded = "";
    if (!/^[0-9]{1,19}$/.test(id) || !code) {
      R.show(error, "请输入上报编号（数字）和追踪码");
      main.dataset.failed = "1";
      return;
    }
    var r = await R.api("GET", "/reports/" + id, undefined, { "X-Tracking-Code": code });
    if (!r.ok) {
      R.show(error, R.message(r));
      main.dataset.failed = String(r.status);
      return;
    }
    current = { id: id, code: code };
    main.dataset.failed = "";
    render(r.data);
  }

  document.getElementById("track-form").addEventListener("submit", function (e) {
    e.preventDefault();
    var id = idInput.value.trim();
    var code = codeInput.value.trim();
    // Keep them in the fragment (client side only) so that a reload or a bookmark works.
    history.replaceState(null, "", "#id=" + encodeURIComponent(id) + "&code=" + encodeURIComponent(code));
    load(id, code);
  });

  ratingForm.addEventListener("submit", async function (e) {
    e.preventDefault();
    ratingError.hidden = true;
    var chosen = ratingForm.querySelector("input[name=rating]:checked");
    if (!chosen) {
      return R.show(ratingError, "请选择满意程度（1–5 分）");
    }
    var comment = document.getElementById("rating-comment").value.trim();
    var body = { rating: Number(chosen.value) };
    if (comment) {
      body.comment = comment;
    }
    var button = document.getElementById("rating-submit");
    button.disabled = true;
    var r = await R.api("POST", "/reports/" + current.id + "/rating", body, { "X-Tracking-Code": current.code });
    button.disabled = false;
    if (!r.ok) {
      return R.show(ratingError, R.message(r));
    }
    var report = r.data;
    if (report.rating === undefined || report.rating === null) {
      report.rating = body.rating;
      report.rating_comment = comment || null;
    }
    render(report);
  });

  var fragment = new URLSearchParams(location.hash.replace(/^#/, ""));
  if (fragment.get("id") && fragment.get("code")) {
    idInput.value = fragment.get("id");
    codeInput.value = fragment.get("code");
    load(fragment.get("id").trim(), fragment.get("code").trim());
  }
  main.dataset.ready = "1";
})();
