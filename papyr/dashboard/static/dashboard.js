// Papyr dashboard: approval decisions and uploads go through the same HTTP API as every other client.
"use strict";

function showMessage(element, text, ok) {
  element.textContent = text;
  element.className = "message " + (ok ? "ok" : "fail");
}

async function errorText(response) {
  try {
    const body = await response.json();
    return body.error || response.statusText;
  } catch (_) {
    return response.statusText;
  }
}

function wireApprovalForm(form) {
  const message = form.querySelector(".message");
  const nameInput = form.querySelector("input[name=by]");
  nameInput.value = localStorage.getItem("papyr.reviewer") || "";
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const decision = event.submitter ? event.submitter.value : "approved";
    const payload = {
      decision: decision,
      by: nameInput.value.trim(),
      comment: form.querySelector("textarea[name=comment]").value.trim() || null,
    };
    if (form.dataset.level) payload.level = Number(form.dataset.level);
    // A card's "Open in Papyr" link carries the approver's action token in the fragment, which
    // never reaches a server; the decision goes with it.
    const token = new URLSearchParams(window.location.hash.slice(1)).get("token");
    if (token) payload.token = token;
    localStorage.setItem("papyr.reviewer", payload.by);
    const buttons = form.querySelectorAll("button");
    buttons.forEach((b) => { b.disabled = true; });
    try {
      const response = await fetch("/api/approvals/" + encodeURIComponent(form.dataset.invoiceId), {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(payload),
      });
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

function wireUploadForm(form) {
  const message = form.querySelector(".message");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const file = form.querySelector("input[type=file]").files[0];
    if (!file) return;
    const response = await fetch("/api/documents?filename=" + encodeURIComponent(file.name), {
      method: "POST",
      headers: { "Content-Type": "application/octet-stream" },
      body: file,
    });
    if (response.status === 202) {
      const body = await response.json();
      showMessage(message, body.count + " document(s) queued. Refreshing…", true);
      setTimeout(() => window.location.reload(), 1500);
    } else {
      showMessage(message, await errorText(response), false);
    }
  });
}

document.addEventListener("DOMContentLoaded", () => {
  const approval = document.getElementById("approval-form");
  if (approval) wireApprovalForm(approval);
  const upload = document.getElementById("upload-form");
  if (upload) wireUploadForm(upload);
});
