/* The resident's pages, enhanced: a live character counter, a draft kept in this browser's
   localStorage (with a prompt to restore it), and a "copy link" button on the receipt.
   Everything here is optional: the forms work the same with JavaScript off. */
(function () {
  "use strict";

  var KEY = "cv-submit-draft-v1";
  // Phone and e-mail are deliberately not kept: a draft may sit on a shared or borrowed device.
  var FIELDS = ["headline", "body", "direction", "author_role", "author_name", "affiliation", "byline_mode"];
  // What the server does not count (citizenvoice/textnorm.py): controls, format characters
  // (zero-width, bidi), lone surrogates, and whitespace.
  var INVISIBLE = /[\p{Cc}\p{Cf}\p{Cs}]/gu;

  function visibleLength(text) {
    var cleaned = (text || "").normalize("NFC").replace(INVISIBLE, "").replace(/\s+/g, "");
    return Array.from(cleaned).length;
  }

  function storage() {
    try {
      var probe = "__cv_probe__";
      window.localStorage.setItem(probe, probe);
      window.localStorage.removeItem(probe);
      return window.localStorage;
    } catch (e) {
      return null; // private mode or storage disabled: no drafts, nothing else changes
    }
  }

  function readDraft(store) {
    try {
      var draft = JSON.parse(store.getItem(KEY) || "null");
      return draft && draft.values ? draft : null;
    } catch (e) {
      return null;
    }
  }

  function writeDraft(store, draft) {
    try {
      store.setItem(KEY, JSON.stringify(draft));
      return true;
    } catch (e) {
      return false; // quota exceeded
    }
  }

  /* ---- character counters ---- */

  function counterText(count, min, max) {
    if (count === 0) return "已写 0 字";
    if (count < min) return "已写 " + count + " 字，还差 " + (min - count) + " 字";
    if (count > max) return "已写 " + count + " 字，超出 " + (count - max) + " 字，请删减";
    return "已写 " + count + " 字（" + min + "–" + max + " 字）";
  }

  function attachCounter(input) {
    var min = parseInt(input.getAttribute("data-count-min"), 10) || 0;
    var max = parseInt(input.getAttribute("data-count-max"), 10) || Infinity;
    var counter = document.createElement("p");
    counter.className = "counter";
    counter.id = input.id + "-counter";
    input.insertAdjacentElement("afterend", counter);
    var described = input.getAttribute("aria-describedby");
    input.setAttribute("aria-describedby", (described ? described + " " : "") + counter.id);
    function update() {
      var count = visibleLength(input.value);
      counter.textContent = counterText(count, min, max);
      counter.classList.toggle("over", count > max);
      counter.classList.toggle("short", count > 0 && count < min);
      counter.classList.toggle("ok", count >= min && count <= max);
    }
    input.addEventListener("input", update);
    update();
    return update;
  }

  /* ---- the submission form ---- */

  function formValues(form) {
    var values = {};
    FIELDS.forEach(function (name) {
      var field = form.elements[name];
      if (!field) return;
      values[name] = field.value || "";
    });
    return values;
  }

  function isEmpty(values) {
    return !values.headline && !values.body && !values.author_name && !values.affiliation;
  }

  function applyValues(form, values) {
    FIELDS.forEach(function (name) {
      var field = form.elements[name];
      if (!field || typeof values[name] !== "string") return;
      if (field instanceof RadioNodeList) {
        Array.prototype.forEach.call(field, function (radio) { radio.checked = radio.value === values[name]; });
      } else {
        field.value = values[name];
      }
      if (field.dispatchEvent) field.dispatchEvent(new Event("input"));
    });
  }

  function savedAtText(time) {
    var d = new Date(time);
    var pad = function (n) { return (n < 10 ? "0" : "") + n; };
    return (d.getMonth() + 1) + "月" + d.getDate() + "日 " + pad(d.getHours()) + ":" + pad(d.getMinutes());
  }

  function setupDraft(form, store, counters) {
    var banner = document.getElementById("draft-banner");
    var status = document.getElementById("draft-status");
    var draft = readDraft(store);
    var paused = false;
    var timer = null;

    if (draft && draft.submitted) {
      // We are back on the form after a submit attempt (errors shown): the draft is still needed.
      draft.submitted = false;
      writeDraft(store, draft);
    }
    var serverHasInput = form.hasAttribute("data-has-input");
    if (draft && !serverHasInput && !isEmpty(draft.values) && banner) {
      paused = true; // do not overwrite the stored draft before the author has decided
      banner.querySelector("[data-draft-time]").textContent = "（" + savedAtText(draft.savedAt) + "）";
      banner.querySelector("[data-draft-title]").textContent = draft.values.headline ? "《" + draft.values.headline + "》" : "";
      banner.hidden = false;
      banner.querySelector("[data-draft-restore]").addEventListener("click", function () {
        applyValues(form, draft.values);
        counters.forEach(function (update) { update(); });
        banner.hidden = true;
        paused = false;
        form.elements.headline.focus();
      });
      banner.querySelector("[data-draft-discard]").addEventListener("click", function () {
        store.removeItem(KEY);
        banner.hidden = true;
        paused = false;
        form.elements.headline.focus();
      });
    }

    function save(submitted) {
      if (paused) return;
      var values = formValues(form);
      if (isEmpty(values)) {
        store.removeItem(KEY);
        return;
      }
      var now = Date.now();
      if (writeDraft(store, { values: values, savedAt: now, submitted: !!submitted }) && status && !submitted) {
        status.textContent = "草稿已自动保存在这台设备上（" + savedAtText(now) + "）";
        status.hidden = false;
      }
    }

    function schedule() {
      window.clearTimeout(timer);
      timer = window.setTimeout(function () { save(false); }, 800);
    }

    form.addEventListener("input", schedule);
    form.addEventListener("change", schedule);
    form.addEventListener("submit", function () {
      window.clearTimeout(timer);
      paused = false;
      save(true); // cleared once the receipt page loads
    });
  }

  function setupPhotoCheck(form) {
    var input = form.elements.photo;
    if (!input || !input.files) return;
    var max = parseInt(input.getAttribute("data-max-bytes"), 10) || 0;
    var message = document.createElement("p");
    message.className = "error";
    message.id = "photo-size-error";
    message.hidden = true;
    input.insertAdjacentElement("beforebegin", message);
    input.addEventListener("change", function () {
      var file = input.files[0];
      var tooBig = !!(file && max && file.size > max);
      message.hidden = !tooBig;
      if (tooBig) {
        message.textContent = "这张照片有 " + (file.size / 1048576).toFixed(1) + " MB，超过了 " +
          Math.round(max / 1048576) + " MB，请换一张小一些的。";
        input.value = "";
      }
    });
  }

  function setupSubmitButton(form) {
    form.addEventListener("submit", function (event) {
      var button = event.submitter && !event.submitter.hasAttribute("data-code-button")
        ? event.submitter : form.querySelector("button[data-final-submit]");
      // Not disabled: if the network fails the author must be able to press it again (the server
      // turns a repeated submit into the same essay).
      if (button) button.textContent = "正在提交…";
    });
  }

  /* ---- 获取验证码: fetch the code and count down instead of reloading the form ---- */

  function setupCodeButton(form) {
    var button = form.querySelector("[data-code-button]");
    var notice = document.getElementById("code-notice");
    if (!button || !notice || !window.fetch || !window.FormData) return;
    var label = button.textContent;
    var timer = null;

    function countDown(seconds) {
      if (timer) window.clearInterval(timer);
      var left = seconds;
      button.disabled = true;
      button.textContent = left + " 秒后可重新获取";
      timer = window.setInterval(function () {
        left -= 1;
        if (left <= 0) {
          window.clearInterval(timer);
          timer = null;
          button.disabled = false;
          button.textContent = label;
        } else {
          button.textContent = left + " 秒后可重新获取";
        }
      }, 1000);
    }

    function show(text, isError) {
      notice.hidden = false;
      notice.textContent = text;
      notice.className = isError ? "notice error" : "notice";
    }

    var wait = parseInt(button.getAttribute("data-wait") || "0", 10);
    if (wait > 0) countDown(wait);

    button.addEventListener("click", function (event) {
      event.preventDefault();
      var data = new FormData(form);
      data.delete("photo"); // the code needs only the phone; the photo stays chosen in the form
      button.disabled = true;
      fetch("/submit/code", { method: "POST", body: data, credentials: "same-origin",
                              headers: { "Accept": "application/json" } })
        .then(function (response) { return response.json(); })
        .then(function (answer) {
          show(answer.ok ? answer.notice : answer.error, !answer.ok);
          if (answer.wait > 0) countDown(answer.wait);
          else button.disabled = false;
          if (answer.ok) document.getElementById("phone_code").focus();
          else if (answer.field) document.getElementById(answer.field).focus();
        })
        .catch(function () {
          // The network failed: let the button post the whole form the ordinary way.
          button.disabled = false;
          show("网络不太好，验证码没有发出。请再点一次「获取验证码」。", true);
        });
    });
  }

  /* ---- the receipt / tracking page ---- */

  function setupReceipt(store) {
    if (store) {
      // Only the draft of the essay this receipt is for: an old tracking page leaves a new draft alone.
      var draft = readDraft(store);
      var receipt = document.querySelector("[data-receipt]");
      var squash = function (text) { return (text || "").normalize("NFC").replace(INVISIBLE, "").replace(/\s+/g, ""); };
      if (draft && draft.submitted && squash(draft.values.headline) === squash(receipt.getAttribute("data-receipt"))) {
        store.removeItem(KEY);
      }
    }
    var button = document.querySelector("[data-copy]");
    var input = button && document.getElementById(button.getAttribute("data-copy"));
    if (!button || !input || !navigator.clipboard) return;
    button.hidden = false;
    button.addEventListener("click", function () {
      navigator.clipboard.writeText(input.value).then(function () {
        button.textContent = "已复制";
      }, function () {
        input.select();
      });
    });
  }

  function init() {
    var store = storage();
    var counters = Array.prototype.map.call(document.querySelectorAll("[data-count-min]"), attachCounter);
    var form = document.getElementById("submit-form");
    if (form) {
      if (store) setupDraft(form, store, counters);
      setupPhotoCheck(form);
      setupSubmitButton(form);
      setupCodeButton(form);
      var summary = document.getElementById("error-summary");
      if (summary) summary.focus();
    }
    if (document.querySelector("[data-receipt]")) setupReceipt(store);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
