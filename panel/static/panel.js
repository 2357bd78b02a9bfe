/* Barid shop panel: each page calls the shop API (/v1/...) with the session cookie and its CSRF token.
   Text from the API is always inserted as text (never as HTML). Persian digits and Jalali dates come from the
   browser's own Intl (fa-IR, Persian calendar), not from a copy of the server's formatter. */
"use strict";
(function () {
  var CSRF = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";
  var NUM = new Intl.NumberFormat("fa-IR");
  var DATE = new Intl.DateTimeFormat("fa-IR-u-ca-persian", {dateStyle: "medium", timeStyle: "short", timeZone: "Asia/Tehran"});
  var DAY = new Intl.DateTimeFormat("fa-IR-u-ca-persian", {dateStyle: "medium", timeZone: "Asia/Tehran"});
  var STATUS = {pre_transit: "ثبت‌شده، در انتظار تحویل به پست", in_transit: "در راه", out_for_delivery: "در حال توزیع",
    failed_attempt: "تحویل ناموفق", delivered: "تحویل‌شده", returning: "در حال بازگشت",
    returned_to_sender: "بازگشته به فرستنده", cancelled: "لغوشده", booked: "ثبت‌شده"};
  var ACTIONS = {reattempt: "تلاش دوباره برای تحویل", reschedule: "تحویل در روز دیگر", update_contact: "اصلاح تلفن یا نشانی",
    hold_at_office: "نگه‌داری در ادارهٔ پست برای دریافت حضوری", return_to_sender: "بازگرداندن به فروشگاه"};
  var SERVICE = {pishtaz: "پیشتاز", sefareshi: "سفارشی"};
  var $ = function (s, r) { return (r || document).querySelector(s); };

  function el(tag, attrs) {
    var n = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "text") n.textContent = attrs[k]; else if (k === "on") n.addEventListener("click", attrs[k]);
      else n.setAttribute(k, attrs[k]);
    });
    for (var i = 2; i < arguments.length; i++) if (arguments[i] != null) n.append(arguments[i]);
    return n;
  }
  function fa(n) { return typeof n === "number" ? NUM.format(n) : String(n).replace(/\d/g, function (d) { return "۰۱۲۳۴۵۶۷۸۹"[d]; }); }
  function rials(n) { return NUM.format(n) + " ریال"; }
  function when(iso) { return iso ? DATE.format(new Date(iso)) : ""; }
  function latin(s) { return String(s).replace(/[۰-۹]/g, function (d) { return d.charCodeAt(0) - 1776; }).replace(/[٠-٩]/g, function (d) { return d.charCodeAt(0) - 1632; }); }
  // A Jalali date typed as 1405/09/16 (Persian or Latin digits) -> its Gregorian YYYY-MM-DD, by asking the
  // browser's Persian calendar (Intl) about days near a first guess: no calendar arithmetic of our own.
  var PARTS = new Intl.DateTimeFormat("en-u-ca-persian-nu-latn", {year: "numeric", month: "numeric", day: "numeric", timeZone: "UTC"});
  function jalaliISO(text) {
    var m = /^(\d{4})[\/\-.](\d{1,2})[\/\-.](\d{1,2})$/.exec(latin(String(text).trim()));
    if (!m) return null;
    var y = +m[1], mo = +m[2], d = +m[3];
    if (mo < 1 || mo > 12 || d < 1 || d > 31) return null;
    var guess = Date.UTC(y + 621, 2, 21) + ((mo <= 6 ? (mo - 1) * 31 : 186 + (mo - 7) * 30) + d - 1) * 864e5;
    for (var k = -3; k <= 3; k++) {
      var t = new Date(guess + k * 864e5), p = {};
      PARTS.formatToParts(t).forEach(function (x) { p[x.type] = x.value; });
      if (parseInt(p.year, 10) === y && +p.month === mo && +p.day === d) return t.toISOString().slice(0, 10);
    }
    return null;
  }
  function dateBound(input, end) {
    if (!input.value.trim()) return "";
    var iso = jalaliISO(input.value);
    input.setAttribute("aria-invalid", iso ? "false" : "true");
    if (!iso) throw new Error("تاریخ «" + input.value + "» درست نیست؛ به شکل ۱۴۰۵/۰۹/۱۶ بنویسید.");
    return iso + (end ? "T23:59:59+03:30" : "T00:00:00+03:30");
  }
  function problemText(p) {
    if (!p) return "پاسخی از سرور نرسید؛ اتصال را بررسی کنید.";
    var errs = (p.errors || []).map(function (e) { return e.message_fa || e.message; });
    return [p.detail_fa || p.title || "درخواست انجام نشد"].concat(errs).join(" — ");
  }

  function api(method, url, body, raw) {
    var opts = {method: method, credentials: "same-origin", headers: {"X-CSRF-Token": CSRF, "Accept": "application/json"}};
    if (raw) opts.body = raw;
    else if (body !== undefined) { opts.body = JSON.stringify(body); opts.headers["Content-Type"] = "application/json"; }
    return fetch(url, opts).then(function (r) {
      if (r.status === 401 && url.indexOf("/v1/") === 0) { location.href = "/shop/login"; }
      var type = r.headers.get("Content-Type") || "";
      var data = type.indexOf("json") >= 0 ? r.json() : (r.status === 204 ? Promise.resolve(null) : r.blob());
      return data.then(function (d) { return {ok: r.ok, status: r.status, data: d}; });
    }, function () { return {ok: false, status: 0, data: null}; });
  }
  function save(blob, name) {
    var a = el("a", {href: URL.createObjectURL(blob), download: name});
    document.body.append(a); a.click(); a.remove();
  }

  // -- parcels -------------------------------------------------------------------------------------------------
  function parcelCard(s) {
    var r = s.receiver || {};
    return el("article", {"class": "item"},
      el("a", {href: "/shop/parcels/" + encodeURIComponent(s.tracking_number), "class": "tn", dir: "ltr", text: s.tracking_number}),
      el("span", {"class": "badge st-" + s.status, text: STATUS[s.status] || s.status}),
      el("p", {text: [r.name, r.city, fa(r.phone || "")].filter(Boolean).join(" · ")}),
      el("p", {"class": "note", text: [when(s.created_at), s.client_order_id ? "سفارش " + fa(s.client_order_id) : "",
        s.price != null ? "هزینه " + rials(s.price) : "",
        s.payment && s.payment.type === "cod" ? "پس‌کرایه " + rials(s.payment.goods_value) : ""].filter(Boolean).join(" · ")}));
  }
  function parcels() {
    var form = $("#search"), list = $("#list"), more = $("#more"), note = $("#note"), cursor = null, phone = null;
    function query() {
      var q = latin(form.q.value.trim()), params = new URLSearchParams({limit: "50"});
      phone = null;
      if (/^[A-Za-z]{2}\d{9}[A-Za-z]{2}$/.test(q)) return {one: q.toUpperCase()};
      if (/^(\+98|0098|0)?9\d{9}$/.test(q)) { phone = "0" + q.slice(-10); params.set("limit", "100"); }
      else if (q) params.set("client_order_id", q);
      if (form.status.value) params.set("status", form.status.value);
      var from = dateBound(form.from), to = dateBound(form.to, true);
      if (from) params.set("created_from", from);
      if (to) params.set("created_to", to);
      return {params: params};
    }
    function load(append) {
      var q;
      try { q = query(); } catch (e) { note.textContent = e.message; return; }
      if (!append) list.textContent = "";
      note.textContent = "در حال بارگیری…";
      if (q.one) {
        return api("GET", "/v1/shipments/" + encodeURIComponent(q.one)).then(function (r) {
          note.textContent = r.ok ? "" : problemText(r.data);
          if (r.ok) list.append(parcelCard(r.data));
          more.hidden = true;
        });
      }
      if (append && cursor) q.params.set("cursor", cursor);
      return api("GET", "/v1/shipments?" + q.params).then(function (r) {
        if (!r.ok) { note.textContent = problemText(r.data); return; }
        var items = r.data.items.filter(function (s) { return !phone || (s.receiver && s.receiver.phone === phone); });
        items.forEach(function (s) { list.append(parcelCard(s)); });
        cursor = r.data.next_cursor; more.hidden = !cursor;
        note.textContent = list.children.length ? (phone && cursor ? "برای یافتن همهٔ مرسوله‌های این تلفن «موارد بیشتر» را بزنید." : "")
          : "مرسوله‌ای با این مشخصات نیست.";
      });
    }
    form.addEventListener("submit", function (e) { e.preventDefault(); load(false); });
    more.addEventListener("click", function () { load(true); });
    load(false);
  }

  function parcel() {
    var box = $("#parcel"), tn = box.dataset.tn;
    api("GET", "/v1/shipments/" + encodeURIComponent(tn)).then(function (r) {
      box.textContent = "";
      if (!r.ok) { box.append(el("p", {"class": "error", role: "alert", text: problemText(r.data)})); return; }
      var s = r.data, rc = s.receiver || {}, dl = el("dl", {"class": "facts"});
      [["شمارهٔ رهگیری", s.tracking_number], ["وضعیت", STATUS[s.status] || s.status], ["سرویس", SERVICE[s.service] || s.service],
       ["گیرنده", rc.name], ["تلفن", fa(rc.phone || "")], ["نشانی", [rc.province, rc.city, rc.address].filter(Boolean).join("، ")],
       ["کد پستی", fa(rc.postal_code || "")], ["سفارش", s.client_order_id ? fa(s.client_order_id) : "—"],
       ["هزینهٔ ارسال", s.price != null ? rials(s.price) : "—"],
       ["پرداخت", s.payment && s.payment.type === "cod" ? "پس‌کرایه، " + rials(s.payment.goods_value) : "پیش‌کرایه"],
       ["ثبت", when(s.created_at)]].forEach(function (p) { dl.append(el("dt", {text: p[0]}), el("dd", {text: p[1] || "—"})); });
      box.append(dl);
      var h = $("#history");
      (s.history || []).slice().reverse().forEach(function (e) {
        h.append(el("li", {}, el("strong", {text: STATUS[e.status] || STATUS[e.type] || e.type || e.status || ""}),
          el("span", {"class": "note", text: " " + when(e.occurred_at || e.at) + (e.office ? " · " + fa(e.office) : "")})));
      });
      var cancel = $("#cancel");
      cancel.hidden = s.status !== "pre_transit";
      cancel.onclick = function () {
        if (!confirm("این مرسوله لغو شود؟")) return;
        api("POST", "/v1/shipments/" + encodeURIComponent(tn) + "/cancel").then(function (c) {
          $("#msg").textContent = c.ok ? "مرسوله لغو شد." : problemText(c.data);
          if (c.ok) location.reload();
        });
      };
    });
  }

  // -- booking -------------------------------------------------------------------------------------------------
  function formBody(form) {
    var body = {};
    form.querySelectorAll("input[name], select[name]").forEach(function (i) {
      var v = i.value.trim();
      if (!v) return;
      if (i.hasAttribute("data-int")) { var n = latin(v).replace(/[,٬]/g, ""); v = /^\d+$/.test(n) ? Number(n) : v; }
      var path = i.name.split("."), o = body;
      while (path.length > 1) { var k = path.shift(); o = o[k] = o[k] || {}; }
      o[path[0]] = v;
    });
    if (body.payment && body.payment.type !== "cod") delete body.payment.goods_value;
    return body;
  }
  function showErrors(form, problem) {
    var general = [];
    (problem && problem.errors || []).forEach(function (e) {
      var box = form.querySelector('[data-field="' + e.field + '"]');
      if (!box) { general.push(e.message_fa || e.message); return; }
      box.classList.add("bad");
      box.querySelector("input, select").setAttribute("aria-invalid", "true");
      box.querySelector(".field-error").textContent = e.message_fa || e.message;
    });
    var top = $("#form-error");
    top.hidden = false;
    top.textContent = [problem ? problem.detail_fa || problem.title : "پاسخی از سرور نرسید."].concat(general).join(" — ");
  }
  function book() {
    var form = $("#book"), done = $("#booked");
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      form.querySelectorAll(".bad").forEach(function (b) { b.classList.remove("bad"); b.querySelector(".field-error").textContent = ""; b.querySelector("input, select").removeAttribute("aria-invalid"); });
      $("#form-error").hidden = true; done.hidden = true;
      api("POST", "/v1/shipments", formBody(form)).then(function (r) {
        if (!r.ok) { showErrors(form, r.data); return; }
        done.hidden = false; done.textContent = "";
        done.append(el("p", {text: "مرسوله ثبت شد. شمارهٔ رهگیری: "}, el("a", {id: "booked-tn", dir: "ltr",
          href: "/shop/parcels/" + r.data.tracking_number, text: r.data.tracking_number})),
          el("p", {text: "هزینهٔ ارسال: " + rials(r.data.price)}));
        form.reset();
      });
    });
  }

  // -- booking from a sheet ------------------------------------------------------------------------------------
  function upload() {
    var form = $("#upload"), progress = $("#progress"), body = $("#report tbody"), failed = [];
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      if (!form.file.files.length) { progress.textContent = "فایل را انتخاب کنید."; return; }
      var data = new FormData(); data.append("file", form.file.files[0]);
      progress.textContent = "در حال خواندن فایل…"; body.textContent = ""; failed = [];
      api("POST", "/shop/sheets/parse", undefined, data).then(function (r) {
        if (!r.ok) { progress.textContent = problemText(r.data); return; }
        var rows = r.data.rows, size = Math.min(r.data.batch_max, 100), booked = 0, chain = Promise.resolve();
        for (var i = 0; i < rows.length; i += size) (function (chunk) {
          chain = chain.then(function () {
            return api("POST", "/v1/shipments/batch", {shipments: chunk.map(function (x) { return x.shipment; })}).then(function (b) {
              chunk.forEach(function (row, j) {
                var res = b.ok ? b.data.results[j] : null, ok = res && res.result === "booked";
                var errs = ok ? [] : res ? res.errors.map(function (x) { return (x.field ? x.field + ": " : "") + (x.message_fa || x.message); }) : [problemText(b.data)];
                if (ok) booked++; else failed.push({row: row.row, values: row.values, errors: errs});
                body.append(el("tr", {"class": ok ? "ok" : "bad"}, el("td", {text: fa(row.row)}),
                  el("td", {text: ok ? "ثبت شد" : "ثبت نشد"}),
                  el("td", {dir: ok ? "ltr" : "rtl", text: ok ? res.shipment.tracking_number : errs.join("؛ ")})));
              });
              progress.textContent = "ثبت " + fa(Math.min(rows.length, booked + failed.length)) + " از " + fa(rows.length) + " سطر…";
            });
          });
        })(rows.slice(i, i + size));
        return chain.then(function () {
          $("#report-card").hidden = false;
          $("#summary").textContent = fa(booked) + " مرسوله ثبت شد؛ " + fa(failed.length) + " سطر ثبت نشد.";
          progress.textContent = "پایان.";
          $("#failed").hidden = !failed.length;
        });
      });
    });
    $("#failed").addEventListener("click", function () {
      api("POST", "/shop/sheets/failed", {rows: failed}).then(function (r) { if (r.ok) save(r.data, "barid-failed-rows.xlsx"); });
    });
  }

  // -- bulk labels ---------------------------------------------------------------------------------------------
  function labels() {
    var form = $("#job"), err = $("#job-error");
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      err.hidden = true;
      var tns = latin(form.tns.value).split(/[\s,،]+/).filter(Boolean), body = {format: form.format.value};
      try {
        if (tns.length) body.tracking_numbers = tns;
        else body.booked_between = {from: dateBound(form.from) || "2000-01-01T00:00:00+03:30",
                                    to: dateBound(form.to, true) || new Date().toISOString()};
      } catch (x) { err.hidden = false; err.textContent = x.message; return; }
      api("POST", "/v1/label-jobs", body).then(function (r) {
        if (!r.ok) { err.hidden = false; err.textContent = problemText(r.data); return; }
        $("#job-state").hidden = false; poll(r.data.job_id);
      });
    });
    var mf = $("#manifest");
    mf.addEventListener("submit", function (e) {
      e.preventDefault();
      var out = $("#manifest-out"), tns = latin(mf.mtns.value).split(/[\s,،]+/).filter(Boolean), body = {};
      out.textContent = "";
      try { if (tns.length) body.tracking_numbers = tns; else body.date = (dateBound(mf.mdate) || new Date().toISOString()).slice(0, 10); }
      catch (x) { out.textContent = x.message; return; }
      api("POST", "/v1/manifests", body).then(function (r) {
        if (!r.ok) { out.textContent = problemText(r.data); return; }
        out.append(el("span", {text: "فهرست " + fa(r.data.manifest_id) + " با " + fa((r.data.tracking_numbers || []).length) + " مرسوله ساخته شد: "}),
          el("a", {href: new URL(r.data.pdf, location.href).pathname, download: "", text: "بارگیری PDF فهرست تحویل"}));
      });
    });
    function poll(id) {
      api("GET", "/v1/label-jobs/" + id).then(function (r) {
        if (!r.ok) { $("#job-text").textContent = problemText(r.data); return; }
        var j = r.data, bar = $("#job-progress");
        bar.max = j.total || 1; bar.value = j.done || 0;
        $("#job-text").textContent = fa(j.done || 0) + " از " + fa(j.total || 0) + " برچسب" + ((j.problems || []).length ? "؛ " + fa(j.problems.length) + " مرسوله برچسب ندارد" : "");
        if (j.status === "done") { var a = $("#job-file"); a.href = new URL(j.file, location.href).pathname; a.hidden = false; }
        else if (j.status === "failed") $("#job-text").textContent = "ساخت برچسب‌ها ناموفق بود؛ دوباره تلاش کنید.";
        else setTimeout(function () { poll(id); }, 1000);
      });
    }
  }

  // -- failed deliveries ---------------------------------------------------------------------------------------
  function ndr() {
    var box = $("#cases");
    api("GET", "/v1/ndr?limit=100").then(function (r) {
      if (!r.ok) { $("#msg").textContent = problemText(r.data); return; }
      var cases = r.data.data || r.data.items || [];
      if (!cases.length) box.append(el("p", {"class": "note", text: "پروندهٔ تحویل ناموفقی نیست."}));
      cases.forEach(function (c) {
        var id = "a-" + c.tracking_number, form = el("form", {"class": "row"});
        var sel = el("select", {id: id, name: "action"});
        (c.allowed_actions || []).forEach(function (a) { sel.append(el("option", {value: a, text: ACTIONS[a] || a})); });
        form.append(el("label", {"for": id, text: "اقدام"}), sel,
          el("label", {"for": id + "-d", text: "روز تحویل، خورشیدی (برای تحویل در روز دیگر)"}), el("input", {id: id + "-d", name: "date", type: "text", inputmode: "numeric", placeholder: "۱۴۰۵/۰۹/۱۶"}),
          el("label", {"for": id + "-p", text: "تلفن تازهٔ گیرنده (اختیاری)"}), el("input", {id: id + "-p", name: "phone", type: "tel"}),
          el("label", {"for": id + "-n", text: "توضیح نشانی (اختیاری)"}), el("input", {id: id + "-n", name: "address_notes"}),
          el("button", {type: "submit", text: "ثبت اقدام"}), el("p", {"class": "field-error", role: "status"}));
        form.addEventListener("submit", function (e) {
          e.preventDefault();
          var body = {action: sel.value};
          ["phone", "address_notes"].forEach(function (k) { if (form[k].value.trim()) body[k] = latin(form[k].value.trim()); });
          if (form.date.value.trim()) body.date = jalaliISO(form.date.value) || form.date.value;  // the API names a bad date
          api("POST", "/v1/ndr/" + c.tracking_number + "/actions", body).then(function (a) {
            form.querySelector(".field-error").textContent = a.ok ? "اقدام ثبت شد." : problemText(a.data);
          });
        });
        box.append(el("article", {"class": "item"},
          el("a", {href: "/shop/parcels/" + c.tracking_number, "class": "tn", dir: "ltr", text: c.tracking_number}),
          el("span", {"class": "badge", text: c.status_fa || c.status}),
          el("p", {text: (c.attempts || []).map(function (t) { return "تلاش " + fa(t.attempt) + ": " + (t.reason_fa || t.reason) + " (" + when(t.occurred_at) + ")"; }).join("؛ ")}),
          c.deadline ? el("p", {"class": "note", text: "مهلت تصمیم: " + when(c.deadline)}) : null,
          c.allowed_actions && c.allowed_actions.length ? form : null));
      });
    });
  }

  // -- owner's settings ----------------------------------------------------------------------------------------
  function settings() {
    $("#rotate").addEventListener("click", function () {
      if (!confirm("کلید تازه ساخته شود؟ کلید فعلی پس از دورهٔ هم‌پوشانی از کار می‌افتد.")) return;
      api("POST", "/v1/shop/api-key/rotate").then(function (r) { $("#key").textContent = r.ok ? r.data.api_key : problemText(r.data); });
    });
    function hooks() {
      var ul = $("#hooks"); ul.textContent = "";
      api("GET", "/v1/webhooks").then(function (r) {
        (r.ok ? r.data.data : []).forEach(function (h) {
          ul.append(el("li", {}, el("span", {dir: "ltr", text: h.url}), el("span", {"class": "badge", text: h.status === "active" ? "فعال" : "متوقف"}),
            el("button", {type: "button", "class": "danger", text: "حذف", on: function () {
              api("DELETE", "/v1/webhooks/" + h.id).then(hooks);
            }})));
        });
      });
    }
    $("#hook-add").addEventListener("submit", function (e) {
      e.preventDefault();
      api("POST", "/v1/webhooks", {url: e.target.url.value.trim()}).then(function (r) {
        $("#hook-msg").textContent = r.ok ? "وب‌هوک افزوده شد. رمز امضا (فقط همین بار): " + (r.data.secret || "") : problemText(r.data);
        hooks();
      });
    });
    function users() {
      var ul = $("#users"); ul.textContent = "";
      api("GET", "/v1/shop/users").then(function (r) {
        (r.ok ? r.data.data : []).forEach(function (u) {
          ul.append(el("li", {}, el("span", {text: fa(u.mobile) + " · " + (u.role === "owner" ? "مالک" : "کارمند")}),
            el("button", {type: "button", "class": "danger", text: "حذف", on: function () {
              if (confirm("دسترسی این کاربر برداشته شود؟")) api("DELETE", "/v1/shop/users/" + u.mobile).then(users);
            }})));
        });
      });
    }
    $("#invite").addEventListener("submit", function (e) {
      e.preventDefault();
      api("POST", "/v1/shop/users", {mobile: latin(e.target.mobile.value.trim()), role: e.target.role.value}).then(function (r) {
        $("#inv-msg").textContent = r.ok ? "کاربر افزوده شد. گذرواژهٔ یک‌بار مصرف را به او بدهید: " + r.data.one_time_password : problemText(r.data);
        users();
      });
    });
    hooks(); users();
  }

  // For the page scripts loaded after this one (handover.js): the same helpers, one copy.
  window.BaridPanel = {api: api, el: el, fa: fa, rials: rials, when: when, latin: latin, jalaliISO: jalaliISO,
                       dateBound: dateBound, problemText: problemText, DAY: DAY};

  var pages = {parcels: function () { return $("#parcel") ? parcel() : parcels(); }, book: book, upload: upload,
               labels: labels, ndr: ndr, settings: settings};
  document.addEventListener("DOMContentLoaded", function () {
    var page = pages[document.body.dataset.page];
    if (page) page();
  });
})();
