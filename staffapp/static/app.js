// Barid staff app: sign in with a one-time code, scan (typed or by camera), queue scans on the device
// (IndexedDB) and send them in batches whenever the network is there, the postman's route and cash.
// No build step: what the phone's browser has (IndexedDB, fetch, Intl, BarcodeDetector); where it has no
// BarcodeDetector, the bundled reader (decoder/, ZXing) is fetched on the first use of the camera.
"use strict";
(() => {
  const { $, NUM, rials, faDigits, latin, jalaliLong, EVENT_FA, STATE_FA, TIME, putScans, allScans, uuid, problemFa,
          s10 } = window.BaridStaff;
  const ME_KEY = "barid-staff-me";
  const PLAN_KEY = "barid-staff-plan";
  const BATCH = 100;
  let me = JSON.parse(localStorage.getItem(ME_KEY) || "null");

  // -- the network -----------------------------------------------------------------------------------------
  function setNet(online) {
    const el = $("net");
    el.textContent = online ? "برخط" : "بدون شبکه — اسکن‌ها روی دستگاه می‌مانند";
    el.classList.toggle("offline", !online);
  }
  function headers() {
    return { "Content-Type": "application/json", "X-CSRF-Token": me ? me.csrf_token : "" };
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
        const cod = { ...base, event: "cod_collected", amount, method, postman: String(me.staff_id) };
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
  // The browser's own reader where there is one; else the bundled one, loaded now and only now (?decoder=zxing
  // forces it, to try it on a phone that has both).
  const bundled = () => !("BarcodeDetector" in window) || new URLSearchParams(location.search).get("decoder") === "zxing";
  function script(src) {
    return new Promise((resolve, reject) => {
      const s = document.createElement("script");
      s.src = src;
      s.onload = resolve;
      s.onerror = () => reject(new Error("not loaded"));
      document.head.append(s);
    });
  }
  async function reader() {
    if (!bundled()) return new BarcodeDetector({ formats: ["code_128", "qr_code", "code_39"] });
    $("camera-note").textContent = "در حال آماده‌کردن بارکدخوان…";
    try {
      if (!window.BaridDecoder) await script("/staff/decoder/decoder.js");
      const found = await window.BaridDecoder.detector();
      $("camera-note").textContent = "";
      return found;
    } catch (e) {
      throw Object.assign(new Error("decoder"), { fa: "بارکدخوان بارگیری نشد (شبکه را بررسی کنید)؛ کد را تایپ کنید." });
    }
  }
  async function camera() {
    const video = $("camera");
    if (stream) { stream.getTracks().forEach((t) => t.stop()); stream = null; video.hidden = true; return; }
    try {
      const detector = await reader();
      stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } });
      video.srcObject = stream;
      video.hidden = false;
      await video.play();
      const tick = async () => {
        if (!stream) return;
        const found = await detector.detect(video).catch(() => []);
        for (const code of found) {
          // a label's Code 128 is the number; its QR code is the public tracking link, which ends with it
          const tn = s10(code.rawValue) || s10((/\/track\/([A-Z0-9]{13})\b/i.exec(code.rawValue) || [])[1] || "");
          const target = tn ? $("tn") : /^M\d+X[0-9A-F]+$/i.test(code.rawValue) ? $("manifest-id") : null;
          if (target) {
            target.value = tn || code.rawValue.toUpperCase();
            $("camera-note").textContent = "خوانده شد: " + target.value;
            if (navigator.vibrate) navigator.vibrate(80);
            camera();  // stop
            return;
          }
        }
        setTimeout(tick, 200);
      };
      tick();
    } catch (e) {
      $("camera-note").textContent = e.fa || "دوربین باز نشد (" + (e.name || "خطا") + ")؛ کد را تایپ کنید.";
    }
  }
  function cameraSupport() {
    if (!navigator.mediaDevices || (bundled() && !window.WebAssembly)) {
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

  const { renderCash, renderPlan, loadPlan, onPlan, newPlan, onCashClose } =
    window.BaridStaff.day({ me: () => me, api, setNet });
  const supervisor = window.BaridStaff.supervisor({ me: () => me, api, setNet });

  // -- screens ---------------------------------------------------------------------------------------------
  const TABS = ["scan", "queue", "day", "cash", "supervisor"];
  function tab(name) {
    for (const t of TABS) $(t).hidden = t !== name;
    if (name === "supervisor") supervisor.refresh();
    document.querySelectorAll("#tabs button").forEach((b) => {
      if (b.dataset.tab === name) b.setAttribute("aria-current", "page"); else b.removeAttribute("aria-current");
    });
  }
  function signedIn() {
    $("signin").hidden = true;
    $("tabs").hidden = false;
    $("sign-out").hidden = false;
    $("tab-supervisor").hidden = me.role !== "supervisor";
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
    $("tab-supervisor").hidden = true;
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
    supervisor.start();
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
