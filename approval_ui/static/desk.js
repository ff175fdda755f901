// Keyboard shortcuts for the queue and the draft page, as mail clients have them.
// j / k next / previous, o or Enter open, a approve, r reject, e edit, / search, ? help.
// Served from /static (CSP script-src 'self'); state-changing calls send the CSRF header.
(() => {
  "use strict";
  const page = document.body.dataset.page;
  const csrfMeta = document.querySelector('meta[name="csrf-token"]');
  const csrf = csrfMeta ? csrfMeta.content : "";

  const typing = (el) =>
    el && (el.isContentEditable || /^(INPUT|TEXTAREA|SELECT|BUTTON)$/.test(el.tagName));

  function say(text) {
    let box = document.getElementById("queue-notice") || document.getElementById("key-notice");
    if (!box) {
      box = document.createElement("p");
      box.id = "key-notice";
      box.className = "notice";
      box.setAttribute("role", "status");
      document.querySelector("main").prepend(box);
    }
    box.textContent = text;
    box.hidden = false;
  }

  function toggleHelp() {
    const help = document.getElementById("shortcut-help");
    if (help) help.hidden = !help.hidden;
  }

  // A slow form (regenerate) says so and cannot be sent twice.
  document.querySelectorAll("form[data-busy]").forEach((form) =>
    form.addEventListener("submit", () => {
      const button = form.querySelector("button[type=submit]");
      if (button) {
        button.disabled = true;
        button.textContent = form.dataset.busy;
      }
    })
  );

  function queueKeys() {
    const rows = Array.from(document.querySelectorAll("#queue tbody tr"));
    let at = -1;
    const select = (i) => {
      if (!rows.length) return;
      at = Math.max(0, Math.min(rows.length - 1, i));
      rows.forEach((row, n) => row.classList.toggle("selected", n === at));
      rows[at].scrollIntoView({ block: "nearest" });
    };
    const current = () => (at >= 0 ? rows[at] : null);
    const open = (row, hash) => {
      window.location.href = `/drafts/${row.dataset.id}${hash || ""}`;
    };

    async function approve(row) {
      const id = row.dataset.id;
      if (row.dataset.status !== "pending") return say(`Draft ${id} is ${row.dataset.status}; only pending drafts can be approved.`);
      if (Number(row.dataset.flags) > 0) return open(row, "#approve");  // flags need an explicit confirmation
      const response = await fetch(`/api/drafts/${id}/approve`, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
        body: JSON.stringify({ version: Number(row.dataset.version) }),
      });
      const data = await response.json().catch(() => ({}));
      if (!response.ok) return say(`Draft ${id} was not approved: ${data.detail || response.status}`);
      row.dataset.status = "approved";
      row.dataset.version = String(data.version);
      row.className = "status-approved selected";
      const badge = row.querySelector(".badge");
      if (badge) {
        badge.textContent = "approved";
        badge.className = "badge approved";
      }
      say(`Approved draft ${id}. Open it (o) to send.`);
    }

    if (rows.length) select(0);
    document.addEventListener("keydown", (event) => {
      if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) return;
      const row = current();
      const keys = {
        j: () => select(at + 1),
        k: () => select(at - 1),
        o: () => row && open(row),
        Enter: () => row && open(row),
        e: () => row && open(row, "#edit"),
        r: () => row && open(row, "#reject"),
        a: () => row && approve(row),
        "/": () => document.getElementById("search")?.focus(),
        "?": toggleHelp,
      };
      const action = keys[event.key];
      if (action) {
        event.preventDefault();
        action();
      }
    });
  }

  function draftKeys() {
    const edit = () => {
      const details = document.querySelector("details.edit");
      if (!details) return say("This draft can no longer be edited.");
      details.open = true;
      details.querySelector("textarea")?.focus();
    };
    const reject = () => {
      const select = document.querySelector("#reject-form select");
      if (!select) return say("This draft can no longer be rejected.");
      select.focus();
    };
    const approve = () => {
      const form = document.getElementById("approve-form");
      if (!form) return say("Only a pending draft can be approved.");
      const confirm = form.querySelector('input[name="confirm_flags"]');
      if (confirm && !confirm.checked) {
        confirm.focus();
        return say("This draft has grounding flags: review them, tick the box, then press a again.");
      }
      form.requestSubmit();
    };
    const go = (id) => {
      const link = document.getElementById(id);
      if (link) window.location.href = link.href;
    };
    const onHash = { "#edit": edit, "#reject": reject, "#approve": () => {
      const confirm = document.querySelector('#approve-form input[name="confirm_flags"]');
      (confirm || document.querySelector("#approve-form button"))?.focus();
    } };
    if (onHash[window.location.hash]) onHash[window.location.hash]();

    document.addEventListener("keydown", (event) => {
      if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) return;
      const keys = { j: () => go("next-draft"), k: () => go("prev-draft"), a: approve, r: reject, e: edit, "?": toggleHelp };
      const action = keys[event.key];
      if (action) {
        event.preventDefault();
        action();
      }
    });
  }

  if (page === "queue") queueKeys();
  if (page === "draft") draftKeys();
})();
