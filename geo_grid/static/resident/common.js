/* The resident pages' shared helpers: JSON calls to this service, Beijing time, messages. No globals but one. */
(function () {
  "use strict";

  /** Call the API; resolves to {ok, status, data} (data: the parsed JSON body, or null). */
  async function api(method, url, body, headers) {
    var init = { method: method, headers: Object.assign({ Accept: "application/json" }, headers || {}),
      credentials: "omit" };
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    var response;
    try {
      response = await fetch(url, init);
    } catch (e) {
      return { ok: false, status: 0, data: { message: "网络连接失败，请稍后重试" } };
    }
    var data = null;
    try {
      data = await response.json();
    } catch (e) {
      data = null;
    }
    return { ok: response.ok, status: response.status, data: data };
  }

  /** The Chinese message of an API error body ({code, message, detail}). */
  function message(result) {
    if (result.data && typeof result.data.message === "string") {
      return result.data.message;
    }
    if (result.status === 429) {
      return "操作太频繁，请稍后再试";
    }
    return "服务暂时不可用（" + result.status + "），请稍后重试";
  }

  function beijing(iso) {
    if (!iso) {
      return "";
    }
    return new Date(iso).toLocaleString("zh-CN", { timeZone: "Asia/Shanghai", hour12: false });
  }

  function show(el, text) {
    el.textContent = text;
    el.hidden = false;
  }

  window.resident = { api: api, message: message, beijing: beijing, show: show };
})();
