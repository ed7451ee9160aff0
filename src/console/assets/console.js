// The console's progressive layer. Every page works without it (plain forms and links);
// with it, the live view updates over Server-Sent Events and the CSV picker takes a drop.
"use strict";

// Live view: the server pushes rendered, already-escaped fragments when something changes.
function startLive(root) {
  const source = new EventSource(root.dataset.liveSrc);
  const status = document.getElementById("live-status");
  const say = (text) => { if (status) status.textContent = text; };
  for (const name of ["calls", "tree"]) {
    source.addEventListener(name, (event) => {
      const target = document.getElementById("live-" + name);
      if (target) target.innerHTML = event.data;
    });
  }
  source.onopen = () => say("Live: connected");
  source.onerror = () => say("Live: reconnecting…");
}

// A drop on the zone fills its file input, as if the file had been picked.
function enableDrop(zone) {
  const input = zone.querySelector("input[type=file]");
  const label = zone.querySelector(".chosen");
  if (!input) return;
  const show = () => { if (label) label.textContent = input.files.length ? input.files[0].name : ""; };
  input.addEventListener("change", show);
  zone.addEventListener("dragover", (e) => { e.preventDefault(); zone.classList.add("over"); });
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", (e) => {
    e.preventDefault();
    zone.classList.remove("over");
    if (e.dataTransfer && e.dataTransfer.files.length) {
      input.files = e.dataTransfer.files;
      show();
    }
  });
}

document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("[data-live-src]").forEach(startLive);
  document.querySelectorAll(".dropzone").forEach(enableDrop);
});
