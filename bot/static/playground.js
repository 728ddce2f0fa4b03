// complybot playground: sends what you type to POST /api/playground and renders the neutral Reply
// the way Slack shows Block Kit (mrkdwn, sections, progress bars, buttons). Everything is built
// with DOM nodes and textContent, never innerHTML, so nothing a reply contains can run as code.
"use strict";

const messages = document.getElementById("messages");
const form = document.getElementById("composer");
const input = document.getElementById("text");
const asInput = document.getElementById("as");
// One conversation per page load: a follow-up ("and for ISO?") continues this page's last answer.
const conversation = (self.crypto && crypto.randomUUID) ? crypto.randomUUID()
  : Date.now().toString(36) + Math.random().toString(36).slice(2);

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

// What is drawn of a reply's text: Slack's mrkdwn styles (*bold*, _italic_, ~strike~, `code`, ```pre```)
// and bare http(s) links, which show where they go. Nothing else is markup: a reply repeats what people
// typed, and a typed `<https://…|label>` or `<@id>` shows as typed, as the Slack renderer escapes it.
const INLINE = /(https?:\/\/[^\s<>"|`*]+)|`([^`\n]+)`|(?<![\w*])\*(?!\s)([^*\n]+?)(?<!\s)\*(?![\w*])|(?<![\w_])_(?!\s)([^_\n]+?)(?<!\s)_(?![\w_])|(?<![\w~])~(?!\s)([^~\n]+?)(?<!\s)~(?![\w~])/g;
const TRAILING_PUNCTUATION = /[.,;:!?)\]']+$/;  // "see https://x.example/a." links https://x.example/a

function appendInline(parent, text) {
  let last = 0;
  for (const match of text.matchAll(INLINE)) {
    if (match.index > last) parent.append(text.slice(last, match.index));
    const [whole, url, code, bold, italic, strike] = match;
    let used = whole.length;
    if (url !== undefined) {
      const href = url.replace(TRAILING_PUNCTUATION, "");
      used = href.length;
      parent.append(link(href));
    }
    else if (code !== undefined) parent.append(el("code", "", code));
    else if (bold !== undefined) { const b = el("strong"); appendInline(b, bold); parent.append(b); }
    else if (italic !== undefined) { const i = el("em"); appendInline(i, italic); parent.append(i); }
    else if (strike !== undefined) { const s = el("s"); appendInline(s, strike); parent.append(s); }
    last = match.index + used;
  }
  if (last < text.length) parent.append(text.slice(last));
}

function link(url) {
  const a = el("a", "", url);  // its own address as its label: a link never hides where it goes
  a.href = url;
  a.target = "_blank";
  a.rel = "noopener noreferrer";
  return a;
}

function mrkdwn(text, className) {
  const box = el("div", className || "text");
  text.split("```").forEach((part, index) => {
    if (index % 2 === 1) box.append(el("pre", "", part.replace(/^\n|\n$/g, "")));
    else appendInline(box, part);
  });
  return box;
}

function progress(fraction) {
  const value = Math.min(Math.max(fraction, 0), 1);
  const row = el("div", "progress");
  const track = el("div", "progress-track");
  const fill = el("div", "progress-fill");
  fill.style.width = (value * 100).toFixed(1) + "%";
  track.append(fill);
  row.setAttribute("role", "progressbar");
  row.setAttribute("aria-valuenow", Math.round(value * 100));
  row.append(track, el("span", "progress-label", Math.round(value * 100) + "%"));
  return row;
}

function actions(list, message) {
  const row = el("div", "actions");
  for (const action of list) {
    const button = el("button", action.style === "default" ? "" : action.style, action.label);
    button.type = "button";
    button.dataset.value = action.value;
    button.addEventListener("click", () => press(action, message, row));
    row.append(button);
  }
  return row;
}

function replyContent(reply, message) {
  const content = el("div", "reply");
  if (reply.ephemeral) content.append(el("div", "ephemeral-note", "Only visible to you"));
  // Like the Slack adapter: `text` holds the whole answer for text-only platforms and the sections
  // repeat it, so with sections only the text's first line leads.
  const lead = reply.sections.length ? reply.text.trim().split("\n")[0] : reply.text;
  if (lead) content.append(mrkdwn(lead));
  reply.sections.forEach((section) => {
    const block = el("div", "section");
    if (section.title) block.append(mrkdwn(section.title, "section-title"));
    if (section.lines.length) block.append(mrkdwn(section.lines.join("\n"), "section-lines"));
    if (section.progress !== null && section.progress !== undefined) block.append(progress(section.progress));
    if (section.actions.length) block.append(actions(section.actions, message));
    content.append(block);
  });
  if (reply.actions.length) content.append(actions(reply.actions, message));
  return content;
}

function renderReply(body, reply, message) {
  body.querySelectorAll(".reply").forEach((node) => node.remove());
  body.append(replyContent(reply, message));
}

function addMessage(who, name) {
  const message = el("div", "msg " + who);
  const avatar = el("div", "avatar", who === "bot" ? "C" : (name || "Y").charAt(0).toUpperCase());
  const body = el("div", "body");
  const header = el("div", "header");
  header.append(el("span", "name", name));
  if (who === "bot") header.append(el("span", "app-tag", "APP"));
  header.append(el("span", "time", new Date().toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })));
  body.append(header);
  message.append(avatar, body);
  messages.append(message);
  return message;
}

async function send(text) {
  const response = await fetch("/api/playground", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ text: text, as: asInput.value.trim(), conversation: conversation }),
  });
  if (!response.ok) {
    return { text: "Sorry, that did not work (HTTP " + response.status + "). The server log has the details.",
             sections: [], actions: [], ephemeral: true, kind: "error" };
  }
  return response.json();
}

function showReply(message, reply) {
  message.dataset.kind = reply.kind || "";
  message.classList.toggle("error", reply.kind === "error");
  renderReply(message.querySelector(".body"), reply, message);
  messages.scrollTop = messages.scrollHeight;
}

async function ask(text) {
  const user = addMessage("user", asInput.value.trim() || "you");
  user.querySelector(".body").append(mrkdwn(text));
  const bot = addMessage("bot", "complybot");
  bot.classList.add("pending");
  showReply(bot, await send(text));
  bot.classList.remove("pending");
}

// A button sends its value as a command from the presser. Like Slack (bot/slack/listeners/actions.py
// `splice`), only the pressed row of buttons gives way to the outcome: the message's other tasks and
// their buttons stay. A refused press changes nothing; the refusal is shown to the presser alone.
async function press(action, message, row) {
  const buttons = [...message.querySelectorAll("button")];
  buttons.forEach((button) => { button.disabled = true; });
  message.classList.add("pending");
  const reply = await send(action.value);
  message.classList.remove("pending");
  buttons.forEach((button) => { button.disabled = false; });
  if (reply.ephemeral) {
    const note = addMessage("bot", "complybot");
    showReply(note, reply);
    return;
  }
  const outcome = replyContent(reply, message);
  outcome.classList.replace("reply", "outcome");
  outcome.prepend(el("div", "pressed", "↳ you pressed “" + action.label + "”"));
  row.replaceWith(outcome);
  if (!message.querySelector(".edited")) message.querySelector(".header").append(el("span", "edited", "(edited)"));
  messages.scrollTop = messages.scrollHeight;
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  const text = input.value.trim();
  if (!text) return;
  input.value = "";
  ask(text);
});

input.addEventListener("keydown", (event) => {
  if (event.key === "Enter" && !event.shiftKey) {
    event.preventDefault();
    form.requestSubmit();
  }
});

document.querySelectorAll(".suggest").forEach((button) => {
  button.addEventListener("click", () => ask(button.textContent));
});

input.focus();
