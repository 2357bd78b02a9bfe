// Barid staff app, the supervisor's screen: issue a one-time sign-in code for a staff member of the office, see
// the office's signed-in devices and revoke one. The server checks the role and the office on every call; this
// screen is only shown to a supervisor.
"use strict";
window.BaridStaff.supervisor = ({ me, api, setNet }) => {
  const { $, faDigits, latin, TIME, problemFa } = window.BaridStaff;
  const DATE = new Intl.DateTimeFormat("fa-IR-u-ca-persian", { dateStyle: "medium", timeStyle: "short",
                                                                timeZone: "Asia/Tehran" });
  const office = () => encodeURIComponent(me().office);

  async function call(method, path, body) {
    try {
      return await api(method, path, body);
    } catch (e) {
      setNet(false);
      return { ok: false, status: 0, data: { detail_fa: "این کار به شبکه نیاز دارد؛ وقتی وصل شدید دوباره بزنید." } };
    }
  }

  async function onCode(ev) {
    ev.preventDefault();
    const err = $("code-error"), out = $("code-out");
    err.textContent = "";
    out.hidden = true;
    const id = latin($("code-staff").value).trim();
    if (!/^\d{1,12}$/.test(id)) { err.textContent = "شمارهٔ کارمندی را با رقم بنویسید"; return; }
    const res = await call("POST", `/v1/offices/${office()}/staff/${id}/sign-in-codes`, {});
    if (!res.ok) { err.textContent = problemFa(res.data); return; }
    const code = document.createElement("p");
    code.id = "issued-code";
    code.className = "code";
    code.dir = "ltr";
    code.textContent = faDigits(res.data.code);
    const note = document.createElement("p");
    note.className = "hint";
    note.textContent = `کد ورود کارمند ${faDigits(res.data.staff_id)}؛ یک بار کار می‌کند و تا ساعت ` +
      `${TIME.format(new Date(res.data.expires_at))} معتبر است. آن را فقط به خود او بدهید.`;
    out.replaceChildren(code, note);
    out.hidden = false;
    refresh();
  }

  async function refresh(said) {
    const note = $("sessions-note"), list = $("sessions");
    note.textContent = "در حال بارگیری…";
    const res = await call("GET", `/v1/offices/${office()}/staff-sessions`);
    if (!res.ok) { note.textContent = problemFa(res.data); return; }
    const rows = res.data.data;
    note.textContent = typeof said === "string" ? said : rows.length ? "" : "هیچ دستگاهی در این اداره وارد نشده است.";
    list.replaceChildren(...rows.map((s) => {
      const li = document.createElement("li");
      li.dataset.sessionId = s.session_id;
      const who = document.createElement("strong");
      who.textContent = `کارمند ${faDigits(s.staff_id)}` + (s.staff_id === me().staff_id ? " (خودتان)" : "");
      const when = document.createElement("div");
      when.textContent = "ورود: " + DATE.format(new Date(s.created_at));
      const device = document.createElement("div");
      device.className = "hint device";
      device.dir = "ltr";
      device.textContent = s.device || "—";
      const revoke = document.createElement("button");
      revoke.type = "button";
      revoke.className = "secondary";
      revoke.textContent = "خارج کردن این دستگاه";
      revoke.addEventListener("click", async () => {
        if (!confirm(`دستگاه کارمند ${faDigits(s.staff_id)} از برنامه خارج شود؟`)) return;
        const done = await call("DELETE", `/v1/offices/${office()}/staff-sessions/${encodeURIComponent(s.session_id)}`);
        if (done.ok) refresh("دستگاه خارج شد؛ برای ورود دوباره کد تازه لازم است.");
        else note.textContent = problemFa(done.data);
      });
      li.append(who, when, device, revoke);
      return li;
    }));
  }

  function start() {
    $("code-form").addEventListener("submit", onCode);
    $("sessions-refresh").addEventListener("click", () => refresh());
  }
  return { start, refresh };
};
