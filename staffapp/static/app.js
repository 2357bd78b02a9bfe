// Barid staff app: sign in with a one-time code, scan (typed or by camera), queue scans on the device
// (IndexedDB) and send them in batches whenever the network is there, the postman's route and cash.
// No build step, no library: what the phone's browser has (IndexedDB, fetch, Intl, BarcodeDetector).
"use strict";
(() => {
  const $ = (id) => document.getElementById(id);
  const NUM = new Intl.NumberFormat("fa-IR");
  const DAY = new Intl.DateTimeFormat("fa-IR-u-ca-persian", { weekday: "long", year: "numeric", month: "long",
                                                               day: "numeric", timeZone: "Asia/Tehran" });
  const TIME = new Intl.DateTimeFormat("fa-IR-u-ca-persian", { hour: "2-digit", minute: "2-digit",
                                                                timeZone: "Asia/Tehran" });
  const ISO_DAY = new Intl.DateTimeFormat("en-CA", { timeZone: "Asia/Tehran" });  // YYYY-MM-DD, Tehran's day
  const rials = (n) => NUM.format(n) + " ریال";
  // "سه‌شنبه ۱۲ دی ۱۴۰۸", as the server's jalali_long writes it (ICU's own order for fa varies by version).
  const jalaliLong = (when) => {
    const p = Object.fromEntries(DAY.formatToParts(when).map((x) => [x.type, x.value]));
    return `${p.weekday} ${p.day} ${p.month} ${p.year}`;
  };
  const faDigits = (s) => String(s).replace(/[0-9]/g, (d) => "۰۱۲۳۴۵۶۷۸۹"[d]);
  const latin = (s) => String(s).replace(/[۰-۹]/g, (d) => d.charCodeAt(0) - 0x6f0)
    .replace(/[٠-٩]/g, (d) => d.charCodeAt(0) - 0x660);
  const today = () => ISO_DAY.format(new Date());
  const EVENT_FA = {
    accepted: "پذیرش", arrived_delivery_office: "رسیدن به اداره توزیع", out_for_delivery: "تحویل به نامه‌رسان",
    delivered: "تحویل به گیرنده", delivery_failed: "تحویل ناموفق", cod_collected: "دریافت وجه در محل",
    sorting_in: "ورود به مبادلات", sorting_out: "خروج از مبادلات", returned_to_sender: "بازگشت به فرستنده",
  };
  const STATE_FA = { pending: "در صف ارسال", accepted: "ثبت شد", duplicate: "تکراری (پیش‌تر ثبت شده)",
                     refused: "رد شد" };
  const ME_KEY = "barid-staff-me";
  const PLAN_KEY = "barid-staff-plan";
  const BATCH = 100;
  let me = JSON.parse(localStorage.getItem(ME_KEY) || "null");

  // -- the device queue (IndexedDB): one record per scan, keyed by its scan_id ---------------------------------
  let dbPromise = null;
  function db() {
    dbPromise = dbPromise || new Promise((resolve, reject) => {
      const req = indexedDB.open("barid-staff", 1);
      req.onupgradeneeded = () => req.result.createObjectStore("scans", { keyPath: "scan_id" });
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    });
    return dbPromise;
  }
  async function store(mode, fn) {
    const d = await db();
    return new Promise((resolve, reject) => {
      const t = d.transaction("scans", mode);
      const req = fn(t.objectStore("scans"));
      t.oncomplete = () => resolve(req ? req.result : undefined);  // resolved once on disk: nothing lost on reload
      t.onerror = () => reject(t.error);
    });
  }
  const putScans = (records) => store("readwrite", (s) => { records.forEach((r) => s.put(r)); return null; });
  const allScans = () => store("readonly", (s) => s.getAll());

  function uuid() {
    if (crypto.randomUUID) return crypto.randomUUID();
    const b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 15) | 64; b[8] = (b[8] & 63) | 128;
    const h = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  }

  // -- the network -----------------------------------------------------------------------------------------
  function setNet(online) {
    const el = $("net");
    el.textContent = online ? "برخط" : "بدون شبکه — اسکن‌ها روی دستگاه می‌مانند";
    el.classList.toggle("offline", !online);
  }
  function headers() {
    return { "Content-Type": "application/json", "X-CSRF-Token": me ? me.csrf_token : "" };
  }
  function problemFa(p) {
    if (!p) return "خطای ناشناخته";
    if (p.errors && p.errors.length) return p.errors.map((e) => e.message_fa || e.message).join("؛ ");
    return p.detail_fa || p.title || p.detail || "خطای ناشناخته";
  }
  async function api(method, path, body) {
    const resp = await fetch(path, { method, headers: headers(), credentials: "same-origin",
                                     body: body === undefined ? undefined : JSON.stringify(body) });
    setNet(true);
    const text = await resp.text();
    const data = text ? JSON.parse(text) : null;
    if (resp.status === 401) signedOut(problemFa(data));
    return { ok: resp.ok, status: resp.status, data };
  }

  // -- sending the queue -----------------------------------------------------------------------------------
  let flushing = false;
  async function flush() {
    if (!me) return;
    // One sender per device across tabs where the browser can say so; a second send would only come back as
    // duplicates (the server keeps each scan_id once), but the answer shown would be the wrong one.
    if (navigator.locks) return navigator.locks.request("barid-staff-send", { ifAvailable: true },
                                                        (lock) => (lock ? send() : null));
    return send();
  }
  async function send() {
    if (flushing) return;
    flushing = true;
    try {
      const pending = (await allScans()).filter((r) => r.state === "pending" && r.staff_id === me.staff_id)
        .sort((a, b) => a.seq - b.seq);
      for (let i = 0; i < pending.length; i += BATCH) {
        const chunk = pending.slice(i, i + BATCH);
        let res;
        try {
          res = await api("POST", "/v1/scans/batch", { scans: chunk.map((r) => r.body) });
        } catch (e) {
          setNet(false);
          return;
        }
        if (!res.ok) {  // the whole batch was refused (signed out, store busy): it stays queued
          $("last-result").textContent = "ارسال انجام نشد: " + problemFa(res.data);
          return;
        }
        for (const r of res.data.results) {
          const rec = chunk[r.index];
          rec.state = r.ok ? (r.duplicate ? "duplicate" : "accepted") : "refused";
          rec.message = r.ok ? "" : problemFa(r.error);
          rec.sent_ms = Date.now();
        }
        await putScans(chunk);
      }
    } finally {
      flushing = false;
      renderQueue();
    }
  }

  // -- S10 tracking numbers --------------------------------------------------------------------------------
  function s10(raw) {
    const tn = latin(raw).replace(/\s+/g, "").toUpperCase();
    const m = /^([A-Z]{2})(\d{8})(\d)([A-Z]{2})$/.exec(tn);
    if (!m) return null;
    const w = [8, 6, 4, 2, 3, 5, 9, 7];
    let sum = 0;
    for (let i = 0; i < 8; i++) sum += w[i] * +m[2][i];
    let check = 11 - (sum % 11);
    if (check === 10) check = 0;
    if (check === 11) check = 5;
    return check === +m[3] ? tn : null;
  }

  // -- scanning --------------------------------------------------------------------------------------------
  function showFields() {
    const ev = $("event").value;
    $("delivery-fields").hidden = ev !== "delivered";
    $("failure-fields").hidden = ev !== "delivery_failed";
    const card = document.querySelector("input[name=method]:checked").value === "card";
    $("rrn").hidden = $("rrn-label").hidden = !card;
  }
  function amountOf(id) {
    const digits = latin($(id).value).replace(/[^0-9]/g, "");
    return digits ? parseInt(digits, 10) : 0;
  }

  async function onScan(ev) {
    ev.preventDefault();
    const err = $("scan-error");
    err.textContent = "";
    const tn = s10($("tn").value);
    if (!tn) { err.textContent = "کد رهگیری باید به شکل EP123456785IR و با رقم کنترل درست باشد"; return; }
    const event = $("event").value;
    const now = Date.now();
    const base = { tracking_number: tn, office: me.office };
    const bodies = [];
    if (event === "delivered") {
      const name = $("receiver-name").value.trim();
      if (!name) { err.textContent = "نام تحویل‌گیرنده را بنویسید"; return; }
      const body = { ...base, event, receiver_name: name, receiver_relation: $("relation").value };
      const code = latin($("delivery-code").value).trim();
      if (code) body.delivery_code = code;
      bodies.push(body);
      const amount = amountOf("cod-amount");
      if (amount > 0) {
        const method = document.querySelector("input[name=method]:checked").value;
        const cod = { ...base, event: "cod_collected", amount, method };
        if (method === "card") {
          cod.rrn = latin($("rrn").value).trim();
          if (!/^\d{12}$/.test(cod.rrn)) { err.textContent = "شمارهٔ مرجع کارتخوان باید ۱۲ رقم باشد"; return; }
        }
        bodies.push(cod);
      }
    } else if (event === "delivery_failed") {
      bodies.push({ ...base, event, reason: $("reason").value });
    } else {
      bodies.push({ ...base, event });
    }
    // occurred_at is the moment of the scan, not of the upload; the COD follows the hand-over by 1 ms.
    const records = bodies.map((b, i) => {
      b.scan_id = uuid();
      b.occurred_at = new Date(now + i).toISOString();
      return { scan_id: b.scan_id, seq: now + i, staff_id: me.staff_id, state: "pending", body: b };
    });
    await putScans(records);
    $("last-result").textContent = `${faDigits(tn)} — ${EVENT_FA[event]}: در صف ارسال`;
    $("tn").value = "";
    ["receiver-name", "delivery-code", "cod-amount", "rrn"].forEach((id) => { $(id).value = ""; });
    $("cod-words").textContent = "";
    $("tn").focus();
    renderQueue();
    flush();
  }

  async function renderQueue() {
    if (!me) return;
    const records = (await allScans()).filter((r) => r.staff_id === me.staff_id).sort((a, b) => b.seq - a.seq);
    const pending = records.filter((r) => r.state === "pending").length;
    $("pending-count").textContent = pending ? `(${NUM.format(pending)})` : "";
    const list = $("scan-list");
    list.replaceChildren(...records.slice(0, 200).map((r) => {
      const li = document.createElement("li");
      li.dataset.scanId = r.scan_id;
      li.dataset.state = r.state;
      const state = document.createElement("span");
      state.className = "state " + r.state;
      state.textContent = STATE_FA[r.state];
      const tn = document.createElement("span");
      tn.className = "tn";
      tn.textContent = r.body.tracking_number;
      const what = document.createElement("div");
      what.textContent = `${EVENT_FA[r.body.event]} — ${TIME.format(new Date(r.seq))}` +
        (r.body.amount ? ` — ${rials(r.body.amount)}` : "");
      li.append(state, tn, what);
      if (r.message) {
        const msg = document.createElement("div");
        msg.className = "error";
        msg.textContent = r.message;
        li.append(msg);
      }
      return li;
    }));
    renderCash(records);
  }

  // -- camera ----------------------------------------------------------------------------------------------
  let stream = null;
  async function camera() {
    const video = $("camera");
    if (stream) { stream.getTracks().forEach((t) => t.stop()); stream = null; video.hidden = true; return; }
    try {
      const detector = new BarcodeDetector({ formats: ["code_128", "qr_code", "code_39"] });
      stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } });
      video.srcObject = stream;
      video.hidden = false;
      await video.play();
      const tick = async () => {
        if (!stream) return;
        const found = await detector.detect(video).catch(() => []);
        for (const code of found) {
          const tn = s10(code.rawValue);
          const target = tn ? $("tn") : /^M\d+X[0-9A-F]+$/i.test(code.rawValue) ? $("manifest-id") : null;
          if (target) {
            target.value = tn || code.rawValue.toUpperCase();
            if (navigator.vibrate) navigator.vibrate(80);
            camera();  // stop
            return;
          }
        }
        setTimeout(tick, 200);
      };
      tick();
    } catch (e) {
      $("camera-note").textContent = "دوربین باز نشد (" + (e.name || "خطا") + ")؛ کد را تایپ کنید.";
    }
  }
  function cameraSupport() {
    if (!("BarcodeDetector" in window) || !navigator.mediaDevices) {
      $("camera-btn").disabled = true;
      $("camera-note").textContent = "این مرورگر خواندن بارکد با دوربین را پشتیبانی نمی‌کند؛ کد رهگیری را تایپ کنید.";
    }
  }

  // -- manifests -------------------------------------------------------------------------------------------
  async function onManifest(ev) {
    ev.preventDefault();
    const out = $("manifest-result");
    const id = latin($("manifest-id").value).trim().toUpperCase();
    out.textContent = "در حال پذیرش…";
    let res;
    try {
      res = await api("POST", `/v1/manifests/${encodeURIComponent(id)}/accept`, {});
    } catch (e) {
      setNet(false);
      out.textContent = "پذیرش فهرست تحویل به شبکه نیاز دارد؛ وقتی وصل شدید دوباره بزنید.";
      return;
    }
    if (!res.ok) { out.textContent = problemFa(res.data); return; }
    const d = res.data;
    out.replaceChildren();
    const head = document.createElement("p");
    head.className = "ok";
    head.textContent = `${NUM.format(d.accepted.length)} مرسوله پذیرفته شد` +
      (d.missing.length ? `، ${NUM.format(d.missing.length)} مرسوله نه` : "");
    out.append(head);
    for (const m of d.missing) {
      const p = document.createElement("p");
      p.className = "error";
      p.textContent = `${m.tracking_number}: ${m.detail_fa || m.detail}`;
      out.append(p);
    }
  }

  // -- the postman's day -----------------------------------------------------------------------------------
  function renderCash(records) {
    const day = today();
    let cash = 0, card = 0, delivered = 0, failed = 0;
    for (const r of records) {
      if (r.state !== "accepted" && r.state !== "duplicate") continue;
      if (ISO_DAY.format(new Date(r.body.occurred_at)) !== day) continue;
      if (r.body.event === "cod_collected") {
        if (r.body.method === "cash") cash += r.body.amount; else card += r.body.amount;
      } else if (r.body.event === "delivered") delivered++;
      else if (r.body.event === "delivery_failed") failed++;
    }
    $("cash-today").textContent = `امروز ${NUM.format(delivered)} تحویل و ${NUM.format(failed)} تحویل ناموفق ثبت ` +
      `کرده‌اید. نقدی برای تحویل به صندوق: ${rials(cash)}؛ کارتخوان: ${rials(card)}.`;
    $("cash-today").dataset.cash = cash;
    if (!$("declared").value) $("declared").placeholder = NUM.format(cash);
  }

  function link(href, text) {
    const a = document.createElement("a");
    a.href = href;
    a.textContent = text;
    if (href.startsWith("https:")) { a.target = "_blank"; a.rel = "noopener noreferrer"; }
    return a;
  }
  function renderPlan(record) {
    const list = $("stops");
    list.replaceChildren();
    if (!record || record.status !== "done") return;
    const n = parseInt(latin($("postman-no").value), 10) || 1;
    const postman = record.plan.postmen[n - 1];
    if (!postman) { $("plan-status").textContent = `این برنامه نامه‌رسان شمارهٔ ${NUM.format(n)} ندارد.`; return; }
    $("plan-status").textContent = `${jalaliLong(new Date(record.date + "T12:00:00+03:30"))} — ` +
      `${NUM.format(postman.stops.length)} توقف، دریافت در محل ${rials(postman.cod_rials || 0)}`;
    for (const stop of postman.stops) {
      const li = document.createElement("li");
      li.className = "stop";
      const title = document.createElement("strong");
      title.textContent = `توقف ${NUM.format(stop.sequence)} — ساعت ${faDigits(stop.service_start || "")}`;
      const address = document.createElement("div");
      address.textContent = [stop.address, stop.city].filter(Boolean).join("، ");
      li.append(title, address);
      const parcels = document.createElement("div");
      parcels.className = "tn";
      parcels.textContent = (stop.parcels || []).join(" ");
      li.append(parcels);
      for (const who of stop.receivers || []) {
        if (who.phone) li.append(link("tel:" + who.phone, `تماس با ${who.name || "گیرنده"} ${faDigits(who.phone)}`));
      }
      if (stop.lat != null && stop.lon != null) {
        li.append(link(`geo:${stop.lat},${stop.lon}`, "نقشه (برنامهٔ گوشی)"));
        li.append(link(`https://www.openstreetmap.org/?mlat=${stop.lat}&mlon=${stop.lon}#map=17/${stop.lat}/${stop.lon}`,
                       "نقشه در مرورگر"));
      }
      if (stop.cod_rials) {
        const cod = document.createElement("div");
        cod.textContent = "دریافت از گیرنده: " + rials(stop.cod_rials);
        li.append(cod);
      }
      list.append(li);
    }
  }
  async function loadPlan(planId) {
    const status = $("plan-status");
    for (let i = 0; i < 60; i++) {
      let res;
      try {
        res = await api("GET", `/v1/offices/${me.office}/plans/${encodeURIComponent(planId)}`);
      } catch (e) {
        setNet(false);
        status.textContent = "بدون شبکه؛ آخرین برنامهٔ ذخیره‌شده نشان داده می‌شود.";
        renderPlan(JSON.parse(localStorage.getItem(PLAN_KEY) || "null"));
        return;
      }
      if (!res.ok) { status.textContent = problemFa(res.data); return; }
      if (res.data.status === "done" || res.data.status === "failed") {
        localStorage.setItem(PLAN_KEY, JSON.stringify(res.data));
        if (res.data.status === "failed") status.textContent = "برنامه ساخته نشد: " + (res.data.message || "");
        renderPlan(res.data);
        return;
      }
      status.textContent = "برنامه در حال ساخته‌شدن است…";
      await new Promise((r) => setTimeout(r, 1500));
    }
  }
  async function onPlan(ev) {
    ev.preventDefault();
    const id = $("plan-id").value.trim();
    if (id) { localStorage.setItem("barid-staff-plan-id", id); loadPlan(id); }
  }
  async function newPlan() {
    try {
      const res = await api("POST", `/v1/offices/${me.office}/plans`, { date: today(), time_limit_s: 5 });
      if (!res.ok) { $("plan-status").textContent = problemFa(res.data); return; }
      $("plan-id").value = res.data.plan_id;
      localStorage.setItem("barid-staff-plan-id", res.data.plan_id);
      loadPlan(res.data.plan_id);
    } catch (e) {
      setNet(false);
      $("plan-status").textContent = "ساختن برنامه به شبکه نیاز دارد.";
    }
  }

  // -- cash close (the money feature's POST /v1/offices/{code}/cash-closings) ------------------------------
  async function onCashClose(ev) {
    ev.preventDefault();
    const out = $("cash-result");
    const declared = $("declared").value ? amountOf("declared") : +($("cash-today").dataset.cash || 0);
    const body = { date: today(), postman: parseInt(latin($("cash-postman").value), 10), declared_total: declared };
    let res;
    try {
      res = await api("POST", `/v1/offices/${me.office}/cash-closings`, body);
    } catch (e) {
      setNet(false);
      out.textContent = "بستن صندوق به شبکه نیاز دارد.";
      return;
    }
    if (res.status === 404 && res.data && res.data.code === "route_not_found") {
      out.textContent = "بستن صندوق هنوز روی این سرور فعال نشده است.";
      return;
    }
    if (!res.ok) { out.textContent = problemFa(res.data); return; }
    const d = res.data;
    out.replaceChildren();
    const rows = [["مبلغ مورد انتظار", rials(d.expected)], ["مبلغ تحویلی", rials(d.declared_total ?? declared)],
                  ["مغایرت", rials(d.variance)]];
    for (const [k, v] of rows) {
      const p = document.createElement("p");
      p.textContent = `${k}: ${v}`;
      out.append(p);
    }
    for (const x of d.exceptions || []) {
      const p = document.createElement("p");
      p.className = "error";
      p.textContent = x.detail_fa || x.message_fa || JSON.stringify(x);
      out.append(p);
    }
  }

  // -- screens ---------------------------------------------------------------------------------------------
  const TABS = ["scan", "queue", "day", "cash"];
  function tab(name) {
    for (const t of TABS) $(t).hidden = t !== name;
    document.querySelectorAll("#tabs button").forEach((b) => {
      if (b.dataset.tab === name) b.setAttribute("aria-current", "page"); else b.removeAttribute("aria-current");
    });
  }
  function signedIn() {
    $("signin").hidden = true;
    $("tabs").hidden = false;
    $("sign-out").hidden = false;
    $("who").textContent = `${me.name} — ${me.office_name_fa} (\u2068${me.office}\u2069)`;  // isolate the Latin code
    $("cash-postman").value = String(me.staff_id);
    $("cash-date").textContent = "تاریخ: " + jalaliLong(new Date());
    $("reason").replaceChildren(...Object.entries(me.failure_reasons).map(([k, fa]) => new Option(fa, k)));
    $("plan-id").value = localStorage.getItem("barid-staff-plan-id") || "";
    renderPlan(JSON.parse(localStorage.getItem(PLAN_KEY) || "null"));
    tab("scan");
    renderQueue();
    flush();
  }
  function signedOut(why) {
    me = null;
    localStorage.removeItem(ME_KEY);
    for (const t of TABS) $(t).hidden = true;
    $("tabs").hidden = true;
    $("sign-out").hidden = true;
    $("who").textContent = "";
    $("signin").hidden = false;
    $("signin-error").textContent = why || "";
  }
  async function onSignIn(ev) {
    ev.preventDefault();
    $("signin-error").textContent = "";
    try {
      const resp = await fetch("/staff/api/sign-in", {
        method: "POST", headers: { "Content-Type": "application/json" }, credentials: "same-origin",
        body: JSON.stringify({ staff_id: parseInt(latin($("staff-id").value), 10), code: latin($("code").value) }),
      });
      const data = await resp.json();
      if (!resp.ok) { $("signin-error").textContent = problemFa(data); return; }
      me = data;
      localStorage.setItem(ME_KEY, JSON.stringify(me));
      $("code").value = "";
      signedIn();
    } catch (e) {
      $("signin-error").textContent = "ورود به شبکه نیاز دارد.";
    }
  }
  async function onSignOut() {
    try { await api("POST", "/staff/api/sign-out"); } catch (e) { /* the cookie ends with the session anyway */ }
    signedOut("");
  }

  async function start() {
    setNet(navigator.onLine);
    cameraSupport();
    $("signin-form").addEventListener("submit", onSignIn);
    $("scan-form").addEventListener("submit", onScan);
    $("manifest-form").addEventListener("submit", onManifest);
    $("plan-form").addEventListener("submit", onPlan);
    $("new-plan").addEventListener("click", newPlan);
    $("cash-form").addEventListener("submit", onCashClose);
    $("camera-btn").addEventListener("click", camera);
    $("send-now").addEventListener("click", flush);
    $("sign-out").addEventListener("click", onSignOut);
    $("event").addEventListener("change", showFields);
    document.querySelectorAll("input[name=method]").forEach((r) => r.addEventListener("change", showFields));
    document.querySelectorAll("#tabs button").forEach((b) => b.addEventListener("click", () => tab(b.dataset.tab)));
    for (const [input, out] of [["cod-amount", "cod-words"], ["declared", "declared-words"]]) {
      $(input).addEventListener("input", () => { $(out).textContent = $(input).value ? rials(amountOf(input)) : ""; });
    }
    window.addEventListener("online", () => { setNet(true); flush(); });
    window.addEventListener("offline", () => setNet(false));
    setInterval(() => { if (navigator.onLine) flush(); }, 15000);
    showFields();
    if ("serviceWorker" in navigator) navigator.serviceWorker.register("/staff/sw.js", { scope: "/staff" });
    if (me) signedIn(); else signedOut("");
    try {  // refresh who is signed in (and the CSRF token); offline, the copy kept on the device serves
      const resp = await fetch("/staff/api/me", { credentials: "same-origin" });
      if (resp.ok) {
        me = await resp.json();
        localStorage.setItem(ME_KEY, JSON.stringify(me));
        signedIn();
      } else if (resp.status === 401) {
        signedOut(me ? "نشست شما پایان یافته است؛ دوباره وارد شوید." : "");
      }
    } catch (e) {
      setNet(false);
    }
    document.documentElement.dataset.ready = "1";
  }
  start();
})();
