// Papyr dashboard: decisions, corrections and uploads go through the same HTTP API as every other
// client, with the session's CSRF token; boxes on the page image light up with their field/finding.
"use strict";

function csrfHeaders(extra) {
  const meta = document.querySelector("meta[name=csrf-token]");
  const headers = Object.assign({}, extra || {});
  if (meta) headers["X-CSRF-Token"] = meta.content;
  return headers;
}

function showMessage(element, text, ok) {
  element.textContent = text;
  element.className = element.className.replace(/\b(ok|fail)\b/g, "").trim() + " " + (ok ? "ok" : "fail");
}

async function errorText(response) {
  try {
    const body = await response.json();
    return body.error || response.statusText;
  } catch (_) {
    return response.statusText;
  }
}

function postJson(url, payload) {
  return fetch(url, {
    method: "POST",
    credentials: "same-origin",
    headers: csrfHeaders({ "Content-Type": "application/json" }),
    body: JSON.stringify(payload),
  });
}

function wireApprovalForm(form) {
  const message = form.querySelector(".message");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const decision = event.submitter ? event.submitter.value : "approved";
    const payload = {
      decision: decision,
      comment: form.querySelector("textarea[name=comment]").value.trim() || null,
    };
    if (form.dataset.level) payload.level = Number(form.dataset.level);
    // A card's "Open in Papyr" link carries the approver's action token in the fragment, which
    // never reaches a server; the decision goes with it.
    const token = new URLSearchParams(window.location.hash.slice(1)).get("token");
    if (token) payload.token = token;
    const buttons = form.querySelectorAll("button");
    buttons.forEach((b) => { b.disabled = true; });
    try {
      const response = await postJson("/api/approvals/" + encodeURIComponent(form.dataset.invoiceId), payload);
      if (response.status === 202) {
        showMessage(message, "Decision sent (" + decision + "). Refreshing…", true);
        setTimeout(() => window.location.reload(), 1500);
        return;
      }
      showMessage(message, await errorText(response), false);
    } catch (error) {
      showMessage(message, "Could not reach the server: " + error, false);
    }
    buttons.forEach((b) => { b.disabled = false; });
  });
}

function wireFieldEditing(table) {
  const message = document.querySelector(".field-message");
  const invoiceId = table.dataset.invoiceId;
  table.querySelectorAll("button.edit").forEach((button) => {
    button.addEventListener("click", () => {
      const row = button.closest("tr");
      if (row.querySelector("form.correct")) return;
      const form = document.createElement("form");
      form.className = "correct";
      const input = document.createElement("input");
      input.name = "value";
      input.value = button.dataset.value;
      input.setAttribute("aria-label", "new value for " + button.dataset.field.replace(/_/g, " "));
      const save = document.createElement("button");
      save.type = "submit";
      save.textContent = "Save";
      form.append(input, save);
      row.querySelector("td.value").append(form);
      input.focus();
      form.addEventListener("submit", async (event) => {
        event.preventDefault();
        save.disabled = true;
        const url = "/api/invoices/" + encodeURIComponent(invoiceId) + "/fields/" + encodeURIComponent(button.dataset.field);
        try {
          const response = await postJson(url, { value: input.value });
          if (response.ok) {
            showMessage(message, "Saved " + button.dataset.field.replace(/_/g, " ") + ". Refreshing…", true);
            setTimeout(() => window.location.reload(), 800);
            return;
          }
          showMessage(message, await errorText(response), false);
        } catch (error) {
          showMessage(message, "Could not reach the server: " + error, false);
        }
        save.disabled = false;
      });
    });
  });
}

function wireBoxes() {
  // A field row and its boxes highlight each other; clicking a box scrolls to its row.
  const pairs = [["field", "tr.field-row", "field"], ["finding", "tr.finding-row", "finding"]];
  pairs.forEach(([kind, rowSelector, attribute]) => {
    document.querySelectorAll(rowSelector).forEach((row) => {
      const key = row.dataset[attribute];
      const boxes = document.querySelectorAll("rect.box[data-kind=" + kind + "][data-key='" + CSS.escape(key) + "']");
      const on = () => { row.classList.add("hot"); boxes.forEach((b) => b.classList.add("hot")); };
      const off = () => { row.classList.remove("hot"); boxes.forEach((b) => b.classList.remove("hot")); };
      row.addEventListener("mouseenter", on);
      row.addEventListener("mouseleave", off);
      boxes.forEach((box) => {
        box.addEventListener("mouseenter", on);
        box.addEventListener("mouseleave", off);
        box.addEventListener("click", () => row.scrollIntoView({ behavior: "smooth", block: "center" }));
      });
    });
  });
}

function wireUploadForm(form) {
  const message = form.querySelector(".message");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const file = form.querySelector("input[type=file]").files[0];
    if (!file) return;
    const response = await fetch("/api/documents?filename=" + encodeURIComponent(file.name), {
      method: "POST",
      credentials: "same-origin",
      headers: csrfHeaders({ "Content-Type": "application/octet-stream" }),
      body: file,
    });
    if (response.status === 202) {
      const body = await response.json();
      showMessage(message, body.documents.length + " document(s) queued. Refreshing…", true);
      setTimeout(() => window.location.reload(), 1500);
    } else if (response.ok) {
      const body = await response.json();
      showMessage(message, "Nothing new: " + (body.detail || body.outcome), true);
    } else {
      showMessage(message, await errorText(response), false);
    }
  });
}

document.addEventListener("DOMContentLoaded", () => {
  const approval = document.getElementById("approval-form");
  if (approval) wireApprovalForm(approval);
  const fields = document.querySelector("table.fields");
  if (fields) wireFieldEditing(fields);
  wireBoxes();
  const upload = document.getElementById("upload-form");
  if (upload) wireUploadForm(upload);
});
